"""Reading one ``flow:`` item, in every form Midscene accepts, into a step model.

Midscene's player (``packages/core/src/yaml/player.ts``) takes a step's target from the
action key (``aiTap: the button``), from an object under it (``aiTap: {prompt, images}``,
or the older nested ``aiTap: {locate: {prompt}}``), or from ``locate:`` beside it (with
``aiTap:`` left empty); ``aiInput``, ``aiKeyboardPress`` and ``aiScroll`` also keep their
older forms (``aiInput: <value>`` + ``locate:``, ``aiKeyboardPress: <key>`` + ``locate:``,
``aiScroll: {direction, scrollType}``). Each form is read for what it means; none is
turned into text.

An option Midscene documents that qvl-agent cannot honour is accepted and noted as
ignored (``Findings.ignore``), said once per run; an option nobody documents is a problem
with its line, like a misspelt step.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from qvl_agent.agent.rpa import steps as s
from qvl_agent.agent.rpa.yamldoc import Document, shorten

__all__ = ["Findings", "read_step", "STEP_KEYS", "REFUSED_STEPS"]

_POINTING = {"aiTap": s.Tap, "aiDoubleClick": s.DoubleClick, "aiRightClick": s.RightClick,
             "aiHover": s.Hover, "aiLongPress": s.LongPress}
_ASKING = {"aiAssert": s.Assert, "aiQuery": s.Query, "aiBoolean": s.Boolean, "aiNumber": s.Number,
           "aiString": s.String, "aiAsk": s.Ask, "aiWaitFor": s.WaitFor}
_AI = ("ai", "aiAct", "aiAction")
_OTHER = ("aiInput", "aiClearInput", "aiKeyboardPress", "aiScroll", "aiDragAndDrop", "aiLocate",
          "sleep", "javascript", "logScreenshot", "recordToReport", "runAdbShell", "launch",
          "terminate", "AndroidBackButton", "AndroidHomeButton")
STEP_KEYS = (*_POINTING, *_ASKING, *_AI, *_OTHER)

REFUSED_STEPS = {
    "runGherkinScenario": "Gherkin scenarios (Midscene's beta) are not supported; write the "
                          "scenario's steps as ai: steps",
    "runWdaRequest": "it is an iOS WebDriverAgent request, and qvl-agent drives no iOS device",
    "runHdcShell": "it is a HarmonyOS command, and qvl-agent drives no HarmonyOS device",
    "aiPinch": "qvl-agent has no two-finger gesture",
}

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
_LOCATE_KEYS = {"prompt", "images", "convertHttpImage2Base64", "context", "xpath", "cacheable",
                "deepLocate", "deepThink", "uiContext"}
_ASK_KEYS = {"name", "context", "domIncluded", "screenshotIncluded", "keepRawResponse"}
_SCROLL_TYPES = {"once": "singleAction", "untilBottom": "scrollToBottom", "untilTop": "scrollToTop",
                 "untilLeft": "scrollToLeft", "untilRight": "scrollToRight"}


@dataclass
class Findings:
    """Problems (each one line with its file and line) and options noted as ignored."""

    path: str
    doc: Document
    problems: list[str] = field(default_factory=list)
    ignored: dict[str, list[int]] = field(default_factory=dict)

    def problem(self, at: tuple[Any, ...], message: str) -> None:
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{shorten(p, 40)[1:-1] if len(str(p)) > 40 else p}"
                      for p in at).lstrip(".") or "script"
        self.problems.append(f"{self.path}:{self.doc.line(at)}: {key}: {message}")

    def ignore(self, at: tuple[Any, ...], what: str, reason: str) -> None:
        self.ignored.setdefault(f"{what} ({reason})", []).append(self.doc.line(at))

    def notes(self) -> list[str]:
        """``ignored: ...`` lines, one per option and reason, with the lines it appears on."""
        out = []
        for what, lines in self.ignored.items():
            where = ", ".join(str(n) for n in sorted(set(lines)))
            out.append(f"ignored: {what}; {self.path} line{'s' if len(set(lines)) > 1 else ''} {where}")
        return out


@dataclass
class _Step:
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


def read_step(raw: Any, at: tuple[Any, ...], found: Findings, *, web: bool) -> s.FlowStep | None:
    """The step model for one flow item, or None after noting its problems in ``found``."""
    if not isinstance(raw, dict) or not raw:
        found.problem(at, "a step is a mapping such as 'aiTap: the Login button'")
        return None
    keys = [k for k in raw if k in STEP_KEYS or k in REFUSED_STEPS]
    if len(keys) != 1:
        if keys:
            found.problem(at, f"one action per step, found {', '.join(keys)}")
            return None
        first = next(iter(raw))
        close = difflib.get_close_matches(first, STEP_KEYS, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else "; see the README for the steps"
        found.problem((*at, first), f"unknown step {shorten(first)}{hint}")
        return None
    key = keys[0]
    if key in REFUSED_STEPS:
        found.problem((*at, key), f"{key} cannot run here: {REFUSED_STEPS[key]}")
        return None
    step = _Step(raw, key, at, found, web)
    before = len(found.problems)
    if key in _POINTING:
        model: type[BaseModel] = _POINTING[key]
        _pointing(step)
    elif key in _ASKING:
        model = _ASKING[key]
        _asking(step)
    elif key in _AI:
        model = s.Ai
        _ai(step)
    else:
        model, read = _READERS[key]
        read(step)
    if len(found.problems) > before:
        return None
    try:
        return model.model_validate({**step.fields, "line": found.doc.line((*at, key))})  # type: ignore[return-value]
    except ValidationError as exc:
        for problem in exc.errors():
            field_name = str(problem["loc"][0]) if problem["loc"] else key
            where = (*at, field_name if field_name in raw else key)
            if problem["type"] == "missing":
                found.problem(where, f"{key} needs {field_name.rstrip('_')}:")
            else:
                found.problem(where, problem["msg"])
        return None


# -- targets and prompts ----------------------------------------------------------------------

def _prompt(step: _Step, value: Any, where: tuple[Any, ...]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A TUserPrompt (text, or {prompt, images, convertHttpImage2Base64}) as fields, plus
    whatever else the object held (options, for the caller to check)."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool) and str(value).strip():
        return {"prompt": str(value)}, {}
    if isinstance(value, dict) and "prompt" in value:
        rest = dict(value)
        inner = rest.pop("prompt")
        if isinstance(inner, dict):  # {prompt: {prompt, images}}: Midscene unwraps it
            more = _prompt(step, inner, (*where, "prompt"))
            if more is None:
                return None
            fields, extra = more
            return fields, {**extra, **rest}
        if not isinstance(inner, (str, int, float)) or not str(inner).strip():
            step.found.problem((*where, "prompt"), "the prompt must be text")
            return None
        fields: dict[str, Any] = {"prompt": str(inner)}
        if "images" in rest:
            fields["images"] = _images(step, rest.pop("images"), (*where, "images"))
        return fields, rest
    step.found.problem(where, "give the target as text, or as {prompt: ..., images: [...]}")
    return None


def _images(step: _Step, value: Any, where: tuple[Any, ...]) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(i, dict) for i in value):
        step.found.problem(where, "images: is a list of {name: ..., url: ...}")
        return []
    for i, image in enumerate(value):
        unknown = set(image) - {"name", "url"}
        if unknown or not isinstance(image.get("url"), str) or not isinstance(image.get("name"), str):
            step.found.problem((*where, i), "each image is {name: <text>, url: <path or URL>}")
    return value


def _target(step: _Step, value: Any, where: tuple[Any, ...], options: dict[str, Any]) -> dict[str, Any] | None:
    """A LocateParam's fields from a prompt value (at ``where``), with the locate options the
    object holds and those given beside the step (``options``)."""
    read = _prompt(step, value, where)
    if read is None:
        return None
    fields, extra = read

    def honour_at(at: tuple[Any, ...]) -> Callable[[str, Any], None]:
        def honour(name: str, option: Any) -> None:
            if name == "xpath" and not step.web:
                step.found.ignore((*at, name), f"xpath on {step.key}", "an XPath needs a web page")
            elif name == "images":
                fields["images"] = _images(step, option, (*at, name))
            elif name != "prompt":
                fields[name] = option
        return honour
    step.options(extra, _LOCATE_KEYS, where, honour_at(where))
    step.options(options, _LOCATE_KEYS, step.at, honour_at(step.at))
    return fields


def _located(step: _Step, allowed_beside: set[str]) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    """The target of a pointing step in any of its forms, and the step's other options."""
    main, rest = step.main, step.rest()
    locate_options = {k: rest.pop(k) for k in list(rest) if k in _LOCATE_KEYS and k != "prompt"}
    if "locate" in rest:
        if main not in (None, ""):
            step.found.problem(step.at + (step.key,), f"give the target once: either {step.key}: "
                               "or locate: beside it")
            return None, rest
        return _target(step, rest.pop("locate"), (*step.at, "locate"), locate_options), rest
    if isinstance(main, dict) and "locate" in main:  # the older nested form
        inner = dict(main)
        target = inner.pop("locate")
        return _target(step, target, (*step.at, step.key, "locate"), {**inner, **locate_options}), rest
    if main in (None, "") and "prompt" in rest:
        return _target(step, rest.pop("prompt"), (*step.at, "prompt"), locate_options), rest
    if main in (None, ""):
        step.found.problem((*step.at, step.key), f"{step.key} needs a target: '{step.key}: the "
                           "Login button' or locate: beside it")
        return None, rest
    return _target(step, main, (*step.at, step.key), locate_options), rest


