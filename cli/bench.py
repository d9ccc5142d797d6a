"""``qvl-agent bench screenspot|androidcontrol``: offline benchmarks on published data."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from qvl_agent.cli.app import app, writable_folder
from qvl_agent.cli.model_flags import BACKEND_FLAGS, FROM_FLAGS, model_flags

if TYPE_CHECKING:
    from qvl_agent.model.options import ModelOptions

bench_app = typer.Typer(help="Offline benchmarks: ScreenSpot (v1, v2, Pro) and AndroidControl.",
                        no_args_is_help=True)
app.add_typer(bench_app, name="bench")


class PromptChoice(str, Enum):
    computer_use = "computer_use"
    grounding = "grounding"


class LevelChoice(str, Enum):
    high = "high"
    low = "low"


DataOpt = Annotated[Path, typer.Option("--data", help="The benchmark's folder, as published.")]
OutOpt = Annotated[Optional[Path], typer.Option("--out", help="Output folder (default: runs/bench-<name>-<time>).")]
LimitOpt = Annotated[Optional[int], typer.Option("--limit", help="Only the first N samples.")]
ConcurrencyOpt = Annotated[int, typer.Option("--concurrency", help="Requests at once (--endpoint only; a local model takes one).")]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Finish the run in --out: only samples without a result.")]
TokensOpt = Annotated[int, typer.Option("--max-new-tokens", help="Longest answer, in tokens (greedy decoding).")]


def _out(out: Path | None, name: str, resume: bool) -> Path:
    if out is None:
        if resume:
            raise typer.BadParameter("--resume needs the --out of the run to finish")
        writable_folder(Path("runs"))
        return Path("runs") / f"bench-{name}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    return writable_folder(out)


def _recorded(options: ModelOptions) -> dict:
    """The model options a --resume must repeat (where it runs may change)."""
    return options.model_dump(include={"model", "endpoint", "served_model", "min_pixels",
                                       "max_pixels"})


@bench_app.command()
@model_flags(*BACKEND_FLAGS)
def screenspot(
    data: DataOpt,
    split: Annotated[Optional[list[str]], typer.Option("--split", help="Only this split (mobile/desktop/web, or a Pro annotation file name); repeatable.")] = None,
    prompt: Annotated[PromptChoice, typer.Option("--prompt", help="computer_use (the published Qwen2.5-VL evaluation) or grounding (bbox_2d/point_2d question).")] = PromptChoice.computer_use,
    limit: LimitOpt = None,
    concurrency: ConcurrencyOpt = 1,
    out: OutOpt = None,
    resume: ResumeOpt = False,
    max_new_tokens: TokensOpt = 128,
    model_options: ModelOptions = FROM_FLAGS,
) -> None:
    """Grounding accuracy on ScreenSpot / ScreenSpot-v2 / ScreenSpot-Pro (layout detected)."""
    from qvl_agent.eval.bench.command import run_screenspot

    out = _out(out, "screenspot", resume)
    summary = run_screenspot(
        data=data, out=out, prompt=prompt.value, splits=split or [], limit=limit,
        concurrency=concurrency, resume=resume, max_new_tokens=max_new_tokens,
        model_options=_recorded(model_options), backend_factory=model_options.backend)
    typer.echo(f"screenspot ({summary['layout']}): accuracy {100 * summary['accuracy']:.1f}% "
               f"({summary['hits']}/{summary['n']}; 95% CI {100 * summary['ci95'][0]:.1f}-"
               f"{100 * summary['ci95'][1]:.1f}%), unparseable {summary['unparseable']}")
    typer.echo(f"results: {out / 'results.jsonl'}")
    typer.echo(f"summary: {out / 'summary.md'}")


@bench_app.command()
@model_flags(*BACKEND_FLAGS)
def androidcontrol(
    data: DataOpt,
    level: Annotated[LevelChoice, typer.Option("--level", help="high: the episode's goal; low: each step's instruction.")] = LevelChoice.high,
    split: Annotated[Optional[str], typer.Option("--split", help="Only the episodes of this split in DATA/splits.json (e.g. test).")] = None,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Only the first N episodes.")] = None,
    concurrency: ConcurrencyOpt = 1,
    out: OutOpt = None,
    resume: ResumeOpt = False,
    max_new_tokens: TokensOpt = 256,
    model_options: ModelOptions = FROM_FLAGS,
) -> None:
    """Step accuracy on AndroidControl (Google's TFRecord shards, or the JSONL layout)."""
    from qvl_agent.eval.bench.command import run_androidcontrol

    out = _out(out, "androidcontrol", resume)
    s = run_androidcontrol(
        data=data, out=out, level=level.value, split=split, limit=limit, concurrency=concurrency,
        resume=resume, max_new_tokens=max_new_tokens,
        model_options=_recorded(model_options), backend_factory=model_options.backend)

    def pct(metric: dict) -> str:
        return f"{100 * metric['accuracy']:.1f}% ({metric['hits']}/{metric['n']})"

    typer.echo(f"androidcontrol ({level.value}): {s['n']} steps of {s['episodes']} episodes; "
               f"type accuracy {pct(s['type_accuracy'])}, step success {pct(s['step_success_box'])} "
               f"(box) / {pct(s['step_success_distance'])} (14% rule), unparseable {s['unparseable']}")
    if skipped := s.get("skipped"):
        steps, episodes = skipped["steps"], skipped["episodes"]
        typer.echo(f"warning: skipped {steps} step{'s' if steps != 1 else ''} and {episodes} "
                   f"episode{'s' if episodes != 1 else ''} whose records could not be scored (listed in summary.md); the "
                   f"first: {skipped['first'][0]}", err=True)
    typer.echo(f"results: {out / 'results.jsonl'}")
    typer.echo(f"summary: {out / 'summary.md'}")
