"""``qvl-agent rpa SCRIPT.yaml``: run a Midscene-format script, grounded offline or by Qwen2.5-VL."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from qvl_agent.cli.app import app
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
    script: Annotated[Path, typer.Argument(help="A Midscene-format YAML script.")],
    var: Annotated[Optional[list[str]], typer.Option("--var", help="NAME=VALUE for ${NAME} in the script (repeat); the environment is read after these.")] = None,
    grounder: Annotated[GrounderChoice, typer.Option("--grounder", help="Who finds targets: dom (browser), uia (Android), ocr (any screen), qwen (the model), auto (the exact ones first, then the model).")] = GrounderChoice.auto,
    model_options: ModelOptions = FROM_FLAGS,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory (default: runs/<time>-rpa-<script>).")] = None,
    cache_dir: Annotated[Path, typer.Option("--cache-dir", help="Where <cache id>.cache.yaml files live.")] = Path("qvl_cache"),
    headed: Annotated[bool, typer.Option("--headed", help="Browser: show the window.")] = False,
    secret: SecretOpt = None,
    secrets_file: SecretsFileOpt = None,
) -> None:
    """Run SCRIPT's tasks; writes a run directory with report.html and outputs.json.

    Without --model or --endpoint no model is used: steps that need one are refused before
    anything starts, and targets must be found by the offline grounders. ${NAME} of a
    --secret is typed where a step types it and is <secret:NAME> everywhere else.
    """
    from qvl_agent.agent.rpa.runner import RpaOptions, run_script
    from qvl_agent.cli.human import gather_secrets
    from qvl_agent.envs.errors import ConfigError
    from qvl_agent.envs.validation import validated

    variables: dict[str, str] = {}
    for item in var or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(f"--var {item!r}: write NAME=VALUE")
        variables[name.strip()] = value
    options = validated(RpaOptions, dict(script=script, variables=variables, grounder=grounder.value,
                                         model=model_options if model_options.given else None,
                                         out=out, cache_dir=cache_dir,
                                         headed=headed))
    result = run_script(options, secrets=gather_secrets(secret, secrets_file))
    for name, passed in result.tasks.items():
        typer.echo(f"{'passed' if passed else 'FAILED'}: {name}")
    for failure in result.failures:
        typer.echo(f"failed: {failure}", err=True)
    s = result.stats
    typer.echo(f"model calls {s.model_calls} (locate {s.locate_calls}), cache hits "
               f"{s.cache_hits}, misses {s.cache_misses}")
    typer.echo(f"report: {result.run_dir / 'report.html'}")
    raise typer.Exit(0 if result.passed else 1)
