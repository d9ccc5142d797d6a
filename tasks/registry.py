"""The registry of suites: a name, how to open its env, and its tasks.

Built-in suites register themselves when their module is imported; ``get_suite`` imports
the built-in modules on first use, and a folder of declarative JSON task files is a suite
too (``get_suite("path/to/folder")``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.tasks.base import Task

__all__ = ["Suite", "register_suite", "get_suite", "list_suites", "BUILTIN_SUITE_MODULES"]

BUILTIN_SUITE_MODULES = ("qvl_agent.tasks.miniwob.suite", "qvl_agent.tasks.web.suite", "qvl_agent.tasks.android.suite",
                         "qvl_agent.tasks.desktop.suite")


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


_SUITES: dict[str, Suite] = {}
_loaded = False


def register_suite(suite: Suite) -> Suite:
    ids = [t.id for t in suite.tasks]
    duplicates = {i for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValueError(f"suite {suite.name!r} has duplicate task ids: {sorted(duplicates)}")
    _SUITES[suite.name] = suite
    return suite


def _load_builtins() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for module in BUILTIN_SUITE_MODULES:
            importlib.import_module(module)


def list_suites() -> list[Suite]:
    _load_builtins()
    return sorted(_SUITES.values(), key=lambda s: s.name)


def get_suite(name: str) -> Suite:
    """A registered suite by name, or a folder of declarative task files."""
    _load_builtins()
    if name in _SUITES:
        return _SUITES[name]
    path = Path(name)
    if path.is_dir() or path.suffix == ".json":
        from qvl_agent.tasks.declarative import suite_from_path

        return suite_from_path(path)
    known = ", ".join(sorted(_SUITES)) or "none"
    raise ConfigError(f"unknown suite {name!r}; known suites: {known} (or a folder of task JSON files)")
