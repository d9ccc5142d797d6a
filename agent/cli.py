"""The ``qvl-agent`` command line. Thin: options are validated here, work happens elsewhere.

Every failure a user can cause or meet prints one line (what went wrong, what to do) and
exits non-zero; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import click
import typer

from envs.errors import ConfigError, QvlError

__all__ = ["app", "main"]

app = typer.Typer(
    name="qvl-agent",
    help="Let Qwen2.5-VL operate real screens: Android phones over adb, and browsers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False) -> None:
    _state["debug"] = debug


# Options shared by every command that talks to the model.
ModelOpt = Annotated[Optional[str], typer.Option(
    "--model", help="Hub id or checkpoint folder (default: Qwen/Qwen2.5-VL-3B-Instruct).")]
EndpointOpt = Annotated[Optional[str], typer.Option(
    "--endpoint", help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (instead of --model).")]
ServedModelOpt = Annotated[Optional[str], typer.Option(
    "--served-model", help="Model name on the server (default: the server's only model).")]
MinPixelsOpt = Annotated[int, typer.Option("--min-pixels", help="Smallest frame area in pixels.")]
MaxPixelsOpt = Annotated[int, typer.Option(
    "--max-pixels", help="Largest frame area in pixels; 1003520 (1280*28*28) is OSWorld's cap.")]
DeviceOpt = Annotated[Optional[str], typer.Option(
    "--torch-device", help="cuda, cpu or mps for --model (default: the best available).")]


def _model_options(model, endpoint, served_model, min_pixels, max_pixels, torch_device):
    from model.loader import load_backend

    if model and endpoint:
        raise typer.BadParameter("give --model or --endpoint, not both")
    return load_backend(model=model, endpoint=endpoint, served_model=served_model,
                        min_pixels=min_pixels, max_pixels=max_pixels, device=torch_device)


@app.command()
def ground(
    image: Annotated[Path, typer.Argument(help="Screenshot to look at.")],
    query: Annotated[str, typer.Argument(help="What to find, e.g. 'the Submit button'.")],
    box: Annotated[bool, typer.Option("--box/--point", help="Ask for a box (default) or a point.")] = True,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the image with the answer drawn.")] = None,
    model: ModelOpt = None,
    endpoint: EndpointOpt = None,
    served_model: ServedModelOpt = None,
    min_pixels: MinPixelsOpt = 3136,
    max_pixels: MaxPixelsOpt = 12845056,
    torch_device: DeviceOpt = None,
) -> None:
    """Locate QUERY on IMAGE; print the answer as JSON in the image's pixel coordinates."""
    from model.grounding import locate

    picture = _read_image(image)
    backend = _model_options(model, endpoint, served_model, min_pixels, max_pixels, torch_device)
    result = locate(backend, picture, query, shape="box" if box else "point")
    report = {
        "query": query,
        "shape": "box" if box else "point",
        "image": list(picture.size),
        "frame": list(result.frame),
        "items": [
            {"label": item.label, "point": [round(item.point.x, 1), round(item.point.y, 1)]}
            | ({"box": [round(v, 1) for v in item.box]} if item.box else {})
            for item in result.items
        ],
        "raw": result.raw,
    }
    if out is not None:
        from agent.annotate import draw_marks

        marked = draw_marks(picture, boxes=[i.box for i in result.items if i.box],
                            points=[(i.point.x, i.point.y) for i in result.items],
                            labels=[i.label for i in result.items])
        marked.save(out)
        report["annotated"] = str(out)
    typer.echo(json.dumps(report, ensure_ascii=False))


@app.command("tiny-model")
def tiny_model(
    folder: Annotated[Path, typer.Argument(help="Where to write the checkpoint.")],
    seed: Annotated[int, typer.Option(help="Seed of the random weights.")] = 0,
) -> None:
    """Write a tiny random Qwen2.5-VL checkpoint (for trying the pipeline without weights)."""
    from model.tiny import write_tiny_checkpoint

    path = write_tiny_checkpoint(folder, seed=seed)
    typer.echo(f"wrote a tiny random Qwen2.5-VL to {path}; try: qvl-agent ground IMG 'x' --model {path}")


