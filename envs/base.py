"""What every screen offers: ``observe``, ``execute``, ``close``.

The contract, in one place (``envs.conformance.check_env`` tests it for every backend):

- ``observe()`` returns an ``Observation``: the screenshot as a PIL image, and the logical
  ``screen`` size that Actions are expressed in. The screenshot may be larger than the
  screen (HiDPI); the model layer's ``Frame`` takes care of the ratio. ``screenshot()`` is
  the observation's image alone.
- ``execute(action)`` performs one Action. An Action kind the env does not support, or a
  key it does not have, raises ``UnsupportedActionError`` before anything happens.
  Terminate and Answer are the loop's business and never reach an env.
- ``settle()`` waits until the effects of the last action have landed (a navigation a
  click started, an app that is launching); tasks call it before reading the state.
- ``close()`` releases everything and may be called more than once. Envs are context
  managers.

Errors follow the tree in ``envs.errors``.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, ClassVar, Protocol, runtime_checkable

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.envs.actions import Action, Answer, Terminate
from qvl_agent.envs.errors import UnsupportedActionError

__all__ = ["EnvKind", "Size", "Observation", "Env", "EnvBase"]


class EnvKind(str, Enum):
    """Which kind of screen; it picks the Qwen tool (computer_use or mobile_use)."""

    browser = "browser"
    desktop = "desktop"
    android = "android"

    @property
    def tool(self) -> str:
        return "mobile_use" if self is EnvKind.android else "computer_use"


class Size(BaseModel):
    """A screen's size in the coordinates actions use."""

    model_config = ConfigDict(frozen=True)
    width: int = Field(gt=0)
    height: int = Field(gt=0)

    def __str__(self) -> str:
        return f"{self.width}x{self.height}"


class Observation(BaseModel):
    """One look at the screen."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)
    screenshot: Image.Image = Field(description="what the screen shows, in device pixels")
    screen: Size = Field(description="logical size that Action coordinates refer to")
    extras: dict[str, Any] = Field(default_factory=dict, description="env-specific facts")


@runtime_checkable
class Env(Protocol):
    """A screen the agent can look at and act on."""

    kind: EnvKind

    def supports(self, action: Action) -> bool:
        """Whether this screen can do ``action``'s kind."""
        ...

    def observe(self) -> Observation:
        """One look: the screenshot, and the screen size actions use."""
        ...

    def screenshot(self) -> Image.Image:
        """What the screen shows now, in device pixels."""
        ...

    def execute(self, action: Action) -> None:
        """Do ``action`` (screen coordinates); raises ``UnsupportedActionError`` for a kind
        this screen cannot do."""
        ...

    def settle(self) -> None: ...

    def close(self) -> None:
        """Close the screen (idempotent); ``with`` does it for you."""
        ...

    def __enter__(self) -> "Env": ...

    def __exit__(self, *exc: object) -> None: ...


class EnvBase:
    """Shared plumbing: the supported-kinds check, idempotent close, context manager.

    Subclasses set ``kind`` and ``SUPPORTED`` and implement ``observe``, ``_execute`` and
    ``_close``.
    """

    kind: ClassVar[EnvKind]
    SUPPORTED: ClassVar[frozenset[type]]

    _closed: bool = False

    def supports(self, action: Action) -> bool:
        return type(action) in self.SUPPORTED

    def execute(self, action: Action) -> None:
        if isinstance(action, (Terminate, Answer)):
            raise UnsupportedActionError(
                f"{action.kind} ends the episode; the loop handles it, not the {self.kind.value} env"
            )
        if not self.supports(action):
            names = ", ".join(sorted(t.model_fields["kind"].default for t in self.SUPPORTED))
            raise UnsupportedActionError(
                f"the {self.kind.value} env cannot do '{action.kind}'; it can do: {names}"
            )
        self._execute(action)

    def _execute(self, action: Action) -> None:
        raise NotImplementedError

    def observe(self) -> Observation:
        raise NotImplementedError

    def screenshot(self) -> Image.Image:
        """What the screen shows now, in device pixels (``observe().screenshot``)."""
        return self.observe().screenshot

    def settle(self) -> None:
        """Wait until the last action's effects have landed (before a task reads the state)."""

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    def _close(self) -> None:
        """Release resources; called once."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
