"""``FakeEnv``: a screen that records what it is asked to do. Shipped for users' tests too."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from PIL import Image

from qvl_agent.envs.actions import (
    Action, Click, Drag, KeyPress, LongPress, MoveTo, OpenApp, Scroll, Swipe, SystemButton,
    TypeText, Wait,
)
from qvl_agent.envs.base import EnvBase, EnvKind, Observation, Size

__all__ = ["FakeEnv"]

_ALL = frozenset({Click, LongPress, MoveTo, Drag, Swipe, Scroll, TypeText, KeyPress,
                  SystemButton, OpenApp, Wait})


class FakeEnv(EnvBase):
    """Records executed Actions in ``self.executed``; observes a fixed or generated screenshot.

    Args:
        screen: logical size Actions refer to.
        scale: device pixels per logical pixel (2.0 imitates a HiDPI screen).
        kind: which kind of env to pretend to be.
        supported: Action classes it accepts (default: everything but Terminate/Answer).
        screenshot: an image, or a callable taking the list of executed actions so far.
    """

    def __init__(
        self,
        screen: tuple[int, int] = (1280, 720),
        *,
        scale: float = 1.0,
        kind: EnvKind = EnvKind.browser,
        supported: Iterable[type] | None = None,
        screenshot: Image.Image | Callable[[list[Action]], Image.Image] | None = None,
    ) -> None:
        self.kind = kind  # type: ignore[misc]  # instance attribute shadows the ClassVar
        self.SUPPORTED = frozenset(supported) if supported is not None else _ALL  # type: ignore[misc]
        self.screen = Size(width=screen[0], height=screen[1])
        self.scale = scale
        self._screenshot = screenshot
        self.executed: list[Action] = []
        self.observations = 0

    def observe(self) -> Observation:
        self.observations += 1
        if callable(self._screenshot):
            image = self._screenshot(list(self.executed))
        elif self._screenshot is not None:
            image = self._screenshot
        else:
            size = (round(self.screen.width * self.scale), round(self.screen.height * self.scale))
            image = Image.new("RGB", size, (240, 240, 240))
        return Observation(screenshot=image, screen=self.screen, extras={"fake": True})

    def _execute(self, action: Action) -> None:
        self.executed.append(action)
