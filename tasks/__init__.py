"""What to do and how to tell it was done: Task, declarative task files, the suite registry.

Built-in suites (``miniwob``, ``web``, ``android``) register when ``get_suite`` or
``list_suites`` first runs.
"""

from qvl_agent.tasks.base import ENDED_BY_AGENT, NoParams, Task, TaskParams
from qvl_agent.tasks.registry import Suite, get_suite, list_suites, register_suite

__all__ = ["Task", "TaskParams", "NoParams", "ENDED_BY_AGENT", "Suite", "get_suite", "list_suites",
           "register_suite"]