# -- the kinds ----------------------------------------------------------------------------------

def _pointing(step: _Step) -> None:
    target, rest = _located(step, set())
    step.fields["locate"] = target
    allowed = {"fileChooserAccept"} if step.key == "aiTap" else {"duration"} if step.key == "aiLongPress" else set()

    def honour(name: str, value: Any) -> None:
        if name == "fileChooserAccept":
            if not step.web:
                step.found.ignore((*step.at, name), "fileChooserAccept", "only a web page has file choosers")
                return
            value = [value] if isinstance(value, str) else value
        step.fields[name] = value
    step.options(rest, allowed, step.at, honour)


def _asking(step: _Step) -> None:
    read = _prompt(step, step.main, (*step.at, step.key))
    if read is None:
        return
    fields, extra = read
    step.fields.update(fields)
    allowed = set(_ASK_KEYS)
    allowed |= {"errorMessage"} if step.key == "aiAssert" else set()
    allowed |= {"schema"} if step.key == "aiQuery" else set()
    allowed |= {"timeout", "timeoutMs", "checkIntervalMs"} if step.key == "aiWaitFor" else set()
    if step.key == "aiWaitFor":
        allowed.discard("name")

    def honour(name: str, value: Any) -> None:
        step.fields["timeout" if name == "timeoutMs" else name] = value
    step.options({**extra, **step.rest()}, allowed, step.at, honour)


