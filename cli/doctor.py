"""``qvl-agent doctor --endpoint URL``: check a model server before a long run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from qvl_agent.cli.app import app
from qvl_agent.cli.model_flags import FROM_FLAGS, SERVER_FLAGS, model_flags

if TYPE_CHECKING:
    from qvl_agent.model.options import ModelOptions


@app.command()
@model_flags(*SERVER_FLAGS)
def doctor(
    endpoint: Annotated[str, typer.Option("--endpoint", help="The OpenAI-compatible server, e.g. http://localhost:8000/v1.")],
    model_options: ModelOptions = FROM_FLAGS,
) -> None:
    """Check a server: reachable, model, exact image tokens, images per request, settings, latency.

    Give the --max-pixels and --history-images the run will use."""
    from qvl_agent.model.doctor import check_server

    o = model_options
    assert o.max_pixels is not None  # filled in by ModelOptions
    rows = check_server(endpoint, served_model=o.served_model, min_pixels=o.min_pixels,
                        max_pixels=o.max_pixels, history_images=o.history_images)
    width = max(len(row.name) for row in rows)
    for row in rows:
        mark = "FAIL" if not row.ok else "warn" if row.warn else "ok  "
        typer.echo(f"{mark}  {row.name:<{width}}  {row.detail}")
        if not row.ok or (row.warn and row.fix):
            typer.echo(f"      {'':<{width}}  fix: {row.fix}")
    failed = [row for row in rows if not row.ok]
    typer.echo(f"{len(rows) - len(failed)} of {len(rows)} checks passed"
               + ("" if not failed else "; fix the rows marked FAIL before a long run"))
    raise typer.Exit(1 if failed else 0)
