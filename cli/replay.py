"""``qvl-agent replay RUN_DIR``: run a recorded run again without the model; or ``--to-yaml``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from qvl_agent.cli.app import app
from qvl_agent.cli.human import SecretOpt, SecretsFileOpt
from qvl_agent.cli.model_flags import AGENT_FLAGS, FROM_FLAGS, model_flags
from qvl_agent.cli.run import OUTCOME

if TYPE_CHECKING:
    from qvl_agent.model.options import ModelOptions


@app.command()
@model_flags(*AGENT_FLAGS)
def replay(
    run_dir: Annotated[Path, typer.Argument(help="A run directory (qvl-agent run's --out).")],
    url: Annotated[Optional[str], typer.Option(help="Browser: start from this page instead of the recorded one.")] = None,
    viewport: Annotated[Optional[str], typer.Option(help="Browser: viewport in CSS pixels, WxH (default: the recorded one).")] = None,
    headed: Annotated[bool, typer.Option("--headed", help="Browser: show the window.")] = False,
    browser_path: Annotated[Optional[str], typer.Option("--browser-path", help="Browser: Chromium/Chrome binary (default: found).")] = None,
    device: Annotated[Optional[str], typer.Option("--device", help="Android: another adb serial, or 'sim[:PROFILE]' (default: the recorded device).")] = None,
    display: Annotated[Optional[str], typer.Option("--display", help="Desktop: 'virtual[:WxH]' or ':N' (default: the recorded display).")] = None,
    model_options: ModelOptions = FROM_FLAGS,
    max_steps: Annotated[Optional[int], typer.Option("--max-steps", help="Step budget (default: the recorded run's, at least its steps).")] = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory (default: runs/<time>-replay-<goal>).")] = None,
    to_yaml: Annotated[Optional[Path], typer.Option("--to-yaml", help="Write the run as a Midscene-format script for `qvl-agent rpa` instead of replaying it.")] = None,
    cache_dir: Annotated[Path, typer.Option("--cache-dir", help="With --to-yaml: where the script's location cache is written (rpa's --cache-dir).")] = Path("qvl_cache"),
    secret: SecretOpt = None,
    secrets_file: SecretsFileOpt = None,
) -> None:
    """Replay RUN_DIR's actions, checking before each one that the screen still fits.

    A step that no longer fits stops the replay with status diverged; with --model or
    --endpoint the model takes over from there instead. Writes a run directory like `run`.
    A recording keeps no secret's value: give each secret the run typed with --secret.
    """
    from qvl_agent.envs.validation import validated

    if to_yaml is not None:
        from qvl_agent.agent.replay.midscene import export_script

        exported = export_script(run_dir, to_yaml, cache_dir=cache_dir)
        typer.echo(f"script: {exported.script} ({exported.steps} steps)")
        typer.echo(f"cache: {exported.cache} ({exported.entries} recorded targets)")
        for note in exported.notes:
            typer.echo(f"note: {note}", err=True)
        secrets = "".join(f" --secret {name}" for name in exported.secrets)
        typer.echo(f"run it: qvl-agent rpa {exported.script} --cache-dir {cache_dir}{secrets}")
        raise typer.Exit(0)

    from qvl_agent.agent.replay.runner import ReplayOptions, replay_run
    from qvl_agent.cli.human import gather_secrets

    # Only the flags given; the recorded screen decides the rest.
    screen = {"url": url, "viewport": viewport, "headed": headed or None,
              "browser_path": browser_path, "device": device, "display": display}
    options = validated(ReplayOptions, dict(
        run_dir=run_dir, env={k: v for k, v in screen.items() if v is not None},
        model=model_options if model_options.given else None, max_steps=max_steps, out=out),
        names={"run_dir": "RUN_DIR"})
    trajectory, report = replay_run(options, secrets=gather_secrets(secret, secrets_file))
    meta = trajectory.meta
    stats = meta.stats or {}
    line = f"{meta.status}: {OUTCOME[meta.status]} after {meta.steps} step(s)"
    if meta.answer is not None:
        line += f"; answer: {meta.answer}"
    if meta.message and meta.status not in ("success", "answered"):
        line += f" ({meta.message})"
    typer.echo(line)
    typer.echo(f"replayed {stats.get('replayed', 0)}, re-planned by the model "
               f"{stats.get('replanned', 0)}, model calls {stats.get('model_calls', 0)}")
    typer.echo(f"report: {report}")
    if meta.status == "interrupted":
        raise typer.Exit(130)
    raise typer.Exit(0 if trajectory.succeeded else 1)
