"""``qvl-agent eval``: a suite x seeds over worker processes, with results and a summary."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from qvl_agent.cli.app import app, writable_folder
from qvl_agent.cli.model_flags import AGENT_FLAGS, FROM_FLAGS, model_flags

if TYPE_CHECKING:
    from qvl_agent.model.options import ModelOptions


class ExecutorChoice(str, Enum):
    local = "local"
    ray = "ray"


class PolicyChoice(str, Enum):
    qwen = "qwen"
    oracle = "oracle"
    random = "random"


@app.command("eval")
@model_flags(*AGENT_FLAGS)
def eval_(
    context: typer.Context,
    suite: Annotated[Optional[str], typer.Option("--suite", help="A suite name (see `qvl-agent suites`) or a folder of task JSON files (not needed with --resume).")] = None,
    tasks: Annotated[Optional[str], typer.Option("--tasks", help="Regular expression over task ids.")] = None,
    seeds: Annotated[str, typer.Option("--seeds", help="N: seeds 0..N-1 of every task; A:B: seeds A..B-1 (e.g. held-out seeds 100:120).")] = "1",
    policy: Annotated[PolicyChoice, typer.Option("--policy", help="qwen (the model), oracle (the tasks' own solvers) or random (a baseline).")] = PolicyChoice.qwen,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes, each with its own env.")] = 1,
    executor: Annotated[ExecutorChoice, typer.Option("--executor", help="local (worker processes here) or ray (actors on a Ray cluster; needs the optional extra 'ray').")] = ExecutorChoice.local,
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="With --executor ray: the cluster to join (auto, HOST:PORT, ray://HOST:10001); default: start a local Ray.")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory (default: runs/eval-<suite>-<time>).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Finish the run in --out with its recorded options (eval.json): run what has no result yet, and again what ended in error.")] = False,
    resume_keep_errors: Annotated[bool, typer.Option("--resume-keep-errors", help="With --resume: keep the instances that ended in error instead of running them again.")] = False,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds per instance before its worker is killed.")] = 600.0,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", help="Override each task's step budget.")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="Android suites: adb serial, or 'sim[:android-9|android-11|android-14|samsung-11]' for the built-in virtual phone.")] = None,
    browser_path: Annotated[Optional[str], typer.Option("--browser-path", help="Browser suites: Chromium/Chrome binary (default: found).")] = None,
    display: Annotated[Optional[str], typer.Option("--display", help="Desktop suites: 'virtual[:WxH]' (each worker its own sandbox and Xvfb) or ':N' (needs --unsafe-host).")] = None,
    unsafe_host: Annotated[bool, typer.Option("--unsafe-host", help="Desktop suites: allow --display :N, where tasks' commands and the agent act on this machine's own desktop and files.")] = False,
    replay: Annotated[Optional[Path], typer.Option("--replay", help="Replay the instances of this earlier eval (its --out) from their recorded trajectories, on its screen, without the model; with --model/--endpoint the model takes over where a step no longer fits.")] = None,
    replay_seed: Annotated[Optional[int], typer.Option("--replay-seed", help="With --replay: every seed replays this seed's recording (does a recording carry over to other instances?).")] = None,
    model_options: ModelOptions = FROM_FLAGS,
) -> None:
    """Run a suite x seeds; results.jsonl as it goes, then summary.md with a Wilson interval."""
    from qvl_agent.eval.command import resumed_values, run_eval_command
    from qvl_agent.eval.config import parse_seeds

    first_seed, count = parse_seeds(seeds)
    if resume and out is None:
        raise typer.BadParameter("--resume needs the --out of the run to finish")
    if resume_keep_errors and not resume:
        raise typer.BadParameter("--resume-keep-errors goes with --resume")
    if suite is None and not resume:
        context.fail("Missing option '--suite'.")
    if ray_address and executor is not ExecutorChoice.ray:
        raise typer.BadParameter("--ray-address needs --executor ray")
    if replay is not None and policy is not PolicyChoice.qwen:
        raise typer.BadParameter("--replay replays recorded runs; leave out --policy")
    if replay_seed is not None and replay is None:
        raise typer.BadParameter("--replay-seed needs --replay")
    writable_folder(out or Path("runs"))
    # Only the screen flags given; the suite's own screen decides the rest (envs.spec).
    env_flags = {k: v for k, v in {"device": device, "browser_path": browser_path,
                                   "display": display, "unsafe_host": unsafe_host}.items() if v}
    values = dict(
        suite=suite, tasks=tasks, seeds=count, first_seed=first_seed, workers=workers, resume=resume,
        resume_keep_errors=resume_keep_errors,
        executor=executor.value, ray_address=ray_address, time_limit_s=time_limit,
        max_steps=max_steps, out=out,
        policy=dict(kind="replay" if replay else policy.value, model=model_options, replay=replay,
                    replay_seed=replay_seed))
    if resume:
        # The run's own options (eval.json), with the flags typed again laid over them: one
        # that differs from the record is refused by its flag's name before anything starts.
        given = {name for name in context.params
                 if getattr(context.get_parameter_source(name), "name", "DEFAULT") != "DEFAULT"}
        values = resumed_values(values, env_flags, given)
        env_flags = {}
    raise typer.Exit(run_eval_command(values, env_flags))
