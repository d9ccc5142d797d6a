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
from typing import Any

from pydantic import BaseModel, ValidationError

from qvl_agent.agent.rpa import steps as s
from qvl_agent.agent.rpa.findings import Findings
from qvl_agent.agent.rpa.targets import (
    LOCATE_KEYS, StepReader, located, prompt_of, target_of,
)
from qvl_agent.agent.rpa.yamldoc import shorten

__all__ = ["read_step", "STEP_KEYS", "REFUSED_STEPS"]

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

_ASK_KEYS = {"name", "context", "domIncluded", "screenshotIncluded", "keepRawResponse"}
_SCROLL_TYPES = {"once": "singleAction", "untilBottom": "scrollToBottom", "untilTop": "scrollToTop",
                 "untilLeft": "scrollToLeft", "untilRight": "scrollToRight"}


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
    step = StepReader(raw, key, at, found, web)
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


# -- the kinds ----------------------------------------------------------------------------------

def _pointing(step: StepReader) -> None:
    target, rest = located(step)
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


def _asking(step: StepReader) -> None:
    read = prompt_of(step, step.main, (*step.at, step.key))
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


def _ai(step: StepReader) -> None:
    rest = step.rest()
    given = rest.pop("instruction", None)
    source = given if given not in (None, "") else step.main
    where = (*step.at, "instruction" if given not in (None, "") else step.key)
    read = prompt_of(step, source, where)
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


def _input(step: StepReader) -> None:
    main, rest = step.main, step.rest()
    if "locate" in rest:  # the older form: aiInput: <value>, locate: <target>
        value = main if main not in (None, "") else rest.pop("value", None)
        rest.pop("value", None)
        locate_options = {k: rest.pop(k) for k in list(rest) if k in LOCATE_KEYS and k != "prompt"}
        step.fields["locate"] = target_of(step, rest.pop("locate"), (*step.at, "locate"), locate_options)
    else:
        value = rest.pop("value", None)
        locate_options = {k: rest.pop(k) for k in list(rest) if k in LOCATE_KEYS and k != "prompt"}
        if main not in (None, ""):
            step.fields["locate"] = target_of(step, main, (*step.at, step.key), locate_options)
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


def _clear(step: StepReader) -> None:
    main, rest = step.main, step.rest()
    if main not in (None, "") or "locate" in rest or "prompt" in rest:
        target, rest = located(step)
        step.fields["locate"] = target
    step.options(rest, set(), step.at, lambda n, v: None)


def _keyboard(step: StepReader) -> None:
    main, rest = step.main, step.rest()
    locate_options = {k: rest.pop(k) for k in list(rest) if k in LOCATE_KEYS and k != "prompt"}
    if "locate" in rest:  # the older form: aiKeyboardPress: <key>, locate: <target>
        step.fields["keyName"] = rest.pop("keyName", None) or main
        step.fields["locate"] = target_of(step, rest.pop("locate"), (*step.at, "locate"), locate_options)
    elif "keyName" in rest:
        step.fields["keyName"] = rest.pop("keyName")
        if main not in (None, ""):
            step.fields["locate"] = target_of(step, main, (*step.at, step.key), locate_options)
    else:
        step.fields["keyName"] = main
        step.options(locate_options, set(), step.at, lambda n, v: None)
    if step.fields.get("keyName") is not None and not isinstance(step.fields["keyName"], str):
        step.fields["keyName"] = str(step.fields["keyName"])
    step.options(rest, set(), step.at, lambda n, v: None)


def _scroll(step: StepReader) -> None:
    main, rest = step.main, step.rest()
    if isinstance(main, dict) and "prompt" not in main:  # the older aiScroll: {direction, ...}
        rest = {**main, **rest}
        main = None
    locate_options = {k: rest.pop(k) for k in list(rest) if k in LOCATE_KEYS and k != "prompt"}
    target = rest.pop("locate", None)
    where = (*step.at, "locate")
    if target is None and main not in (None, ""):
        target, where = main, (*step.at, step.key)
    if target is not None:
        step.fields["locate"] = target_of(step, target, where, locate_options)
    else:
        step.options(locate_options, set(), step.at, lambda n, v: None)

    def honour(name: str, value: Any) -> None:
        if name == "scrollType":
            value = _SCROLL_TYPES.get(value, value) if isinstance(value, str) else value
        if not (name == "distance" and value is None):  # null: let the player decide
            step.fields[name] = value
    step.options(rest, {"direction", "scrollType", "distance"}, step.at, honour)


def _drag(step: StepReader) -> None:
    main, rest = step.main, step.rest()
    given = {**(main if isinstance(main, dict) else {}), **rest}
    for end in ("from", "to"):
        if end in given:
            step.fields[end] = target_of(step, given.pop(end), (*step.at, end), {})
    step.options(given, set(), step.at, lambda n, v: None)


def _locate(step: StepReader) -> None:
    rest = step.rest()
    name = rest.pop("name", None)
    locate_options = {k: rest.pop(k) for k in list(rest) if k in LOCATE_KEYS and k != "prompt"}
    step.fields.update(locate=target_of(step, step.main, (*step.at, step.key), locate_options), name=name)
    step.options(rest, set(), step.at, lambda n, v: None)


def _sleep(step: StepReader) -> None:
    value = step.main
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())  # Midscene parses a numeric string
    step.fields["ms"] = value
    step.options(step.rest(), set(), step.at, lambda n, v: None)


def _javascript(step: StepReader) -> None:
    code = step.main
    step.fields["code"] = str(code) if isinstance(code, (int, float)) and not isinstance(code, bool) else code
    step.options(step.rest(), {"name"}, step.at, lambda n, v: step.fields.__setitem__(n, v))


def _record(step: StepReader) -> None:
    if step.main not in (None, ""):
        step.fields["title"] = str(step.main)
    step.options(step.rest(), {"content"}, step.at, lambda n, v: step.fields.__setitem__(n, v))


def _adb(step: StepReader) -> None:
    main = step.main
    step.fields["command"] = main.get("command") if isinstance(main, dict) else main
    if isinstance(main, dict):
        step.options({k: v for k, v in main.items() if k != "command"}, set(), (*step.at, step.key),
                     lambda n, v: None)
    step.options(step.rest(), {"name", "timeout"}, step.at, lambda n, v: step.fields.__setitem__(n, v))


def _uri(step: StepReader) -> None:
    step.fields["uri"] = step.main
    step.options(step.rest(), {"name"} if step.key == "launch" else set(), step.at, lambda n, v: None)


def _system(step: StepReader) -> None:
    step.fields["kind"] = step.key
    step.options(step.rest(), set(), step.at, lambda n, v: None)


_READERS: dict[str, tuple[type[BaseModel], Callable[[StepReader], None]]] = {
    "aiInput": (s.Input, _input), "aiClearInput": (s.ClearInput, _clear),
    "aiKeyboardPress": (s.KeyboardPress, _keyboard), "aiScroll": (s.Scroll, _scroll),
    "aiDragAndDrop": (s.DragAndDrop, _drag), "aiLocate": (s.Locate, _locate),
    "sleep": (s.Sleep, _sleep), "javascript": (s.JavaScript, _javascript),
    "logScreenshot": (s.Record, _record), "recordToReport": (s.Record, _record),
    "runAdbShell": (s.AdbShell, _adb), "launch": (s.Launch, _uri), "terminate": (s.Terminate, _uri),
    "AndroidBackButton": (s.SystemKey, _system), "AndroidHomeButton": (s.SystemKey, _system),
}
