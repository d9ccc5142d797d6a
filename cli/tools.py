"""Small commands: ``suites``, ``report RUN_DIR`` and ``tiny-model DIR``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from qvl_agent.cli.app import app


@app.command()
def suites() -> None:
    """List the built-in suites with their task counts."""
    from qvl_agent.tasks.registry import list_suites

    rows = [(s.name, s.env_kind.value, str(len(s.tasks)), str(len(s.with_oracle)), s.description)
            for s in list_suites()]
    widths = [max(len(r[i]) for r in rows + [("suite", "env", "tasks", "oracle", "")]) for i in range(4)]
    typer.echo(f"{'suite':<{widths[0]}}  {'env':<{widths[1]}}  {'tasks':>{widths[2]}}  "
               f"{'oracle':>{widths[3]}}  description")
    for name, env, count, oracles, description in rows:
        typer.echo(f"{name:<{widths[0]}}  {env:<{widths[1]}}  {count:>{widths[2]}}  "
                   f"{oracles:>{widths[3]}}  {description}")


@app.command()
def report(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (meta.json) or an eval's --out (eval.json).")],
    self_contained: Annotated[bool, typer.Option("--self-contained", help="A run: embed the screenshots, for one file to share (default: the page shows the PNGs beside it).")] = False,
) -> None:
    """Rebuild RUN_DIR/report.html from the run's files (a run, or a whole eval)."""
    from qvl_agent.agent.report import write_report
    from qvl_agent.eval.report import is_eval_dir, write_eval_report

    if is_eval_dir(run_dir):
        if self_contained:
            raise typer.BadParameter("--self-contained applies to a run's report; an eval's "
                                     "links to each instance's folder")
        typer.echo(f"report: {write_eval_report(run_dir)}")
        return
    typer.echo(f"report: {write_report(run_dir, self_contained=self_contained)}")


@app.command("tiny-model")
def tiny_model(
    folder: Annotated[Path, typer.Argument(help="Where to write the checkpoint.")],
    seed: Annotated[int, typer.Option(help="Seed of the random weights.")] = 0,
) -> None:
    """Write a tiny Qwen2.5-VL (random weights) that the loop of the README can train on the CPU."""
    from qvl_agent.model.tiny import write_tiny_checkpoint

    path = write_tiny_checkpoint(folder, seed=seed)
    # Its answers are noise until trained, so grounding or running it shows nothing; the
    # closed loop is what it is for (README: training data and fine-tuning).
    typer.echo(f"wrote a tiny Qwen2.5-VL to {path}: random weights, so its answers are noise until "
               "it is trained. Train it on the toolkit's own runs (a few minutes on a CPU):")
    for line in tiny_loop(str(path)):
        typer.echo(f"  {line}")


def tiny_loop(model: str, runs: str = "runs/oracle-click", data: str = "data/click") -> list[str]:
    """The four commands that train a tiny checkpoint and evaluate it on unseen seeds."""
    tasks = "'click-test$|click-dialog$|focus-text$'"
    return [f"qvl-agent eval --suite miniwob --tasks {tasks} --policy oracle --seeds 100 --out {runs}",
            f"qvl-agent export sft {runs} --out {data}",
            f"qvl-agent train {data} --model {model} --out {model}-trained",
            f"qvl-agent eval --suite miniwob --tasks {tasks} --model {model}-trained --seeds 100:120"]