def _ai(step: _Step) -> None:
    rest = step.rest()
    given = rest.pop("instruction", None)
    source = given if given not in (None, "") else step.main
    where = (*step.at, "instruction" if given not in (None, "") else step.key)
    read = _prompt(step, source, where)
    if read is None:
        return
    fields, extra = read
    step.fields.update(fields)

    def honour(name: str, value: Any) -> None:
        if name == "cacheable":
            if value:
                step.found.ignore((*step.at, name), f"cacheable on {step.key}",
                                  "located targets are cached, not ai plans")
        elif name == "fileChooserAccept":
            step.found.ignore((*step.at, name), f"fileChooserAccept on {step.key}",
                              "files are given to a file chooser by aiTap only")
        else:
            step.fields[name] = value
    step.options({**extra, **rest}, {"cacheable", "context", "maxSteps", "fileChooserAccept",
                                     "deepThink", "deepLocate"}, step.at, honour)


def _input(step: _Step) -> None:
    main, rest = step.main, step.rest()
    if "locate" in rest:  # the older form: aiInput: <value>, locate: <target>
        value = main if main not in (None, "") else rest.pop("value", None)
        rest.pop("value", None)
        locate_options = {k: rest.pop(k) for k in list(rest) if k in _LOCATE_KEYS and k != "prompt"}
        step.fields["locate"] = _target(step, rest.pop("locate"), (*step.at, "locate"), locate_options)
    else:
        value = rest.pop("value", None)
        locate_options = {k: rest.pop(k) for k in list(rest) if k in _LOCATE_KEYS and k != "prompt"}
        if main not in (None, ""):
            step.fields["locate"] = _target(step, main, (*step.at, step.key), locate_options)
        elif locate_options:
            step.options(locate_options, set(), step.at, lambda n, v: None)
    mode = rest.pop("mode", "replace")
    step.fields["mode"] = "typeOnly" if mode == "append" else mode
    if value is None and step.fields["mode"] == "clear":
        value = ""
    if value is not None:
        step.fields["value"] = value if isinstance(value, str) else str(value) if \
            isinstance(value, (int, float)) and not isinstance(value, bool) else value
    step.options(rest, set(), step.at, lambda n, v: None)


def _clear(step: _Step) -> None:
    main, rest = step.main, step.rest()
    if main not in (None, "") or "locate" in rest or "prompt" in rest:
        target, rest = _located(step, set())
        step.fields["locate"] = target
    step.options(rest, set(), step.at, lambda n, v: None)


