"""qvl-agent: let Qwen2.5-VL operate real screens (Android over adb, desktops, browsers).

This module is the public Python API; everything else is internal. The toolkit's packages
are its subpackages (``qvl_agent.envs``, ``qvl_agent.model``, ``qvl_agent.agent``,
``qvl_agent.tasks``, ``qvl_agent.eval``, ``qvl_agent.cli``).

Names are imported on first use, so ``import qvl_agent`` (or any of its subpackages)
costs nothing until a name is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    # The action vocabulary: what a screen can be asked to do, in screen coordinates.
    **{name: "qvl_agent.envs.actions" for name in (
        "Action", "Answer", "Click", "Drag", "KeyPress", "LongPress", "MoveTo", "OpenApp",
        "Point", "Scroll", "Swipe", "SystemButton", "Terminate", "TypeText", "Wait")},
    # Screens: what to open (a spec per kind), and the one way to open it
    **{name: "qvl_agent.envs.base" for name in ("Env", "EnvKind", "Observation", "Size")},
    **{name: "qvl_agent.envs.spec" for name in ("EnvSpec", "BrowserSpec", "AndroidSpec", "DesktopSpec")},
    "open_env": "qvl_agent.envs.factory",
    # Errors: one tree, rooted at QvlError
    **{name: "qvl_agent.envs.errors" for name in (
        "QvlError", "ConfigError", "ModelBehaviorError", "ModelUnavailableError", "EnvError",
        "EnvNotFoundError", "EnvDisconnectedError", "UnsupportedActionError", "TaskError",
        "EvalError", "StorageError")},
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and editors only
    from qvl_agent.envs.actions import (
        Action, Answer, Click, Drag, KeyPress, LongPress, MoveTo, OpenApp, Point, Scroll, Swipe,
        SystemButton, Terminate, TypeText, Wait,
    )
    from qvl_agent.envs.base import Env, EnvKind, Observation, Size
    from qvl_agent.envs.factory import open_env
    from qvl_agent.envs.spec import AndroidSpec, BrowserSpec, DesktopSpec, EnvSpec
    from qvl_agent.envs.errors import (
        ConfigError, EnvDisconnectedError, EnvError, EnvNotFoundError, EvalError,
        ModelBehaviorError, ModelUnavailableError, QvlError, TaskError, UnsupportedActionError,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qvl_agent' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
