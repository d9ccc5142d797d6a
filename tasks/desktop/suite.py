"""The built-in ``desktop`` suite: OSWorld-format tasks on real applications (mousepad,
xterm, LibreOffice Calc, the pcmanfm file manager) under a managed virtual display."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from envs.errors import ConfigError
from tasks.declarative import suite_from_path
from tasks.registry import register_suite

__all__ = ["TASKS"]

TASKS = Path(__file__).parent / "tasks"


def check_options(options: dict[str, Any], workers: int) -> None:
    display = options.get("display", "virtual")
    if workers > 1 and not str(display).startswith("virtual"):
        raise ConfigError(f"--workers {workers} on one display ({display}) would have the workers "
                          "type into each other's windows; use --display virtual (one Xvfb each) "
                          "or --workers 1")


suite = suite_from_path(TASKS, name="desktop",
                        description="OSWorld-format tasks on real apps (editor, terminal, Calc, "
                                    "file manager) under a virtual display")
suite.check_options = check_options
register_suite(suite)
