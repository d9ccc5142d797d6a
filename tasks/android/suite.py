"""The built-in ``android`` suite: AndroidWorld-style tasks on a phone over adb.

``--device sim[:PROFILE]`` gives every worker its own virtual phone; a real device serial
allows one worker (two workers on one phone would undo each other's work) and runs only the
tasks that work on a stock phone (``runs_on == "any"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.tasks.android.common import AndroidTask
from qvl_agent.tasks.android.tasks import ANDROID_TASKS
from qvl_agent.tasks.base import Task
from qvl_agent.tasks.suite import Suite


def _on_sim(options: dict[str, Any]) -> bool:
    device = options.get("device")
    return device is not None and (device == "sim" or device.startswith("sim:"))


def open_phone(options: dict[str, Any]) -> Env:
    from qvl_agent.envs.android import open_android

    return open_android(options.get("device"))


def check_workers(options: dict[str, Any], workers: int) -> None:
    from qvl_agent.envs.virtual_phone import sim_profile

    sim_profile(options.get("device"))  # an unknown sim:PROFILE is one line, before any worker
    if workers > 1 and not _on_sim(options):
        raise ConfigError("several workers need a phone each: use --device sim, or --workers 1 "
                          "with a real device")


def select_tasks(tasks: Sequence[type[Task]], options: dict[str, Any]
                 ) -> tuple[list[type[Task]], str | None]:
    """On a real phone only the ``any`` tasks; the others need the virtual phone's apps."""
    if _on_sim(options):
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
    open_env=open_phone,
    check_options=check_workers,
    select_tasks=select_tasks,
)
