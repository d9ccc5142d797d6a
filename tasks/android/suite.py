"""The built-in ``android`` suite: AndroidWorld-style tasks on a phone over adb.

``--device sim[:PROFILE]`` gives every worker its own virtual phone; a real device serial
allows one worker (two workers on one phone would undo each other's work) and runs only the
tasks that work on a stock phone (``runs_on == "any"``).
"""

from __future__ import annotations

from collections.abc import Sequence

from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.spec import AndroidSpec, EnvSpec
from qvl_agent.tasks.android.common import AndroidTask
from qvl_agent.tasks.android.tasks import ANDROID_TASKS
from qvl_agent.tasks.base import Task
from qvl_agent.tasks.suite import Suite


def _on_sim(spec: EnvSpec) -> bool:
    return isinstance(spec, AndroidSpec) and spec.on_sim


def check_workers(spec: EnvSpec, workers: int) -> None:
    if workers > 1 and not _on_sim(spec):
        raise ConfigError("several workers need a phone each: use --device sim, or --workers 1 "
                          "with a real device")


def select_tasks(tasks: Sequence[type[Task]], spec: EnvSpec
                 ) -> tuple[list[type[Task]], str | None]:
    """On a real phone only the ``any`` tasks; the others need the virtual phone's apps."""
    if _on_sim(spec):
        return list(tasks), None
    kept = [t for t in tasks if not issubclass(t, AndroidTask) or t.runs_on == "any"]
    skipped = len(tasks) - len(kept)
    if not skipped:
        return kept, None
    return kept, (f"skipped {skipped} of {len(tasks)} tasks that need the virtual phone's own "
                  "apps (Notes, Flights, the Clock provider); a real phone runs the other "
                  f"{len(kept)}. Use --device sim to run them all.")


suite = Suite(
    name="android",
    description="AndroidWorld-style tasks on a phone over adb (--device SERIAL, or sim[:PROFILE])",
    env_kind=EnvKind.android,
    tasks=ANDROID_TASKS,
    check_options=check_workers,
    select_tasks=select_tasks,
)
