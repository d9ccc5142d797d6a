"""Reading a step's target and options in every form Midscene accepts.

A target is text, a ``{prompt, images, convertHttpImage2Base64}`` object (Midscene's
TUserPrompt), or ``locate:`` beside the action key or nested under it (``aiTap: {locate:
{...}}``); locate options (``xpath``, ``cacheable``, ``context``, ``deepLocate``, ...) may sit
in the object or beside the step. ``StepReader.options`` sorts every option: honoured,
noted as ignored with the reason (``IGNORED``), or a problem with a "did you mean".
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qvl_agent.agent.rpa.findings import Findings
from qvl_agent.agent.rpa.yamldoc import shorten

__all__ = ["StepReader", "IGNORED", "LOCATE_KEYS", "prompt_of", "images_of", "target_of", "located"]

_DEEP = "Midscene's two-pass locate; Qwen2.5-VL locates in one pass on the whole screenshot"
# Options Midscene documents that change nothing here, and why (said once per run).
IGNORED = {
    "deepLocate": _DEEP,
    "deepThink": _DEEP,
    "planningStrategy": "an option of Midscene's older planner",
    "effort": "an option of Midscene's planner",
    "aiActionProgressTips": "tips shown in Midscene's own UI",
    "fileChooserAllowedDir": "an option of Midscene's planner",
    "domIncluded": "questions are answered from the screenshot alone",
    "screenshotIncluded": "questions are always answered from the screenshot",
    "keepRawResponse": "the model's raw answer is always in the report",
    "autoDismissKeyboard": "the keyboard is left as typing leaves it",
    "keyboardTypeDelay": "text is typed at the device's own pace",
    "uiContext": "a context object of Midscene's API",
    "convertHttpImage2Base64": None,  # honoured: http(s) images are always downloaded here
}
LOCATE_KEYS = {"prompt", "images", "convertHttpImage2Base64", "context", "xpath", "cacheable",
               "deepLocate", "deepThink", "uiContext"}


@dataclass
class StepReader:
    """One flow item being read: its raw mapping, where it is, and what it said."""

    raw: dict[str, Any]
    key: str
    at: tuple[Any, ...]
    found: Findings
    web: bool
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> Any:
        return self.raw[self.key]

    def rest(self) -> dict[str, Any]:
        return {k: v for k, v in self.raw.items() if k != self.key}

    def options(self, given: dict[str, Any], allowed: set[str], where: tuple[Any, ...],
                honour: Callable[[str, Any], None]) -> None:
        """Check ``given`` option by option: honour, note as ignored, or report unknown."""
        for name, value in given.items():
            if name in IGNORED and IGNORED[name] is None:
                continue
            if name in allowed and name not in IGNORED:
                honour(name, value)
            elif name in allowed or name in IGNORED:
                if value not in (None, False):
                    self.found.ignore((*where, name), f"{name} on {self.key}", IGNORED[name] or "")
            else:
                close = difflib.get_close_matches(name, sorted(allowed | set(IGNORED)), n=1, cutoff=0.7)
                hint = f"; did you mean {close[0]}?" if close else ""
                self.found.problem((*where, name), f"{shorten(name)} is not an option of {self.key}{hint}")


def prompt_of(step: StepReader, value: Any, where: tuple[Any, ...]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A TUserPrompt (text, or {prompt, images, convertHttpImage2Base64}) as fields, plus
    whatever else the object held (options, for the caller to check)."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
        return {"prompt": str(value)}, {}
    if isinstance(value, dict) and "prompt" in value:
        rest = dict(value)
        inner = rest.pop("prompt")
        if isinstance(inner, dict):  # {prompt: {prompt, images}}: Midscene unwraps it
            more = prompt_of(step, inner, (*where, "prompt"))
            if more is None:
                return None
            fields, extra = more
            return fields, {**extra, **rest}
        if not isinstance(inner, (str, int, float)) or not str(inner).strip():
            step.found.problem((*where, "prompt"), "the prompt must be text")
            return None
        fields: dict[str, Any] = {"prompt": str(inner)}
        if "images" in rest:
            fields["images"] = images_of(step, rest.pop("images"), (*where, "images"))
        return fields, rest
    step.found.problem(where, "give the target as text, or as {prompt: ..., images: [...]}")
    return None


def images_of(step: StepReader, value: Any, where: tuple[Any, ...]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        step.found.problem(where, "images: is a list of {name: ..., url: ...}")
        return []
    for i, image in enumerate(value):
        unknown = set(image) - {"name", "url"}
        if unknown or not isinstance(image.get("url"), str) or not isinstance(image.get("name"), str):
            step.found.problem((*where, i), "each image is {name: <text>, url: <path or URL>}")
    return value


def target_of(step: StepReader, value: Any, where: tuple[Any, ...], options: dict[str, Any]) -> dict[str, Any] | None:
    """A LocateParam's fields from a prompt value (at ``where``), with the locate options the
    object holds and those given beside the step (``options``)."""
    read = prompt_of(step, value, where)
    if read is None:
        return None
    fields, extra = read

    def honour_at(at: tuple[Any, ...]) -> Callable[[str, Any], None]:
        def honour(name: str, option: Any) -> None:
            if name == "xpath" and not step.web:
                step.found.ignore((*at, name), f"xpath on {step.key}", "an XPath needs a web page")
            elif name == "images":
                fields["images"] = images_of(step, option, (*at, name))
            elif name != "prompt":
                fields[name] = option
        return honour
    step.options(extra, LOCATE_KEYS, where, honour_at(where))
    step.options(options, LOCATE_KEYS, step.at, honour_at(step.at))
    return fields


def located(step: StepReader) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The target of a pointing step in any of its forms, and the step's other options."""
    main, rest = step.main, step.rest()
    locate_options = {k: rest.pop(k) for k in list(rest) if k in LOCATE_KEYS and k != "prompt"}
    if "locate" in rest:
        if main not in (None, ""):
            step.found.problem(step.at + (step.key,), f"give the target once: either {step.key}: "
                               "or locate: beside it")
            return None, rest
        return target_of(step, rest.pop("locate"), (*step.at, "locate"), locate_options), rest
    if isinstance(main, dict) and "locate" in main:  # the older nested form
        inner = dict(main)
        target = inner.pop("locate")
        return target_of(step, target, (*step.at, step.key, "locate"), {**inner, **locate_options}), rest
    if main in (None, "") and "prompt" in rest:
        return target_of(step, rest.pop("prompt"), (*step.at, "prompt"), locate_options), rest
    if main in (None, ""):
        step.found.problem((*step.at, step.key), f"{step.key} needs a target: '{step.key}: the "
                           "Login button' or locate: beside it")
        return None, rest
    return target_of(step, main, (*step.at, step.key), locate_options), rest