class EnvChoice(str, Enum):
    browser = "browser"
    android = "android"


_OUTCOME = {
    "success": "the agent finished the task (terminate: success)",
    "failure": "the agent gave up (terminate: failure)",
    "answered": "the agent answered",
    "env_done": "the environment ended the episode",
    "max_steps": "the step budget ran out before the agent finished",
    "model_errors": "the model's answers could not be used",
    "error": "the run failed",
    "interrupted": "the run was interrupted",
}


@app.command()
def run(
    goal: Annotated[str, typer.Argument(help="What to do, in plain words.")],
    env: Annotated[EnvChoice, typer.Option("--env", help="Which screen to drive.")] = EnvChoice.browser,
    url: Annotated[Optional[str], typer.Option(help="Browser: the page to start from.")] = None,
    viewport: Annotated[str, typer.Option(help="Browser: viewport in CSS pixels, WxH.")] = "1280x720",
    device_scale: Annotated[float, typer.Option("--device-scale", help="Browser: device pixels per CSS pixel (2 = HiDPI).")] = 1.0,
    headed: Annotated[bool, typer.Option("--headed", help="Browser: show the window.")] = False,
    browser_path: Annotated[Optional[str], typer.Option("--browser-path", help="Browser: Chromium/Chrome binary (default: found).")] = None,
    allow_domain: Annotated[Optional[list[str]], typer.Option("--allow-domain", help="Browser: only these hosts may be opened (repeat).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="Android: adb serial, or 'sim' for the built-in virtual phone (default: the only device connected).")] = None,
    model: ModelOpt = None,
    endpoint: EndpointOpt = None,
    served_model: ServedModelOpt = None,
    min_pixels: MinPixelsOpt = 3136,
    max_pixels: MaxPixelsOpt = 12845056,
    torch_device: DeviceOpt = None,
    history_images: Annotated[int, typer.Option("--history-images", help="Show the model its last K screenshots as real turns (OSWorld form).")] = 0,
    max_steps: Annotated[int, typer.Option("--max-steps", help="Step budget.")] = 15,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory (default: runs/<time>-<goal>).")] = None,
) -> None:
    """Let Qwen2.5-VL work on GOAL; writes a run directory with report.html."""
    from agent.runner import RunOptions, run_goal, validated
    from envs.browser import parse_viewport

    if model and endpoint:
        raise typer.BadParameter("give --model or --endpoint, not both")
    options = validated(RunOptions, dict(goal=goal, max_steps=max_steps, out=out,
                         env=dict(env=env.value, url=url, viewport=parse_viewport(viewport),
                                  device_scale_factor=device_scale, headed=headed,
                                  browser_path=browser_path, allowed_domains=allow_domain,
                                  device=device),
                         model=dict(model=model, endpoint=endpoint, served_model=served_model,
                                    min_pixels=min_pixels, max_pixels=max_pixels,
                                    torch_device=torch_device, history_images=history_images)))
    trajectory, report = run_goal(options)
    meta = trajectory.meta
    line = f"{meta.status}: {_OUTCOME[meta.status]} after {meta.steps} step(s)"
    if meta.answer is not None:
        line += f"; answer: {meta.answer}"
    if meta.message and meta.status not in ("success", "answered"):
        line += f" ({meta.message})"
    typer.echo(line)
    typer.echo(f"report: {report}")
    if meta.status == "interrupted":
        raise typer.Exit(130)
    raise typer.Exit(0 if trajectory.succeeded else 1)


class PolicyChoice(str, Enum):
    qwen = "qwen"
    oracle = "oracle"
    random = "random"


@app.command("eval")
def eval_(
    suite: Annotated[str, typer.Option("--suite", help="A suite name (see `qvl-agent suites`) or a folder of task JSON files.")],
    tasks: Annotated[Optional[str], typer.Option("--tasks", help="Regular expression over task ids.")] = None,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds 0..N-1 of every task.")] = 1,
    policy: Annotated[PolicyChoice, typer.Option("--policy", help="qwen (the model), oracle (the tasks' own solvers) or random (a baseline).")] = PolicyChoice.qwen,
    workers: Annotated[int, typer.Option("--workers", help="Worker processes, each with its own env.")] = 1,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory (default: runs/eval-<suite>-<time>).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Finish the run in --out: run only what has no result yet.")] = False,
    time_limit: Annotated[float, typer.Option("--time-limit", help="Seconds per instance before its worker is killed.")] = 600.0,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", help="Override each task's step budget.")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="Android suites: adb serial, or 'sim' for the built-in virtual phone.")] = None,
    browser_path: Annotated[Optional[str], typer.Option("--browser-path", help="Browser suites: Chromium/Chrome binary (default: found).")] = None,
    model: ModelOpt = None,
    endpoint: EndpointOpt = None,
    served_model: ServedModelOpt = None,
    min_pixels: MinPixelsOpt = 3136,
    max_pixels: MaxPixelsOpt = 12845056,
    torch_device: DeviceOpt = None,
    history_images: Annotated[int, typer.Option("--history-images", help="Show the model its last K screenshots as real turns.")] = 0,
) -> None:
    """Run a suite x seeds; results.jsonl as it goes, then summary.md with a Wilson interval."""
    from eval.command import run_eval_command

    if model and endpoint:
        raise typer.BadParameter("give --model or --endpoint, not both")
    if resume and out is None:
        raise typer.BadParameter("--resume needs the --out of the run to finish")
    env_options = {k: v for k, v in {"device": device, "browser_path": browser_path}.items() if v}
    code = run_eval_command(dict(
        suite=suite, tasks=tasks, seeds=seeds, workers=workers, resume=resume,
        time_limit_s=time_limit, max_steps=max_steps, env_options=env_options, out=out,
        policy=dict(kind=policy.value, model=dict(
            model=model, endpoint=endpoint, served_model=served_model, min_pixels=min_pixels,
            max_pixels=max_pixels, torch_device=torch_device, history_images=history_images))))
    raise typer.Exit(code)


@app.command()
def suites() -> None:
    """List the built-in suites with their task counts."""
    from tasks.registry import list_suites

    rows = [(s.name, s.env_kind.value, str(len(s.tasks)), str(len(s.with_oracle)), s.description)
            for s in list_suites()]
    widths = [max(len(r[i]) for r in rows + [("suite", "env", "tasks", "oracle", "")]) for i in range(4)]
    typer.echo(f"{'suite':<{widths[0]}}  {'env':<{widths[1]}}  {'tasks':>{widths[2]}}  "
               f"{'oracle':>{widths[3]}}  description")
    for name, env, count, oracles, description in rows:
        typer.echo(f"{name:<{widths[0]}}  {env:<{widths[1]}}  {count:>{widths[2]}}  "
                   f"{oracles:>{widths[3]}}  {description}")


@app.command()
def report(run_dir: Annotated[Path, typer.Argument(help="A run directory (it holds meta.json).")]) -> None:
    """Rebuild RUN_DIR/report.html from the run's files."""
    from agent.report import write_report

    typer.echo(f"report: {write_report(run_dir)}")


def _read_image(path: Path):
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            image.load()
            return image.convert("RGB")
    except FileNotFoundError:
        raise ConfigError(f"image not found: {path}") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ConfigError(f"cannot read {path} as an image ({exc.__class__.__name__}); "
                             "give a PNG or JPEG screenshot") from None


def main() -> None:
    """Console entry point: one clear line for every expected failure."""
    try:
        code = app(standalone_mode=False)  # returns a typer.Exit's code instead of exiting
        sys.exit(code if isinstance(code, int) else 0)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.exceptions.Abort, KeyboardInterrupt):
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    except QvlError as exc:
        if _state["debug"]:
            raise
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for users
        if _state["debug"]:
            raise
        print(f"internal error: {exc.__class__.__name__}: {exc} (run with --debug for the "
              "traceback and please report it)", file=sys.stderr)
        sys.exit(70)
