"""The steps of an RPA script's ``flow:``, one pydantic model per kind of step.

The loader (``agent.rpa.flow``) reads every form Midscene accepts for a step (``aiTap: x``,
``aiTap: {prompt: x}``, ``aiTap:`` with ``locate:`` beside it, ``aiTap: {locate: {...}}``,
the older ``aiInput: <value>`` with ``locate:``, ...) into these models, which hold only
what the step will do. Field names are Midscene's where a user writes them (``errorMessage``,
``scrollType``, ``keyName``); ``line`` is the step's line in the script, for messages.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "RefImage", "LocateParam", "StepBase", "Tap", "DoubleClick", "RightClick", "Hover", "LongPress",
    "Input", "ClearInput", "KeyboardPress", "Scroll", "DragAndDrop", "WaitFor", "Assert",
    "Query", "Boolean", "Number", "String", "Ask", "Locate", "Ai", "Sleep", "JavaScript",
    "Record", "AdbShell", "Launch", "Terminate", "SystemKey", "FlowStep", "POINTING",
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RefImage(_Strict):
    """A reference image sent to the model with a prompt (Midscene's ``images:``)."""

    name: str = Field(min_length=1, description="what the prompt calls the image")
    url: str = Field(min_length=1, description="a file path (from the working directory), "
                     "a data: URL, or an http(s) URL")


class LocateParam(_Strict):
    """What to act on: the words (and images) a grounder looks for, and how to look."""

    prompt: str = Field(min_length=1, description="what to act on, in plain words")
    images: list[RefImage] = Field(default_factory=list)
    context: str | None = Field(None, description="more words for the model only")
    xpath: str | None = Field(None, description="web: tried before the cache and the model")
    cacheable: bool = True

    @property
    def key(self) -> str:
        """The cache's key: the words, and the images when there are any."""
        if not self.images:
            return self.prompt
        return f"{self.prompt} [images: {', '.join(image.url[:200] for image in self.images)}]"

    @property
    def for_model(self) -> str:
        return f"{self.prompt}\n{self.context}" if self.context else self.prompt


class StepBase(_Strict):
    """What every step knows about itself besides its options."""

    line: int = Field(0, description="the step's line in the script (set by the loader)")

    def prompt_text(self) -> str:
        return ""


class _Pointing(StepBase):
    locate: LocateParam

    def prompt_text(self) -> str:
        return self.locate.prompt


class Tap(_Pointing):
    kind: Literal["aiTap"] = "aiTap"
    fileChooserAccept: list[str] | None = Field(  # noqa: N815 - Midscene's key names
        None, description="web: the files given to a file chooser the tap opens")


class DoubleClick(_Pointing):
    kind: Literal["aiDoubleClick"] = "aiDoubleClick"


class RightClick(_Pointing):
    kind: Literal["aiRightClick"] = "aiRightClick"


class Hover(_Pointing):
    kind: Literal["aiHover"] = "aiHover"


class LongPress(_Pointing):
    kind: Literal["aiLongPress"] = "aiLongPress"
    duration: int | None = Field(None, ge=1, le=60_000, description="milliseconds")


class Input(StepBase):
    kind: Literal["aiInput"] = "aiInput"
    locate: LocateParam | None = Field(None, description="None: type where the focus is")
    value: str = Field(description="the text to type")
    mode: Literal["replace", "clear", "typeOnly"] = Field(
        "replace", description="Midscene's: replace what the field holds, only clear it, or "
        "type at the caret (a terminal, where select-all is a control character)")

    def prompt_text(self) -> str:
        return self.locate.prompt if self.locate else ""


class ClearInput(StepBase):
    kind: Literal["aiClearInput"] = "aiClearInput"
    locate: LocateParam | None = None

    def prompt_text(self) -> str:
        return self.locate.prompt if self.locate else ""


class KeyboardPress(StepBase):
    kind: Literal["aiKeyboardPress"] = "aiKeyboardPress"
    keyName: str = Field(min_length=1, description="a key such as Enter, or a chord Control+A")  # noqa: N815
    locate: LocateParam | None = Field(None, description="clicked before the key is pressed")

    def prompt_text(self) -> str:
        return self.keyName


class Scroll(StepBase):
    kind: Literal["aiScroll"] = "aiScroll"
    locate: LocateParam | None = None
    direction: Literal["up", "down", "left", "right"] = "down"
    scrollType: Literal["singleAction", "scrollToBottom", "scrollToTop", "scrollToRight",  # noqa: N815
                        "scrollToLeft"] = Field(
        "singleAction", description="Midscene's legacy names (once, untilBottom, ...) are "
        "read as these")
    distance: int | None = Field(None, ge=1, le=100_000, description="pixels; default: most of a screen")

    def prompt_text(self) -> str:
        return self.locate.prompt if self.locate else ""


class DragAndDrop(StepBase):
    kind: Literal["aiDragAndDrop"] = "aiDragAndDrop"
    from_: LocateParam = Field(alias="from")
    to: LocateParam

    def prompt_text(self) -> str:
        return f"{self.from_.prompt} -> {self.to.prompt}"


class _Asking(StepBase):
    prompt: str = Field(min_length=1)
    images: list[RefImage] = Field(default_factory=list)
    context: str | None = None
    name: str | None = Field(None, description="the key of the result in outputs.json")

    def prompt_text(self) -> str:
        return self.prompt

    @property
    def for_model(self) -> str:
        return f"{self.prompt}\n{self.context}" if self.context else self.prompt


class WaitFor(_Asking):
    kind: Literal["aiWaitFor"] = "aiWaitFor"
    timeout: int = Field(30_000, ge=0, le=3_600_000, description="milliseconds (Midscene's default)")
    checkIntervalMs: int = Field(3000, ge=100, le=600_000)  # noqa: N815


class Assert(_Asking):
    kind: Literal["aiAssert"] = "aiAssert"
    errorMessage: str | None = None  # noqa: N815


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


class Ask(_Asking):
    kind: Literal["aiAsk"] = "aiAsk"


class Locate(StepBase):
    kind: Literal["aiLocate"] = "aiLocate"
    locate: LocateParam
    name: str | None = None

    def prompt_text(self) -> str:
        return self.locate.prompt


class Ai(_Asking):
    kind: Literal["ai"] = "ai"
    maxSteps: int | None = Field(None, ge=1, le=100, description="the sub-goal's step budget "  # noqa: N815
                          "(agent.replanningCycleLimit, Midscene's 20 by default)")


class Sleep(StepBase):
    kind: Literal["sleep"] = "sleep"
    ms: int = Field(ge=0, le=3_600_000)

    def prompt_text(self) -> str:
        return f"{self.ms} ms"


class JavaScript(StepBase):
    """Code the script's author wrote, run in the page (never the model's text)."""

    kind: Literal["javascript"] = "javascript"
    code: str = Field(min_length=1)
    name: str | None = None

    def prompt_text(self) -> str:
        return " ".join(self.code.split())[:80]


class Record(StepBase):
    """``logScreenshot`` / ``recordToReport``: the screen, titled, into the report."""

    kind: Literal["recordToReport"] = "recordToReport"
    title: str = "untitled"
    content: str = ""

    def prompt_text(self) -> str:
        return self.title


class AdbShell(StepBase):
    kind: Literal["runAdbShell"] = "runAdbShell"
    command: str = Field(min_length=1, description="run on the device as `adb shell` would")
    name: str | None = None
    timeout: int = Field(60_000, ge=1, le=3_600_000, description="milliseconds")

    def prompt_text(self) -> str:
        return self.command


class Launch(StepBase):
    kind: Literal["launch"] = "launch"
    uri: str = Field(min_length=1, description="android: a URL (a VIEW intent), package, "
                     "package/activity or app label; web: a URL")

    def prompt_text(self) -> str:
        return self.uri


class Terminate(StepBase):
    kind: Literal["terminate"] = "terminate"
    uri: str = Field(min_length=1, description="the package to force-stop")

    def prompt_text(self) -> str:
        return self.uri


class SystemKey(StepBase):
    """Midscene's ``AndroidBackButton`` / ``AndroidHomeButton`` actions."""

    kind: Literal["AndroidBackButton", "AndroidHomeButton"]


FlowStep = (Tap | DoubleClick | RightClick | Hover | LongPress | Input | ClearInput
            | KeyboardPress | Scroll | DragAndDrop | WaitFor | Assert | Query | Boolean | Number
            | String | Ask | Locate | Ai | Sleep | JavaScript | Record | AdbShell | Launch
            | Terminate | SystemKey)

POINTING = (Tap, DoubleClick, RightClick, Hover, LongPress)
