"""The action vocabulary shared by every screen.

An ``Action`` is what an env executes, in the env's own logical screen coordinates (CSS
pixels in a browser, the size pyautogui moves in on a desktop, the phone's pixels over adb).
Model coordinates never get here unconverted: ``model.convert.to_action`` is the only bridge.

The union is discriminated on ``kind``, so a trajectory line reads back as the right class,
and code that handles actions does ``match action: case Click(): ...`` with ``assert_never``
in the default branch.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from qvl_agent.envs.keys import normalize_key

__all__ = [
    "Point",
    "Click",
    "LongPress",
    "MoveTo",
    "Drag",
    "Swipe",
    "Scroll",
    "TypeText",
    "KeyPress",
    "SystemButton",
    "OpenApp",
    "Wait",
    "Terminate",
    "Answer",
    "Action",
    "ACTION_TYPES",
    "parse_action",
    "MAX_WAIT_SECONDS",
    "WHEEL_CLICK_PX",
]

MAX_WAIT_SECONDS = 60.0
MAX_PRESS_SECONDS = 10.0
# One wheel click, in screen pixels. Qwen2.5-VL's ``scroll`` ``pixels`` reach pyautogui as
# wheel clicks in OSWorld, the published evaluation of this model, so ``pixels: -5`` means five
# clicks down: ``model.convert`` turns it into a Scroll of 5 * WHEEL_CLICK_PX pixels, a desktop
# turns that back into 5 clicks, and a browser scrolls 500 CSS pixels, the size of one wheel
# click in Chromium on Windows (100 px a click).
WHEEL_CLICK_PX = 100.0


class _ActionBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Point(BaseModel):
    """A point in screen coordinates."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    x: float = Field(ge=0, allow_inf_nan=False, description="pixels from the left edge")
    y: float = Field(ge=0, allow_inf_nan=False, description="pixels from the top edge")

    def rounded(self) -> tuple[int, int]:
        return round(self.x), round(self.y)


class Click(_ActionBase):
    """Click (or double/triple click) with ``button`` at ``at``, or where the pointer is."""

    kind: Literal["click"] = "click"
    at: Point | None = Field(None, description="where to click; None clicks where the pointer is")
    button: Literal["left", "right", "middle"] = "left"
    count: int = Field(1, ge=1, le=3, description="2 for a double click")


class LongPress(_ActionBase):
    """Press and hold at ``at`` for ``seconds`` (a touch, or the left mouse button)."""

    kind: Literal["long_press"] = "long_press"
    at: Point
    seconds: float = Field(1.0, gt=0, le=MAX_PRESS_SECONDS)


class MoveTo(_ActionBase):
    """Move the pointer to ``at`` without clicking (hover)."""

    kind: Literal["move_to"] = "move_to"
    at: Point


class Drag(_ActionBase):
    """Press, move, release. ``start=None`` drags from where the pointer is (computer_use)."""

    kind: Literal["drag"] = "drag"
    start: Point | None = None
    end: Point


class Swipe(_ActionBase):
    """A touch gesture from ``start`` to ``end`` (mobile)."""

    kind: Literal["swipe"] = "swipe"
    start: Point
    end: Point
    seconds: float = Field(0.3, gt=0, le=MAX_PRESS_SECONDS)


class Scroll(_ActionBase):
    """Scroll by ``dx``/``dy`` screen pixels; positive ``dy`` scrolls down, as a wheel's deltaY.

    A desktop scrolls in whole wheel clicks of ``WHEEL_CLICK_PX`` pixels."""

    kind: Literal["scroll"] = "scroll"
    dx: float = Field(0.0, allow_inf_nan=False)
    dy: float = Field(0.0, allow_inf_nan=False)
    at: Point | None = Field(None, description="where the pointer is put first; None: stays")


class TypeText(_ActionBase):
    """Type ``text`` into whatever has the focus."""

    kind: Literal["type"] = "type"
    text: str = Field(min_length=1, max_length=10_000)


class KeyPress(_ActionBase):
    """Press ``keys`` down in order, then release them in reverse order (a chord)."""

    kind: Literal["key"] = "key"
    keys: tuple[str, ...] = Field(min_length=1, max_length=6)

    @field_validator("keys", mode="before")
    @classmethod
    def _normalize(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, (list, tuple)):
            return tuple(normalize_key(k) for k in value)
        return value


class SystemButton(_ActionBase):
    """Press a phone's system button: back, home, menu or enter."""

    kind: Literal["system_button"] = "system_button"
    button: Literal["back", "home", "menu", "enter"]

    @field_validator("button", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


class OpenApp(_ActionBase):
    """Open an app by its label (a phone's launcher name, e.g. 'Clock')."""

    kind: Literal["open_app"] = "open_app"
    name: str = Field(min_length=1, max_length=200, description="the app's label, e.g. 'Clock'")


class Wait(_ActionBase):
    """Do nothing for ``seconds`` while the screen changes by itself."""

    kind: Literal["wait"] = "wait"
    seconds: float = Field(1.0, ge=0, le=MAX_WAIT_SECONDS)


class Terminate(_ActionBase):
    """The agent says it is done; ``failure`` when it judges the task impossible."""

    kind: Literal["terminate"] = "terminate"
    status: Literal["success", "failure"]


class Answer(_ActionBase):
    """The agent's answer to an information-retrieval goal; ends the episode."""

    kind: Literal["answer"] = "answer"
    text: str = Field(max_length=10_000)


Action = Annotated[
    Union[
        Click, LongPress, MoveTo, Drag, Swipe, Scroll, TypeText, KeyPress,
        SystemButton, OpenApp, Wait, Terminate, Answer,
    ],
    Field(discriminator="kind"),
]

ACTION_TYPES: tuple[type[BaseModel], ...] = (
    Click, LongPress, MoveTo, Drag, Swipe, Scroll, TypeText, KeyPress,
    SystemButton, OpenApp, Wait, Terminate, Answer,
)

_ACTION_ADAPTER: TypeAdapter[Action] = TypeAdapter(Action)


def parse_action(data: object) -> Action:
    """Validate a dict (e.g. one read back from a trajectory) into its Action class."""
    return _ACTION_ADAPTER.validate_python(data)
