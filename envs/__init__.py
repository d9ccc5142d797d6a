"""Where actions happen: the Action vocabulary, observations, the Env contract, the backends.

``open_env(spec)`` (``envs.factory``) opens any screen an ``EnvSpec`` (``envs.spec``) describes.
Backends that need a browser, a display or adb (``envs.browser.BrowserEnv``,
``envs.android.AndroidEnv``, ``envs.desktop.DesktopEnv`` with ``envs.xdisplay``'s managed
Xvfb) are imported from their own modules, so that importing ``envs`` never starts or needs
any of them.
"""

from qvl_agent.envs.actions import (
    ACTION_TYPES, Action, Answer, Click, Drag, KeyPress, LongPress, MoveTo, OpenApp, Point,
    Scroll, Swipe, SystemButton, Terminate, TypeText, Wait, parse_action,
)
from qvl_agent.envs.base import Env, EnvBase, EnvKind, Observation, Size
from qvl_agent.envs.errors import (
    ActionParseError, ActionRejectedError, ConfigError, EnvDisconnectedError, EnvError,
    EnvNotFoundError, EvalError, ModelBehaviorError, ModelUnavailableError, QvlError,
    StorageError, TaskError, UnsupportedActionError,
)
from qvl_agent.envs.factory import open_env
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.envs.keys import normalize_key
from qvl_agent.envs.spec import AndroidSpec, BrowserSpec, DesktopSpec, EnvSpec, env_spec

__all__ = [
    "ACTION_TYPES", "Action", "Answer", "Click", "Drag", "KeyPress", "LongPress", "MoveTo",
    "OpenApp", "Point", "Scroll", "Swipe", "SystemButton", "Terminate", "TypeText", "Wait",
    "parse_action", "Env", "EnvBase", "EnvKind", "Observation", "Size", "FakeEnv",
    "EnvSpec", "BrowserSpec", "AndroidSpec", "DesktopSpec", "env_spec", "open_env",
    "normalize_key", "QvlError", "ConfigError", "ModelBehaviorError", "ActionParseError",
    "ActionRejectedError", "ModelUnavailableError", "EnvError", "EnvNotFoundError",
    "EnvDisconnectedError", "UnsupportedActionError", "TaskError", "EvalError", "StorageError",
]
