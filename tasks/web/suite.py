"""The built-in ``web`` suite: OSWorld-style task files on small local pages."""

from __future__ import annotations

from pathlib import Path

from qvl_agent.tasks.declarative import suite_from_path
from qvl_agent.tasks.registry import register_suite

TASKS = Path(__file__).parent / "tasks"

register_suite(suite_from_path(
    TASKS, name="web", description="declarative browser tasks on local pages (OSWorld format)"))
