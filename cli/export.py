"""``qvl-agent export sft RUN_DIR... --out DIR``: recorded episodes as fine-tuning data."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from qvl_agent.cli.app import app, writable_folder
from qvl_agent.cli.model_flags import MaxPixelsOpt, MinPixelsOpt

export_app = typer.Typer(help="Turn runs into training data.", no_args_is_help=True)
app.add_typer(export_app, name="export")


class FormatChoice(str, Enum):
    messages = "messages"
    sharegpt = "sharegpt"


class PromptChoice(str, Enum):
    cookbook = "cookbook"
    osworld = "osworld"


@export_app.command()
def sft(
    runs: Annotated[list[Path], typer.Argument(help="Run directories, eval runs (with results.jsonl) or folders of them.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the dataset (must not hold one).")],
    fmt: Annotated[FormatChoice, typer.Option("--format", help="messages (TRL, ms-swift) or sharegpt (LLaMA-Factory).")] = FormatChoice.messages,
    only_success: Annotated[bool, typer.Option("--only-success/--all", help="Keep only solved episodes (an eval's checker, else the agent's own end).")] = True,
    validation: Annotated[float, typer.Option("--validation", help="Share of tasks (not steps) held out for validation (default: none, every task trains; held-out seeds are then measured by eval --seeds A:B).")] = 0.0,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the task split.")] = 0,
    min_pixels: MinPixelsOpt = 3136,
    max_pixels: MaxPixelsOpt = 12845056,
    history_images: Annotated[int, typer.Option("--history-images", help="As the agent's --history-images: earlier screenshots as real turns.")] = 0,
    prompt: Annotated[PromptChoice, typer.Option("--prompt", help="As the agent's --prompt: the cookbook's or OSWorld's messages.")] = PromptChoice.cookbook,
) -> None:
    """One sample per executed answer, in the chat form the agent sends, with the answer to learn."""
    from qvl_agent.eval.sft import PromptOptions, export_sft
    from qvl_agent.model.frame import check_pixel_limits

    check_pixel_limits(min_pixels, max_pixels)
    writable_folder(out)
    summary = export_sft(runs, out, fmt=fmt.value, only_success=only_success, validation=validation,
                         seed=seed, options=PromptOptions(min_pixels=min_pixels, max_pixels=max_pixels,
                                                          history_images=history_images,
                                                          prompt=prompt.value))
    kept = summary.episodes - summary.episodes_unsuccessful
    typer.echo(f"episodes: {summary.episodes} read, {kept} kept, {summary.episodes_unsuccessful} "
               "left out as not solved")
    typer.echo(f"answers: {summary.answers} read; dropped {summary.failed} that failed, "
               f"{summary.inexact} no tool call reproduces, {summary.duplicates} duplicates")
    for side in ("train", "validation"):
        typer.echo(f"{side}: {summary.samples[side]} samples from {len(summary.tasks[side])} task(s)")
    typer.echo(f"wrote {out} ({summary.images} images; summary.json"
               + (", README.md: datasets.load_dataset(DIR))" if fmt is FormatChoice.messages
                  else ", dataset_info.json for LLaMA-Factory)"))
