"""What to do and how to tell it was done: Task, declarative task files, the suite registry.

Suites are found by name (``tasks.registry``): the built-ins (``miniwob``, ``web``,
``android``, ``desktop``) are entry-point strings, imported when first asked for. The names a
task file uses (setup steps, getters, metrics) live in ``tasks.hooks``, filled by plugins.
"""

from qvl_agent.tasks.base import ENDED_BY_AGENT, NoParams, Task, TaskParams
from qvl_agent.tasks.registry import (
    Suite, get_suite, list_suites, register_suite, register_suite_entry,
)

__all__ = ["Task", "TaskParams", "NoParams", "ENDED_BY_AGENT", "Suite", "get_suite", "list_suites",
           "register_suite", "register_suite_entry"]
