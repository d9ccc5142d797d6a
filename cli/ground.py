"""``qvl-agent ground IMAGE QUERY``: one grounding question, answered in the image's pixels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from qvl_agent.cli.app import app, read_image
from qvl_agent.cli.model_flags import BACKEND_FLAGS, FROM_FLAGS, model_flags

if TYPE_CHECKING:
    from qvl_agent.model.options import ModelOptions
from qvl_agent.envs.errors import ConfigError


@app.command()
@model_flags(*BACKEND_FLAGS)
def ground(
    image: Annotated[Path, typer.Argument(help="Screenshot to look at.")],
    query: Annotated[str, typer.Argument(help="What to find, e.g. 'the Submit button'.")],
    box: Annotated[bool, typer.Option("--box/--point", help="Ask for a box (default) or a point.")] = True,
    out: Annotated[Optional[Path], typer.Option("--out", help="Write the image with the answer drawn.")] = None,
    model_options: ModelOptions = FROM_FLAGS,
) -> None:
    """Locate QUERY on IMAGE; print the answer as JSON in the image's pixel coordinates."""
    from qvl_agent.model.grounding import locate

    picture = read_image(image)
    backend = model_options.backend()
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
        from qvl_agent.agent.annotate import draw_marks

        marked = draw_marks(picture, boxes=[i.box for i in result.items if i.box],
                            points=[(i.point.x, i.point.y) for i in result.items],
                            labels=[i.label for i in result.items])
        try:
            marked.save(out)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot write {out} ({exc}); give a .png or .jpg path in an "
                              "existing folder") from None
        report["annotated"] = str(out)
    typer.echo(json.dumps(report, ensure_ascii=False))
