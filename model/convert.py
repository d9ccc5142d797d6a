"""``to_action``: the one place where frame coordinates become screen coordinates.

A ``ToolCall`` (what the model said, frame pixels) becomes an ``Action`` (what an env does,
screen coordinates). Both tools' vocabularies are understood whichever tool name the model
used. A point outside the frame is rejected, never clamped: a clamped click lands somewhere
the model did not mean.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import ValidationError

from qvl_agent.envs.actions import (
    WHEEL_CLICK_PX, Action, Answer, Click, Drag, KeyPress, LongPress, MoveTo, OpenApp, Point, Scroll, Swipe,
    SystemButton, Terminate, TypeText, Wait,
)
from qvl_agent.envs.errors import ActionParseError, ActionRejectedError
from qvl_agent.model.frame import Frame
from qvl_agent.model.parsing import ToolCall

__all__ = ["to_action", "from_action", "ACTIONS", "DEFAULT_WAIT_S"]

DEFAULT_WAIT_S = 2.0  # OSWorld's DesktopEnv pauses 2 s on WAIT

_CLICKS = {
    "left_click": ("left", 1), "right_click": ("right", 1), "middle_click": ("middle", 1),
    "double_click": ("left", 2), "triple_click": ("left", 3), "click": ("left", 1),
}
ACTIONS = frozenset(_CLICKS) | {
    "key", "type", "mouse_move", "left_click_drag", "scroll", "wait", "terminate",
    "long_press", "swipe", "system_button", "open", "answer",
}


def to_action(call: ToolCall, frame: Frame) -> Action:
    """The Action a tool call asks for, in screen coordinates.

    Raises:
        ActionParseError: unknown action, or a required argument missing or of the wrong type.
        ActionRejectedError: a point outside the frame, an unknown key, a value out of range.
    """
    args = call.arguments
    action = call.action
    try:
        return _build(action, args, frame)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise ActionRejectedError(f"{action}: {where}: {problem['msg']}") from None


def _build(action: str, args: dict[str, Any], frame: Frame) -> Action:
    if action in _CLICKS:
        button, count = _CLICKS[action]
        # computer_use clicks take no coordinate per the schema (they click where the
        # pointer is), but the model often gives one: then it means "click there".
        required = action == "click"
        at = _point(action, args, "coordinate", frame) if required or "coordinate" in args else None
        return Click(at=at, button=button, count=count)
    match action:
        case "mouse_move":
            return MoveTo(at=_point(action, args, "coordinate", frame))
        case "left_click_drag":
            start = _point(action, args, "start_coordinate", frame) if "start_coordinate" in args else None
            return Drag(start=start, end=_point(action, args, "coordinate", frame))
        case "long_press":
            return LongPress(at=_point(action, args, "coordinate", frame),
                             seconds=_number(action, args, "time"))
        case "swipe":
            return Swipe(start=_point(action, args, "coordinate", frame),
                         end=_point(action, args, "coordinate2", frame))
        case "scroll":
            pixels = _number(action, args, "pixels")
            at = _point(action, args, "coordinate", frame) if "coordinate" in args else None
            # Qwen: positive pixels scroll up. Scroll.dy: positive scrolls down (wheel deltaY).
            # Qwen's "pixels" are wheel clicks (OSWorld passes them to pyautogui.scroll), so
            # they are not scaled with the frame: see envs.actions.WHEEL_CLICK_PX.
            return Scroll(dy=-pixels * WHEEL_CLICK_PX, at=at)
        case "type":
            return TypeText(text=_string(action, args, "text"))
        case "key":
            return KeyPress(keys=_keys(args))
        case "system_button":
            return SystemButton(button=_string(action, args, "button"))
        case "open":
            return OpenApp(name=_string(action, args, "text"))
        case "wait":
            # OSWorld waits its default pause when no time is given; so do we.
            seconds = _number(action, args, "time") if "time" in args else DEFAULT_WAIT_S
            return Wait(seconds=seconds)
        case "terminate":
            status = _string(action, args, "status")
            if status not in ("success", "failure"):
                raise ActionParseError(f"terminate: 'status' must be \"success\" or \"failure\", got {status!r}")
            return Terminate(status=status)
        case "answer":
            return Answer(text=_string(action, args, "text"))
    known = ", ".join(sorted(ACTIONS))
    raise ActionParseError(f"unknown action {action!r}; use one of: {known}")


def _point(action: str, args: dict[str, Any], key: str, frame: Frame) -> Point:
    if key not in args:
        raise ActionParseError(f"{action} needs '{key}': [x, y] in pixels of the screenshot")
    value = args[key]
    if (not isinstance(value, (list, tuple)) or len(value) != 2
            or not all(_is_number(v) for v in value)):
        raise ActionParseError(f"{action}: '{key}' must be [x, y] with two numbers, got {value!r:.80}")
    x, y = float(value[0]), float(value[1])
    if not frame.contains(x, y):
        raise ActionRejectedError(
            f"{action}: '{key}' [{value[0]}, {value[1]}] is outside the screen, which is "
            f"{frame.width}x{frame.height}; x must be in [0, {frame.width}) and y in [0, {frame.height})"
        )
    return frame.to_screen(x, y)


def _number(action: str, args: dict[str, Any], key: str) -> float:
    value = args.get(key)
    if not _is_number(value):
        raise ActionParseError(f"{action} needs '{key}' as a number, got {value!r:.80}")
    return float(value)


def _string(action: str, args: dict[str, Any], key: str) -> str:
    value = args.get(key)
    if not isinstance(value, str):
        raise ActionParseError(f"{action} needs '{key}' as a string, got {value!r:.80}")
    return value


def _keys(args: dict[str, Any]) -> list[str]:
    value = args.get("keys", args.get("text"))
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(k, str) and k for k in value):
        raise ActionParseError(
            f"key needs 'keys' as a list of key names (computer_use) or 'text' as one key "
            f"name (mobile_use), got {value!r:.80}"
        )
    keys: list[str] = []
    for key in value:
        # "ctrl+c" in one string is a common slip for ["ctrl", "c"].
        keys.extend(key.split("+") if "+" in key.strip("+") else [key])
    try:
        return [k for k in KeyPress(keys=keys).keys]
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ActionRejectedError(f"key: {message}") from None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def from_action(action: Action, frame: Frame, tool: str) -> ToolCall:
    """The tool call that would produce ``action``: for oracles' trajectories and test servers."""
    def coord(p: Point) -> list[int]:
        x, y = frame.to_frame(p)
        return [min(round(x), frame.width - 1), min(round(y), frame.height - 1)]

    mobile = tool == "mobile_use"
    args: dict[str, Any]
    match action:
        case Click(at=at, button=button, count=count):
            name = "click" if mobile else {("left", 1): "left_click", ("left", 2): "double_click",
                                           ("left", 3): "triple_click", ("right", 1): "right_click",
                                           ("middle", 1): "middle_click"}.get((button, count), "left_click")
            args = {"action": name} | ({"coordinate": coord(at)} if at else {})
        case LongPress(at=at, seconds=seconds):
            args = {"action": "long_press", "coordinate": coord(at), "time": seconds}
        case MoveTo(at=at):
            args = {"action": "mouse_move", "coordinate": coord(at)}
        case Drag(start=start, end=end):
            args = {"action": "left_click_drag", "coordinate": coord(end)}
            if start is not None:
                args["start_coordinate"] = coord(start)
        case Swipe(start=start, end=end):
            args = {"action": "swipe", "coordinate": coord(start), "coordinate2": coord(end)}
        case Scroll(dy=dy, at=at):
            args = {"action": "scroll", "pixels": -round(dy / WHEEL_CLICK_PX)}
            if at is not None:
                args["coordinate"] = coord(at)
        case TypeText(text=text):
            args = {"action": "type", "text": text}
        case KeyPress(keys=keys):
            args = {"action": "key", "text": keys[0]} if mobile else {"action": "key", "keys": list(keys)}
        case SystemButton(button=button):
            args = {"action": "system_button", "button": button.capitalize()}
        case OpenApp(name=name):
            args = {"action": "open", "text": name}
        case Wait(seconds=seconds):
            args = {"action": "wait", "time": seconds}
        case Terminate(status=status):
            args = {"action": "terminate", "status": status}
        case Answer(text=text):
            args = {"action": "answer", "text": text}
        case _:
            raise TypeError(f"no tool call for {action!r}")
    return ToolCall(name=tool, arguments=args)
