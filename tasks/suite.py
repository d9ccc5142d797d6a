"""``Suite``: a named set of tasks on one kind of screen, and the screen (an ``EnvSpec``) they need.

Suites are looked up by name in ``tasks.registry``; a folder of task files becomes one through
``tasks.declarative.suite_from_path``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.spec import EnvSpec, task_spec, updated
from qvl_agent.tasks.base import Task

__all__ = ["Suite"]


@dataclass
class Suite:
    """A named set of tasks that share one kind of env.

    ``env`` is the screen the tasks need (default: ``envs.spec.task_spec(env_kind)``); the
    user's flags change it (``spec``), and a worker opens it with ``envs.factory.open_env``
    once and reuses it. ``check_options(spec, workers)`` refuses combinations that cannot
    work. ``select_tasks(tasks, spec)`` keeps the tasks that screen can run, with a line that
    says what was left out and why (None when nothing was).
    """

    name: str
    description: str
    env_kind: EnvKind
    tasks: Sequence[type[Task]]
    env: EnvSpec | None = None
    check_options: Callable[[EnvSpec, int], None] | None = None
    select_tasks: Callable[[Sequence[type[Task]], EnvSpec],
                           tuple[list[type[Task]], str | None]] | None = None

    def __post_init__(self) -> None:
        if self.env is None:
            self.env = task_spec(self.env_kind)
        if self.env.kind != self.env_kind.value:
            raise ValueError(f"suite {self.name!r} runs on {self.env_kind.value}, its spec is "
                             f"a {self.env.kind} screen")

    def spec(self, flags: Mapping[str, Any] | EnvSpec | None = None) -> EnvSpec:
        """The suite's screen with the user's ``flags`` (field -> value) applied, or a whole
        spec checked to be of the suite's kind; a ConfigError names a flag that does not apply."""
        assert self.env is not None
        if flags is None:
            return self.env
        if not isinstance(flags, Mapping):
            if flags.kind != self.env_kind.value:
                raise ConfigError(f"suite {self.name!r} runs on {self.env_kind.value} screens, "
                                  f"not {flags.kind}")
            return flags
        try:
            return updated(self.env, flags) if flags else self.env
        except ConfigError as exc:
            raise ConfigError(f"suite {self.name!r}: {exc}") from None

    def runnable(self, spec: Mapping[str, Any] | EnvSpec | None = None,
                 tasks: Sequence[type[Task]] | None = None) -> tuple[list[type[Task]], str | None]:
        """The tasks (all, or ``tasks``) that can run on ``spec`` (as ``spec()`` takes it), and
        why others cannot."""
        tasks = list(self.tasks if tasks is None else tasks)
        if self.select_tasks is None:
            return tasks, None
        return self.select_tasks(tasks, self.spec(spec))

    def task(self, task_id: str) -> type[Task]:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise ConfigError(f"suite {self.name!r} has no task {task_id!r}")

    @property
    def with_oracle(self) -> list[type[Task]]:
        return [t for t in self.tasks if t.has_oracle()]
