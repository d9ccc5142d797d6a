"""MiniWoB++: the task pages of the ``miniwob`` package as a suite, with oracle solvers."""

from qvl_agent.tasks.miniwob.suite import MINIWOB_TASKS, MiniWoBTask, MINIWOB_SCREEN, page_state

__all__ = ["MINIWOB_TASKS", "MiniWoBTask", "MINIWOB_SCREEN", "page_state"]
