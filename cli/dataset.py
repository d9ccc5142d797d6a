"""``qvl-agent dataset grounding|androidcontrol``: benchmark sets built from our own screens."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from qvl_agent.cli.app import app, writable_folder

dataset_app = typer.Typer(help="Build ScreenSpot- and AndroidControl-layout sets from our own screens.",
                          no_args_is_help=True)
app.add_typer(dataset_app, name="dataset")


class SourceChoice(str, Enum):
    android_sim = "android-sim"
    miniwob = "miniwob"


class DatasetPolicy(str, Enum):
    oracle = "oracle"


@dataset_app.command()
def grounding(
    source: Annotated[SourceChoice, typer.Option("--from", help="android-sim (the virtual phone's apps) or miniwob (MiniWoB++ pages).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the ScreenSpot-v2-layout set.")],
    n: Annotated[Optional[int], typer.Option("--n", help="At most N records, sampled with --seed.")] = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the sample and of the MiniWoB pages.")] = 0,
    device: Annotated[str, typer.Option("--device", help="android-sim: adb serial, or 'sim' for the built-in virtual phone.")] = "sim",
    browser_path: Annotated[Optional[str], typer.Option("--browser-path", help="miniwob: Chromium/Chrome binary (default: found).")] = None,
) -> None:
    """Screenshots with one record per labelled element, in ScreenSpot-v2's layout."""
    from qvl_agent.eval.datasets.grounding import build_grounding

    writable_folder(out)
    made = build_grounding(source.value, out, n=n, seed=seed, device=device, browser_path=browser_path,
                           say=_say)
    typer.echo(f"wrote {made['records']} records on {made['images']} screenshots to {made['file']}")
    typer.echo(f"run it: qvl-agent bench screenspot --data {out} --endpoint URL")


def _say(line: str) -> None:
    """What a dataset build is doing, as it goes (a minute or more of screens otherwise silent)."""
    typer.echo(f"dataset: {line}", err=True)


@dataset_app.command()
def androidcontrol(
    out: Annotated[Path, typer.Option("--out", help="Folder for episodes.jsonl and its screenshots.")],
    suite: Annotated[str, typer.Option("--suite", help="An android suite (see `qvl-agent suites`).")] = "android",
    policy: Annotated[DatasetPolicy, typer.Option("--policy", help="Who acts: the tasks' own oracle solvers.")] = DatasetPolicy.oracle,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds 0..N-1 of every task.")] = 1,
    tasks: Annotated[Optional[str], typer.Option("--tasks", help="Regular expression over task ids.")] = None,
    device: Annotated[str, typer.Option("--device", help="adb serial, or 'sim' for the built-in virtual phone.")] = "sim",
) -> None:
    """AndroidControl-layout episodes (JSONL + PNG) from solved oracle runs of a suite."""
    from qvl_agent.eval.datasets.androidcontrol import build_androidcontrol

    writable_folder(out)
    made = build_androidcontrol(out, suite=suite, seeds=seeds, tasks=tasks, device=device, say=_say)
    typer.echo(f"wrote {made['episodes']} episodes to {made['file']}"
               + (f"; not solved, left out: {', '.join(made['failed'])}" if made["failed"] else ""))
    typer.echo(f"run it: qvl-agent bench androidcontrol --data {out} --endpoint URL")
