"""The steps of an RPA script's ``flow:``, one pydantic model per Midscene step key.

Field names are Midscene's (``errorMessage``, ``scrollType``, ``continueOnError``), so a
Midscene script reads the same here. ``line`` is set by the loader, for error messages.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "StepBase", "Tap", "DoubleClick", "RightClick", "Hover", "Input", "KeyboardPress", "Scroll",
    "WaitFor", "Assert", "Query", "Boolean", "Number", "String", "Ai", "Sleep", "FlowStep",
    "STEP_KINDS",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StepBase(_Strict):
    """What every step knows about itself besides its options."""

    line: int = Field(0, description="the step's line in the script (set by the loader)")

    def prompt_text(self) -> str:
        return ""


class _Locating(StepBase):
    locate: str = Field(min_length=1, description="what to act on, in plain words")
    cacheable: bool = True

    def prompt_text(self) -> str:
        return self.locate


class Tap(_Locating):
    kind: Literal["aiTap"] = "aiTap"


class DoubleClick(_Locating):
    kind: Literal["aiDoubleClick"] = "aiDoubleClick"


class RightClick(_Locating):
    kind: Literal["aiRightClick"] = "aiRightClick"


class Hover(_Locating):
    kind: Literal["aiHover"] = "aiHover"


class Input(_Locating):
    kind: Literal["aiInput"] = "aiInput"
    value: str = Field(description="the text to type")
    mode: Literal["replace", "clear", "typeOnly"] = Field(
        "replace", description="Midscene's: replace what the field holds, only clear it, or "
        "type at the caret (a terminal, where select-all is a control character)")


class KeyboardPress(StepBase):
    kind: Literal["aiKeyboardPress"] = "aiKeyboardPress"
    key: str = Field(min_length=1, description="a key name such as Enter, or a chord Ctrl+A")
    locate: str | None = None
    cacheable: bool = True

    def prompt_text(self) -> str:
        return self.key


class Scroll(StepBase):
    kind: Literal["aiScroll"] = "aiScroll"
    locate: str | None = None
    direction: Literal["up", "down", "left", "right"] = "down"
    scrollType: Literal["singleAction", "scrollToBottom", "scrollToTop", "scrollToRight",  # noqa: N815
                        "scrollToLeft", "once", "untilBottom", "untilTop",
                        "untilRight", "untilLeft"] = "singleAction"
    distance: int | None = Field(None, ge=1, le=100_000, description="pixels; default: a screenful")
    cacheable: bool = True

    def prompt_text(self) -> str:
        return self.locate or ""


class WaitFor(StepBase):
    kind: Literal["aiWaitFor"] = "aiWaitFor"
    prompt: str = Field(min_length=1)
    timeout: int = Field(15000, ge=0, le=600_000, description="milliseconds")

    def prompt_text(self) -> str:
        return self.prompt


class Assert(StepBase):
    kind: Literal["aiAssert"] = "aiAssert"
    prompt: str = Field(min_length=1)
    errorMessage: str | None = None  # noqa: N815

    def prompt_text(self) -> str:
        return self.prompt


class _Asking(StepBase):
    prompt: str = Field(min_length=1)
    name: str | None = Field(None, description="the key of the result in outputs.json")

    def prompt_text(self) -> str:
        return self.prompt


class Query(_Asking):
    kind: Literal["aiQuery"] = "aiQuery"
    schema_: dict[str, Any] | None = Field(
        None, alias="schema", description="a JSON Schema the answer must satisfy (our extension)")


class Boolean(_Asking):
    kind: Literal["aiBoolean"] = "aiBoolean"


class Number(_Asking):
    kind: Literal["aiNumber"] = "aiNumber"


class String(_Asking):
    kind: Literal["aiString"] = "aiString"


class Ai(StepBase):
    kind: Literal["ai"] = "ai"
    prompt: str = Field(min_length=1)
    maxSteps: int = Field(10, ge=1, le=100, description="the sub-goal's step budget (ours)")  # noqa: N815

    def prompt_text(self) -> str:
        return self.prompt


class Sleep(StepBase):
    kind: Literal["sleep"] = "sleep"
    ms: int = Field(ge=0, le=600_000)

    def prompt_text(self) -> str:
        return f"{self.ms} ms"


FlowStep = (Tap | DoubleClick | RightClick | Hover | Input | KeyboardPress | Scroll | WaitFor
            | Assert | Query | Boolean | Number | String | Ai | Sleep)

# Step key -> (model, the field the key's own value fills). Midscene's aliases of ``ai``
# (aiAction, aiAct) run the same sub-goal.
STEP_KINDS: dict[str, tuple[type[StepBase], str]] = {
    "aiTap": (Tap, "locate"), "aiDoubleClick": (DoubleClick, "locate"),
    "aiRightClick": (RightClick, "locate"), "aiHover": (Hover, "locate"),
    "aiInput": (Input, "locate"), "aiKeyboardPress": (KeyboardPress, "key"),
    "aiScroll": (Scroll, "locate"), "aiWaitFor": (WaitFor, "prompt"),
    "aiAssert": (Assert, "prompt"), "aiQuery": (Query, "prompt"), "aiBoolean": (Boolean, "prompt"),
    "aiNumber": (Number, "prompt"), "aiString": (String, "prompt"), "ai": (Ai, "prompt"),
    "aiAction": (Ai, "prompt"), "aiAct": (Ai, "prompt"), "sleep": (Sleep, "ms"),
}
