"""qvl-agent: let Qwen2.5-VL operate real screens (Android over adb, desktops, browsers).

This module is the public Python API; everything else is internal:

    agent = qvl_agent.Agent(endpoint="http://localhost:8000/v1")     # or a model folder
    with qvl_agent.open_env("browser", url="http://127.0.0.1:8000/form") as env:
        result = agent.run("fill in the form and submit it", env, max_steps=10,
                           on_step_end=print)
    print(result.status, len(result.steps), result.usage, result.run_dir)

Not thread-safe, and synchronous: an Agent runs one goal at a time in the calling thread;
use one Agent and one screen per thread. The toolkit's packages
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
    # The agent: run a goal on a screen, or ground a query on an image; what a run returns
    **{name: "qvl_agent.agent.api" for name in ("Agent", "RunResult")},
    "Step": "qvl_agent.agent.trajectory",
    "Usage": "qvl_agent.agent.usage",
    **{name: "qvl_agent.agent.oversight" for name in ("StopRun", "Oversight")},
    **{name: "qvl_agent.model.grounding" for name in ("GroundingResult", "Located")},
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
    from qvl_agent.agent.api import Agent, RunResult
    from qvl_agent.agent.oversight import Oversight, StopRun
    from qvl_agent.agent.trajectory import Step
    from qvl_agent.agent.usage import Usage
    from qvl_agent.model.grounding import GroundingResult, Located
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
