"""The built-in ``android`` suite: AndroidWorld-style tasks on a phone over adb.

``--device sim`` gives every worker its own virtual phone; a real device serial allows one
worker (two workers on one phone would undo each other's work).
"""

from __future__ import annotations

from typing import Any

from envs.base import Env, EnvKind
from envs.errors import ConfigError
from tasks.android.tasks import ANDROID_TASKS
from tasks.registry import Suite, register_suite


def open_phone(options: dict[str, Any]) -> Env:
    from envs.android import open_android

    return open_android(options.get("device"))


def check_workers(options: dict[str, Any], workers: int) -> None:
    if workers > 1 and options.get("device") != "sim":
        raise ConfigError("several workers need a phone each: use --device sim, or --workers 1 "
                          "with a real device")


register_suite(Suite(
    name="android",
    description="AndroidWorld-style tasks on a phone over adb (--device SERIAL, or sim)",
    env_kind=EnvKind.android,
    tasks=ANDROID_TASKS,
    open_env=open_phone,
    check_options=check_workers,
))
