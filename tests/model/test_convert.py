"""Tool calls (frame pixels) to Actions (screen coordinates), and back."""

import pytest

from qvl_agent.envs.actions import (
    Answer, Click, Drag, KeyPress, LongPress, MoveTo, OpenApp, Point, Scroll, Swipe, SystemButton,
    Terminate, TypeText, Wait,
)
from qvl_agent.envs.base import Size
from qvl_agent.envs.errors import ActionParseError, ActionRejectedError, ModelBehaviorError
from qvl_agent.model.convert import from_action, to_action
from qvl_agent.model.frame import Frame
from qvl_agent.model.parsing import ToolCall

# A 1920x1080 screen seen through OSWorld's cap: frame 1316x728.
FRAME = Frame.for_image((1920, 1080), Size(width=1920, height=1080), max_pixels=1003520)
SX, SY = 1920 / 1316, 1080 / 728


def call(tool="computer_use", **arguments):
    return ToolCall(name=tool, arguments=arguments)


def pt(x, y):
    return Point(x=x * 1920 / 1316, y=y * 1080 / 728)


@pytest.mark.parametrize("arguments,expected", [
    ({"action": "left_click", "coordinate": [658, 364]}, Click(at=pt(658, 364))),
    ({"action": "left_click"}, Click()),
    ({"action": "right_click", "coordinate": [10, 10]}, Click(at=pt(10, 10), button="right")),
    ({"action": "middle_click"}, Click(button="middle")),
    ({"action": "double_click", "coordinate": [1.5, 2.5]}, Click(at=pt(1.5, 2.5), count=2)),
    ({"action": "mouse_move", "coordinate": [100, 200]}, MoveTo(at=pt(100, 200))),
    ({"action": "left_click_drag", "coordinate": [300, 400]}, Drag(end=pt(300, 400))),
    # Qwen's pixels are wheel clicks (OSWorld's pyautogui.scroll), never scaled with the frame.
    ({"action": "scroll", "pixels": 3}, Scroll(dy=-300)),
    ({"action": "scroll", "pixels": -5, "coordinate": [1, 1]}, Scroll(dy=500, at=pt(1, 1))),
    ({"action": "type", "text": "hello\nworld"}, TypeText(text="hello\nworld")),
    ({"action": "key", "keys": ["ctrl", "shift", "t"]}, KeyPress(keys=["ctrl", "shift", "t"])),
    ({"action": "key", "keys": ["ctrl+c"]}, KeyPress(keys=["ctrl", "c"])),
    ({"action": "key", "keys": ["+"]}, KeyPress(keys=["+"])),
    ({"action": "wait", "time": 2}, Wait(seconds=2)),
    ({"action": "terminate", "status": "failure"}, Terminate(status="failure")),
])
def test_computer_use_calls(arguments, expected):
    assert to_action(call(**arguments), FRAME) == expected


@pytest.mark.parametrize("arguments,expected", [
    ({"action": "click", "coordinate": [935, 406]}, Click(at=pt(935, 406))),
    ({"action": "long_press", "coordinate": [5, 5], "time": 2}, LongPress(at=pt(5, 5), seconds=2)),
    ({"action": "swipe", "coordinate": [500, 600], "coordinate2": [500, 100]},
     Swipe(start=pt(500, 600), end=pt(500, 100))),
    ({"action": "key", "text": "volume_up"}, KeyPress(keys=["volume_up"])),
    ({"action": "system_button", "button": "Home"}, SystemButton(button="home")),
    ({"action": "open", "text": "Clock"}, OpenApp(name="Clock")),
    ({"action": "answer", "text": "42"}, Answer(text="42")),
])
def test_mobile_use_calls(arguments, expected):
    assert to_action(call("mobile_use", **arguments), FRAME) == expected


@pytest.mark.parametrize("arguments,error,match", [
    ({"action": "click", "coordinate": [1316, 10]}, ActionRejectedError, "outside the screen"),
    ({"action": "click", "coordinate": [-1, 10]}, ActionRejectedError, "outside the screen"),
    ({"action": "click", "coordinate": [10, 728]}, ActionRejectedError, r"\[0, 728\)"),
    ({"action": "click", "coordinate": [float("inf"), 2]}, ActionParseError, "two numbers"),
    ({"action": "click"}, ActionParseError, "needs 'coordinate'"),
    ({"action": "click", "coordinate": [1]}, ActionParseError, "two numbers"),
    ({"action": "click", "coordinate": ["1", "2"]}, ActionParseError, "two numbers"),
    ({"action": "click", "coordinate": [True, 2]}, ActionParseError, "two numbers"),
    ({"action": "fly", "coordinate": [1, 2]}, ActionParseError, "unknown action 'fly'"),
    ({"action": "key", "keys": ["hyperspace"]}, ActionRejectedError, "unknown key"),
    ({"action": "key", "keys": []}, ActionParseError, "list of key names"),
    ({"action": "wait", "time": 3600}, ActionRejectedError, "less than or equal to 60"),
    ({"action": "wait", "time": "soon"}, ActionParseError, "'time'"),
    ({"action": "terminate", "status": "done"}, ActionParseError, "success"),
    ({"action": "system_button", "button": "Recents"}, ActionRejectedError, "button"),
    ({"action": "type"}, ActionParseError, "'text'"),
    ({"action": "swipe", "coordinate": [1, 1]}, ActionParseError, "coordinate2"),
])
def test_bad_calls_are_model_behaviour_errors_never_clamped(arguments, error, match):
    with pytest.raises(error, match=match) as info:
        to_action(call(**arguments), FRAME)
    assert isinstance(info.value, ModelBehaviorError)


@pytest.mark.parametrize("action", [
    Click(at=Point(x=960, y=540)), Click(at=Point(x=10, y=10), count=2), Click(),
    LongPress(at=Point(x=1, y=2), seconds=1.5), MoveTo(at=Point(x=100, y=100)),
    Drag(end=Point(x=50, y=60)), Swipe(start=Point(x=500, y=900), end=Point(x=500, y=100)),
    TypeText(text="x"), KeyPress(keys=["ctrl", "a"]), SystemButton(button="back"),
    OpenApp(name="Clock"), Wait(seconds=1), Terminate(status="success"), Answer(text="a"),
])
def test_from_action_inverts_to_action_up_to_frame_rounding(action):
    tool = "mobile_use" if isinstance(action, (LongPress, Swipe, SystemButton, OpenApp, Answer)) else "computer_use"
    back = to_action(from_action(action, FRAME, tool), FRAME)
    assert type(back) is type(action)
    for name in ("at", "start", "end"):
        a, b = getattr(action, name, None), getattr(back, name, None)
        if a is not None:
            assert abs(a.x - b.x) <= SX and abs(a.y - b.y) <= SY
