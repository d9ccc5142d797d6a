"""``qvl-agent eval``: validate the flags, run with a live view, print and write the summary."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from qvl_agent.envs.errors import ConfigError, StorageError
from qvl_agent.envs.validation import validated
from qvl_agent.eval.config import EvalConfig
from qvl_agent.eval.progress import EvalView, summary_table
from qvl_agent.eval.replaying import replay_screen
from qvl_agent.eval.report import write_eval_report
from qvl_agent.eval.runner import check_recorded, plan, plan_notes, read_recorded, run_eval
from qvl_agent.eval.summary import write_summary_json, write_summary_md
from qvl_agent.tasks.registry import get_suite

__all__ = ["run_eval_command", "resumed_values"]

# eval's flags whose option has another name in EvalConfig.
_FIELD_OF_FLAG = {"time_limit": "time_limit_s"}
_ENV_FLAGS = ("device", "browser_path", "display", "unsafe_host")


def resumed_values(values: dict[str, Any], env_flags: dict[str, Any],
                   given: set[str]) -> dict[str, Any]:
    """The options of the run in ``values["out"]`` as its ``eval.json`` recorded them, with
    the flags the user typed again (``given``: their parameter names) laid over them; the
    result is checked against the record before anything starts (``run_eval_command``)."""
    out = Path(values["out"])
    record = out / "eval.json"
    if not record.is_file():
        if values.get("suite") is None:
            raise ConfigError(f"--resume: {out} holds no eval run to finish (no eval.json); "
                              "start one with --suite NAME --out DIR")
        return {**values, "env_flags": env_flags}
    recorded = read_recorded(record)
    merged = recorded.model_dump(mode="python")
    merged.update(resume=True, out=out)
    model = values["policy"]["model"]
    for name in given:
        if name in type(model).model_fields:
            merged["policy"]["model"][name] = getattr(model, name)
        elif name == "policy":
            merged["policy"]["kind"] = values["policy"]["kind"]
        elif name in ("replay", "replay_seed"):  # eval --replay: the policy's own fields
            merged["policy"]["kind"] = values["policy"]["kind"]
            merged["policy"][name] = values["policy"][name]
        elif name in _ENV_FLAGS:
            if name in env_flags:
                merged["env_flags"] = {**merged.get("env_flags", {}), name: env_flags[name]}
        elif name == "seeds":  # --seeds N or A:B: the count and the first seed together
            merged["seeds"], merged["first_seed"] = values["seeds"], values.get("first_seed", 0)
        elif name not in ("resume", "out"):
            field = _FIELD_OF_FLAG.get(name, name)
            merged[field] = values[field]
    return merged


def run_eval_command(values: dict[str, Any], env_flags: dict[str, Any]) -> int:
    """Run the evaluation the CLI asked for; returns the exit code.

    Args:
        values: ``EvalConfig``'s fields, but ``env``.
        env_flags: the screen flags the user gave (``device``, ``display``, ...), applied to
            the suite's own screen.
    """
    values = dict(values)
    env_flags = {**env_flags, **values.pop("env_flags", {})}
    if values.get("out") is None:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        name = Path(values["suite"]).name or "suite"
        values["out"] = Path("runs") / f"eval-{name}-{stamp}"
    suite = get_suite(values["suite"])
    replay = values["policy"].get("replay")
    recorded_env = values.pop("env", None)  # a resumed run's screen, as eval.json has it
    if recorded_env is not None:
        env = suite.spec(recorded_env)
        if env_flags:
            env = suite.spec({**env.model_dump(), **env_flags})
    else:
        # A replay runs on the recorded screen (the user's flags over it), else the suite's.
        env = suite.spec(replay_screen(replay, values["suite"], env_flags) if replay
                         else env_flags)
    config = validated(EvalConfig, {**values, "env": env},
                       names={"time_limit_s": "--time-limit", "policy": "--policy"})
    if replay and config.out.resolve() == Path(replay).resolve():
        raise ConfigError("--out is the eval being replayed; give the replay its own --out")
    if config.resume:
        check_recorded(config)  # before the header: a mismatch is the only line printed
    planned = len(plan(config, suite))
    if suite.check_options:
        suite.check_options(config.env, config.workers)
    if config.executor == "ray":
        from qvl_agent.eval.ray_executor import check_address, require_ray

        require_ray(config.ray_address)  # an optional extra: say so before anything starts
        check_address(config.ray_address)
    policy = config.policy
    if policy.kind == "qwen" or (policy.kind == "replay" and policy.model.given):
        policy.model.preflight()  # before any worker starts: a missing model is one line
    console = Console(stderr=True, highlight=False, soft_wrap=True)
    where = "" if config.executor == "local" else \
        f" on Ray ({config.ray_address or 'a local Ray for this run'})"
    console.print(f"eval: suite {suite.name} ({suite.env_kind.value}), policy {config.policy.kind}, "
                  f"{_count(planned, 'instance')}, {_count(config.workers, 'worker')}{where} -> "
                  f"{config.out}")
    for note in plan_notes(config, suite):
        console.print(f"eval: {note}")
    interrupted = False
    stopped: StorageError | None = None
    try:
        with EvalView(console) as view:
            results = run_eval(config, progress=view)
    except (KeyboardInterrupt, StorageError) as exc:
        interrupted = isinstance(exc, KeyboardInterrupt)
        stopped = exc if isinstance(exc, StorageError) else None
        from qvl_agent.eval.results import ResultsFile

        file = ResultsFile(config.out / "results.jsonl")
        results = list(file.rows.values())
        file.close()
    title = f"qvl-agent eval: {suite.name}"
    try:
        summary: Path | None = write_summary_md(config.out / "summary.md", title, results,
                                                planned, config.policy.kind)
        write_summary_json(config.out / "summary.json", title, results, planned,
                           config.policy.kind)
        report: Path | None = write_eval_report(config.out, planned=planned)
    except StorageError as exc:
        if stopped is None:
            raise
        summary = report = None
        stopped = StorageError(f"{stopped}; the summaries did not fit either ({exc})")
    Console(highlight=False, soft_wrap=True).print(summary_table(results))
    print(f"results: {config.out / 'results.jsonl'}")
    if summary is not None:
        print(f"summary: {summary}")
    if report is not None:
        print(f"report: {report} (each instance links to its own report.html)")
    again = f"qvl-agent eval --resume --out {config.out}"  # eval.json holds the options
    if stopped is not None:
        raise StorageError(f"{stopped}. The evaluation stopped with {len(results)} of {planned} "
                           f"instances in results.jsonl, each line whole; when there is room, "
                           f"finish with: {again}")
    if interrupted or len(results) < planned:
        print(f"interrupted with {len(results)} of {planned} instances done; finish with: {again}")
        return 130
    if results and all(r.outcome == "error" for r in results):
        first = next((r for r in results if r.message), None)
        print(f"every instance ended in error, none was run to the end (the first: "
              f"{first.instance}: {first.message}); fix that, then run them again with: {again}"
              if first else "every instance ended in error", file=sys.stderr)
        return 1
    return 0


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
