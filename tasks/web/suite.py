"""The built-in ``web`` suite: OSWorld-style task files on small local pages."""

from __future__ import annotations

from pathlib import Path

from qvl_agent.tasks.declarative import suite_from_path

__all__ = ["TASKS", "suite"]

TASKS = Path(__file__).parent / "tasks"

suite = suite_from_path(
    TASKS, name="web", description="declarative browser tasks on local pages (OSWorld format)")