def _keyboard(step: _Step) -> None:
    main, rest = step.main, step.rest()
    locate_options = {k: rest.pop(k) for k in list(rest) if k in _LOCATE_KEYS and k != "prompt"}
    if "locate" in rest:  # the older form: aiKeyboardPress: <key>, locate: <target>
        step.fields["keyName"] = rest.pop("keyName", None) or main
        step.fields["locate"] = _target(step, rest.pop("locate"), (*step.at, "locate"), locate_options)
    elif "keyName" in rest:
        step.fields["keyName"] = rest.pop("keyName")
        if main not in (None, ""):
            step.fields["locate"] = _target(step, main, (*step.at, step.key), locate_options)
    else:
        step.fields["keyName"] = main
        step.options(locate_options, set(), step.at, lambda n, v: None)
    if step.fields.get("keyName") is not None and not isinstance(step.fields["keyName"], str):
        step.fields["keyName"] = str(step.fields["keyName"])
    step.options(rest, set(), step.at, lambda n, v: None)


def _scroll(step: _Step) -> None:
    main, rest = step.main, step.rest()
    if isinstance(main, dict) and "prompt" not in main:  # the older aiScroll: {direction, ...}
        rest = {**main, **rest}
        main = None
    locate_options = {k: rest.pop(k) for k in list(rest) if k in _LOCATE_KEYS and k != "prompt"}
    target = rest.pop("locate", None)
    where = (*step.at, "locate")
    if target is None and main not in (None, ""):
        target, where = main, (*step.at, step.key)
    if target is not None:
        step.fields["locate"] = _target(step, target, where, locate_options)
    else:
        step.options(locate_options, set(), step.at, lambda n, v: None)

    def honour(name: str, value: Any) -> None:
        if name == "scrollType":
            value = _SCROLL_TYPES.get(value, value) if isinstance(value, str) else value
        if not (name == "distance" and value is None):  # null: let the player decide
            step.fields[name] = value
    step.options(rest, {"direction", "scrollType", "distance"}, step.at, honour)


def _drag(step: _Step) -> None:
    main, rest = step.main, step.rest()
    given = {**(main if isinstance(main, dict) else {}), **rest}
    for end in ("from", "to"):
        if end in given:
            step.fields[end] = _target(step, given.pop(end), (*step.at, end), {})
    step.options(given, set(), step.at, lambda n, v: None)


def _locate(step: _Step) -> None:
    rest = step.rest()
    name = rest.pop("name", None)
    locate_options = {k: rest.pop(k) for k in list(rest) if k in _LOCATE_KEYS and k != "prompt"}
    step.fields.update(locate=_target(step, step.main, (*step.at, step.key), locate_options), name=name)
    step.options(rest, set(), step.at, lambda n, v: None)


def _sleep(step: _Step) -> None:
    value = step.main
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())  # Midscene parses a numeric string
    step.fields["ms"] = value
    step.options(step.rest(), set(), step.at, lambda n, v: None)


def _javascript(step: _Step) -> None:
    code = step.main
    step.fields["code"] = str(code) if isinstance(code, (int, float)) and not isinstance(code, bool) else code
    step.options(step.rest(), {"name"}, step.at, lambda n, v: step.fields.__setitem__(n, v))


def _record(step: _Step) -> None:
    if step.main not in (None, ""):
        step.fields["title"] = str(step.main)
    step.options(step.rest(), {"content"}, step.at, lambda n, v: step.fields.__setitem__(n, v))


def _adb(step: _Step) -> None:
    main = step.main
    step.fields["command"] = main.get("command") if isinstance(main, dict) else main
    if isinstance(main, dict):
        step.options({k: v for k, v in main.items() if k != "command"}, set(), (*step.at, step.key),
                     lambda n, v: None)
    step.options(step.rest(), {"name", "timeout"}, step.at, lambda n, v: step.fields.__setitem__(n, v))


def _uri(step: _Step) -> None:
    step.fields["uri"] = step.main
    step.options(step.rest(), {"name"} if step.key == "launch" else set(), step.at, lambda n, v: None)


def _system(step: _Step) -> None:
    step.fields["kind"] = step.key
    step.options(step.rest(), set(), step.at, lambda n, v: None)


_READERS: dict[str, tuple[type[BaseModel], Callable[[_Step], None]]] = {
    "aiInput": (s.Input, _input), "aiClearInput": (s.ClearInput, _clear),
    "aiKeyboardPress": (s.KeyboardPress, _keyboard), "aiScroll": (s.Scroll, _scroll),
    "aiDragAndDrop": (s.DragAndDrop, _drag), "aiLocate": (s.Locate, _locate),
    "sleep": (s.Sleep, _sleep), "javascript": (s.JavaScript, _javascript),
    "logScreenshot": (s.Record, _record), "recordToReport": (s.Record, _record),
    "runAdbShell": (s.AdbShell, _adb), "launch": (s.Launch, _uri), "terminate": (s.Terminate, _uri),
    "AndroidBackButton": (s.SystemKey, _system), "AndroidHomeButton": (s.SystemKey, _system),
}
