"""``qvl-agent doctor --endpoint URL``: check a model server before a long run."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from qvl_agent.cli.app import ServedModelOpt, app


@app.command()
def doctor(
    endpoint: Annotated[str, typer.Option("--endpoint", help="The OpenAI-compatible server, e.g. http://localhost:8000/v1.")],
    served_model: ServedModelOpt = None,
    min_pixels: Annotated[int, typer.Option("--min-pixels", help="Smallest frame area in pixels.")] = 3136,
    max_pixels: Annotated[Optional[int], typer.Option("--max-pixels", help="The frame area the run will use (default 12845056; OSWorld's prompt: 1003520).")] = None,
    history_images: Annotated[int, typer.Option("--history-images", help="Screenshots per request the run will send besides the current one.")] = 0,
) -> None:
    """Check a server: reachable, model, exact image tokens, images per request, settings, latency."""
    from qvl_agent.model.doctor import check_server
    from qvl_agent.model.frame import MAX_PIXELS

    rows = check_server(endpoint, served_model=served_model, min_pixels=min_pixels,
                        max_pixels=max_pixels or MAX_PIXELS, history_images=history_images)
    width = max(len(row.name) for row in rows)
    for row in rows:
        typer.echo(f"{'ok  ' if row.ok else 'FAIL'}  {row.name:<{width}}  {row.detail}")
        if not row.ok:
            typer.echo(f"      {'':<{width}}  fix: {row.fix}")
    failed = [row for row in rows if not row.ok]
    typer.echo(f"{len(rows) - len(failed)} of {len(rows)} checks passed"
               + ("" if not failed else "; fix the rows marked FAIL before a long run"))
    raise typer.Exit(1 if failed else 0)
