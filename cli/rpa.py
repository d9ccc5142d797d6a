"""``qvl-agent rpa SCRIPT.yaml``: run a Midscene-format script (or a batch index of them),
grounded offline or by Qwen2.5-VL; ``--dry-run`` checks it without opening a screen."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from qvl_agent.cli.app import app, writable_folder
from qvl_agent.cli.human import SecretOpt, SecretsFileOpt
from qvl_agent.cli.model_flags import BACKEND_FLAGS, FROM_FLAGS, model_flags

if TYPE_CHECKING:
    from qvl_agent.model.options import ModelOptions


class GrounderChoice(str, Enum):
    auto = "auto"
    qwen = "qwen"
    dom = "dom"
    uia = "uia"
    ocr = "ocr"


@app.command()
@model_flags(*BACKEND_FLAGS)
def rpa(
    script: Annotated[Path, typer.Argument(help="A Midscene-format YAML script, or a batch index (files: [...]).")],
    var: Annotated[Optional[list[str]], typer.Option("--var", help="NAME=VALUE for ${NAME} in the script (repeat); the environment is read after these.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check the script (every problem, with its line) without opening a screen.")] = False,
    device: Annotated[Optional[str], typer.Option("--device", help="Android: adb serial, or 'sim[:android-9|android-11|android-14|samsung-11]' for the built-in virtual phone, instead of the script's deviceId.")] = None,
    grounder: Annotated[GrounderChoice, typer.Option("--grounder", help="Who finds targets: dom (browser), uia (Android), ocr (any screen), qwen (the model), auto (the exact ones first, then the model).")] = GrounderChoice.auto,
    model_options: ModelOptions = FROM_FLAGS,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory (default: runs/<time>-rpa-<script>); a batch gets one folder per script in it.")] = None,
    cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", help="Where <cache id>.cache.yaml files live (default: ~/.cache/qvl-agent/rpa, or $XDG_CACHE_HOME/qvl-agent/rpa).")] = None,
    headed: Annotated[bool, typer.Option("--headed", help="Browser: show the window.")] = False,
    secret: SecretOpt = None,
    secrets_file: SecretsFileOpt = None,
) -> None:
    """Run SCRIPT's tasks; writes a run directory with report.html and outputs.json.

    Without --model or --endpoint no model is used: steps that need one are refused before
    anything starts, and targets must be found by the offline grounders. ${NAME} of a
    --secret is typed where a step types it and is <secret:NAME> everywhere else.
    """
    from qvl_agent.agent.rpa.batch import is_batch, load_batch
    from qvl_agent.agent.rpa.runner import RpaOptions
    from qvl_agent.agent.rpa.script import ScriptProblems, read_script
    from qvl_agent.cli.human import gather_secrets
    from qvl_agent.envs.errors import ConfigError
    from qvl_agent.envs.validation import validated

    writable_folder(out or Path("runs"))
    variables: dict[str, str] = {}
    for item in var or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--var {item!r}: write NAME=VALUE")
        variables[name.strip()] = value
    options = validated(RpaOptions, dict(script=script, variables=variables, grounder=grounder.value,
                                         model=model_options if model_options.given else None,
                                         out=out, headed=headed, device=device,
                                         **({"cache_dir": cache_dir} if cache_dir else {})))
    secrets = gather_secrets(secret, secrets_file)
    batch = load_batch(script) if is_batch(read_script(script)) else None
    if dry_run:
        raise typer.Exit(_dry_run(options, batch, secrets))
    try:
        if batch is not None:
            raise typer.Exit(_run_batch(options, batch, secrets))
        from qvl_agent.agent.rpa.runner import run_script

        passed = _show(run_script(options, secrets=secrets))
    except ScriptProblems as exc:  # nothing was opened: say every problem, not the first
        _problems(exc.problems)
        raise typer.Exit(2) from None
    raise typer.Exit(0 if passed else 1)


def _run_batch(options: Any, batch: Any, secrets: Any) -> int:
    from qvl_agent.agent.rpa.batch import run_batch

    for note in batch.ignored:
        typer.echo(note, err=True)

    def show(file: Path, outcome: Any) -> None:
        typer.echo(f"== {file}")
        if isinstance(outcome, Exception):
            for line in getattr(outcome, "problems", [str(outcome)]):
                typer.echo(f"error: {line}", err=True)
        else:
            _show(outcome)

    results = run_batch(options, batch, on_result=show, secrets=secrets)
    passed = sum(r.passed for r in results)
    skipped = sum(not r.executed for r in results)
    typer.echo(f"{passed} of {len(results)} scripts passed" + (f", {skipped} not run" if skipped else ""))
    return 0 if passed == len(results) else 1


MAX_SHOWN = 50


def _screen(script: Any) -> str:
    """What the script would open, in a few words."""
    if script.web is not None:
        where = f"{script.web.url} served from {script.web.serve}" if script.web.serve else script.web.url
        return f"web {where}"
    if script.android is not None:
        return f"android {script.android.deviceId or '(the only device connected)'}"
    return f"computer {script.computer.display}"


def _problems(problems: list[str]) -> None:
    """Each problem on its own line (the first ``MAX_SHOWN``: a broken file can have many)."""
    for line in problems[:MAX_SHOWN]:
        typer.echo(f"error: {line}", err=True)
    if len(problems) > MAX_SHOWN:
        typer.echo(f"error: ... and {len(problems) - MAX_SHOWN} more problems", err=True)


def _show(result: Any) -> bool:
    for note in result.ignored:
        typer.echo(note, err=True)
    for name, passed in result.tasks.items():
        typer.echo(f"{'passed' if passed else 'FAILED'}: {name}")
    for failure in result.failures:
        typer.echo(f"failed: {failure}", err=True)
    s = result.stats
    typer.echo(f"model calls {s.model_calls} (locate {s.locate_calls}), cache hits "
               f"{s.cache_hits}, misses {s.cache_misses}")
    if result.print_report:
        typer.echo(f"report: {result.run_dir / 'report.html'}")
    return result.passed


def _dry_run(options: Any, batch: Any, secrets: Any) -> int:
    """Check every script named (one, or a batch's); print each problem; 0 when none."""
    from qvl_agent.agent.rpa.preflight import needs_model, preflight
    from qvl_agent.agent.rpa.runner import script_variables
    from qvl_agent.agent.rpa.script import ScriptProblems, load_script

    base = options.base or Path.cwd()
    variables = script_variables(options, secrets)  # a secret's ${NAME} is its placeholder
    files = [options.script] if batch is None else ([batch.setup] if batch.setup else []) + batch.files
    problems = 0
    for note in batch.ignored if batch else []:
        typer.echo(note)
    for path in files:
        try:
            script = load_script(path, variables, base=base, device=options.device,
                                 defaults=batch.defaults if batch else None)
            found = preflight(script, options.grounder,
                              None if options.model is None else True, base)
            if found:
                raise ScriptProblems(found)
        except ScriptProblems as exc:
            _problems(exc.problems)
            problems += len(exc.problems)
            continue
        except Exception as exc:  # noqa: BLE001 - a file that cannot even be read is one problem
            from qvl_agent.envs.errors import QvlError

            if not isinstance(exc, QvlError):
                raise
            typer.echo(f"error: {exc}", err=True)
            problems += 1
            continue
        steps = script.steps()
        typer.echo(f"ok: {path}: {_screen(script)}, {len(script.tasks)} task"
                   f"{'s' * (len(script.tasks) != 1)}, {len(steps)} step{'s' * (len(steps) != 1)}")
        for note in script.ignored:
            typer.echo(f"  {note}")
        if options.model is None:
            model_steps = [step for _, step in steps if needs_model(step, options.grounder)]
            if model_steps:
                lines = ", ".join(str(step.line) for step in model_steps[:12])
                more = ", ..." if len(model_steps) > 12 else ""
                typer.echo(f"  {len(model_steps)} step{'s need' if len(model_steps) != 1 else ' needs'} the "
                           f"model (lines {lines}{more}): run with --model or --endpoint")
    if problems:
        typer.echo(f"{problems} problem{'s' * (problems != 1)} found", err=True)
        return 2
    return 0
