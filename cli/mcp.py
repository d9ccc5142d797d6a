"""``qvl-agent mcp``: serve one screen to an MCP client over stdio (``cli.mcp_server``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from qvl_agent.cli.app import app
from qvl_agent.cli.model_flags import AGENT_FLAGS, FROM_FLAGS, model_flags
from qvl_agent.cli.screen_flags import FROM_SCREEN_FLAGS, screen_flags

if TYPE_CHECKING:
    from qvl_agent.envs.spec import EnvSpec
    from qvl_agent.model.options import ModelOptions


@app.command("mcp")
@model_flags(*AGENT_FLAGS)
@screen_flags
def mcp_(
    spec: EnvSpec = FROM_SCREEN_FLAGS,
    model_options: ModelOptions = FROM_FLAGS,
    out: Annotated[Optional[Path], typer.Option("--out", help="Where the session is recorded (default: runs/<time>-mcp-<env>).")] = None,
) -> None:
    """Serve a screen to an MCP client over stdio: screenshot and act; with --endpoint or
    --model also locate and run_goal."""
    from qvl_agent.agent.recorder import default_run_dir
    from qvl_agent.envs.extras import require_extra
    from qvl_agent.envs.spec import DesktopSpec

    require_extra("mcp", "qvl-agent mcp")
    if isinstance(spec, DesktopSpec):
        from qvl_agent.envs.xdisplay import parse_display_spec

        parse_display_spec(spec.display)  # no display at all: one line now, not at the first call
    model = model_options if model_options.given else None
    if model is not None:
        model.preflight()  # an unreachable server or missing weights: one line, no server
    from qvl_agent.cli.mcp_server import serve

    serve(spec, model, out or default_run_dir(f"mcp {spec.kind}"))
