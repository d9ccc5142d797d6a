"""Serving the MiniWoB++ task pages shipped in the ``miniwob`` package on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

from qvl_agent.tasks.serving import serve_dir

__all__ = ["html_root", "base_url"]


def html_root() -> Path:
    """The ``html`` folder of the installed ``miniwob`` package."""
    import miniwob

    return Path(miniwob.__file__).parent / "html"


def base_url() -> str:
    """``http://127.0.0.1:PORT/`` of this process's page server (started on first use)."""
    return serve_dir(html_root())
