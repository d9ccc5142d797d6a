"""``Suite``: a named set of tasks on one kind of screen, and how to open that screen.

Suites are looked up by name in ``tasks.registry``; a folder of task files becomes one through
``tasks.declarative.suite_from_path``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.tasks.base import Task

__all__ = ["Suite"]


@dataclass
class Suite:
    """A named set of tasks that share one kind of env.

    ``open_env(options)`` starts an env for the suite; ``options`` holds the env flags the
    user gave (e.g. ``device`` for android). A worker opens one env and reuses it.
    ``check_options(options, workers)`` refuses combinations that cannot work.
    ``select_tasks(tasks, options)`` keeps the tasks these options can run, with a line that
    says what was left out and why (None when nothing was).
    """

    name: str
    description: str
    env_kind: EnvKind
    tasks: Sequence[type[Task]]
    open_env: Callable[[dict[str, Any]], Env]
    check_options: Callable[[dict[str, Any], int], None] | None = None
    select_tasks: Callable[[Sequence[type[Task]], dict[str, Any]],
                           tuple[list[type[Task]], str | None]] | None = None

    def runnable(self, options: dict[str, Any],
                 tasks: Sequence[type[Task]] | None = None) -> tuple[list[type[Task]], str | None]:
        """The tasks (all, or ``tasks``) that can run with ``options``, and why others cannot."""
        tasks = list(self.tasks if tasks is None else tasks)
        if self.select_tasks is None:
            return tasks, None
        return self.select_tasks(tasks, options)

    def task(self, task_id: str) -> type[Task]:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise ConfigError(f"suite {self.name!r} has no task {task_id!r}")

    @property
    def with_oracle(self) -> list[type[Task]]:
        return [t for t in self.tasks if t.has_oracle()]
