"""The built-in ``desktop`` suite: OSWorld-format tasks on real applications (mousepad,
xterm, LibreOffice Calc, the pcmanfm file manager) under a managed virtual display, each
worker in its own bubblewrap sandbox (``envs.sandbox``)."""

from __future__ import annotations

from pathlib import Path

from qvl_agent.tasks.declarative import suite_from_path

__all__ = ["TASKS", "suite"]

TASKS = Path(__file__).parent / "tasks"

suite = suite_from_path(TASKS, name="desktop",
                        description="OSWorld-format tasks on real apps (editor, terminal, Calc, "
                                    "file manager) under a virtual display")
