"""``qvl-agent run GOAL``: one goal on one screen, with a run directory and report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from qvl_agent.cli.app import app, writable_folder
from qvl_agent.cli.human import ConfirmOpt, ConfirmPatternOpt, SecretOpt, SecretsFileOpt
from qvl_agent.cli.model_flags import AGENT_FLAGS, FROM_FLAGS, model_flags
from qvl_agent.cli.screen_flags import FROM_SCREEN_FLAGS, screen_flags

if TYPE_CHECKING:
    from qvl_agent.envs.spec import EnvSpec
    from qvl_agent.model.options import ModelOptions


OUTCOME = {
    "success": "the agent finished the task (terminate: success)",
    "failure": "the agent gave up (terminate: failure)",
    "answered": "the agent answered",
    "env_done": "the environment ended the episode",
    "budget": "a budget ran out before the agent finished",
    "max_steps": "the step budget ran out before the agent finished",
    "model_errors": "the model's answers could not be used",
    "stuck": "the agent repeated the same action on an unchanged screen",
    "stopped": "a hook stopped the run",
    "error": "the run failed",
    "interrupted": "the run was interrupted",
    "diverged": "the replay stopped where the screen no longer fits the recording",
}


@app.command()
@model_flags(*AGENT_FLAGS)
@screen_flags
def run(
    goal: Annotated[str, typer.Argument(help="What to do, in plain words.")],
    spec: EnvSpec = FROM_SCREEN_FLAGS,
    model_options: ModelOptions = FROM_FLAGS,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Action budget: executed actions, each tool call of an answer counted.")] = 15,
    max_tokens: Annotated[Optional[int], typer.Option("--max-tokens", help="Token budget of the run (prompt + completion; default: none).")] = None,
    max_seconds: Annotated[Optional[float], typer.Option("--max-seconds", help="Wall-clock budget of the run in seconds (default: none).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory (default: runs/<time>-<goal>).")] = None,
    secret: SecretOpt = None,
    secrets_file: SecretsFileOpt = None,
    confirm: ConfirmOpt = None,
    confirm_pattern: ConfirmPatternOpt = None,
) -> None:
    """Let Qwen2.5-VL work on GOAL; writes a run directory with report.html.

    In a terminal, Ctrl-C once pauses the run after its current action (resume, stop, or
    advise the model); Ctrl-C twice stops it.
    """
    from contextlib import nullcontext

    from qvl_agent.agent.runner import RunOptions, default_run_dir, run_goal
    from qvl_agent.cli.human import gather_secrets, terminal_human
    from qvl_agent.envs.validation import validated

    writable_folder(out or Path("runs"))
    options = validated(RunOptions, dict(goal=goal, env=spec, model=model_options,
                                         max_steps=max_steps, max_tokens=max_tokens,
                                         max_seconds=max_seconds, out=out),
                        names={"goal": "GOAL"})
    secrets = gather_secrets(secret, secrets_file)
    # The default folder is named after the goal: never after a secret pasted into it.
    options.out = options.out or default_run_dir(secrets.redact(goal) if secrets else goal)
    human = terminal_human(options.out, confirm, confirm_pattern)
    with human or nullcontext():
        result = run_goal(options, secrets=secrets, oversight=human.oversight if human else None)
    line = f"{result.outcome}: {OUTCOME[result.outcome]} after {len(result.steps)} step{'s' if len(result.steps) != 1 else ''}"
    if result.answer is not None:
        line += f"; answer: {result.answer}"
    if result.message and result.outcome not in ("success", "answered"):
        line += f" ({result.message})"
    typer.echo(line)
    usage = result.usage
    typer.echo(f"usage: {usage.model_calls} model call(s), {usage.prompt_tokens} prompt tokens "
               f"({usage.image_tokens} image), {usage.completion_tokens} completion tokens, "
               f"{usage.wall_s:.1f} s")
    typer.echo(f"report: {result.report}")
    if result.outcome == "interrupted":
        raise typer.Exit(130)
    raise typer.Exit(0 if result.succeeded else 1)
