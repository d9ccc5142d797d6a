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


ROUND_TRIPS = [
    Click(at=Point(x=960, y=540)), Click(at=Point(x=10, y=10), count=2), Click(),
    Click(at=Point(x=5, y=5), count=3), Click(at=Point(x=5, y=5), button="right"),
    Click(button="middle"), MoveTo(at=Point(x=100, y=100)),
    Drag(end=Point(x=50, y=60)), Drag(start=Point(x=1, y=2), end=Point(x=300, y=400)),
    Scroll(dy=300), Scroll(dy=-500, at=Point(x=7, y=8)),
    TypeText(text="x"), KeyPress(keys=["ctrl", "a"]), Wait(seconds=1.5),
    Terminate(status="success"), Terminate(status="failure"), Answer(text="a"),
]
MOBILE_TRIPS = [
    LongPress(at=Point(x=1, y=2), seconds=1.5), Swipe(start=Point(x=500, y=900), end=Point(x=500, y=100)),
    SystemButton(button="back"), SystemButton(button="home"), SystemButton(button="enter"),
    OpenApp(name="Clock"), KeyPress(keys=["enter"]), Click(at=Point(x=3, y=4)),
    TypeText(text="y"), Wait(seconds=3), Terminate(status="failure"), Answer(text="b"),
]


def _same_but_points(back, action):
    points = {}
    for name in ("at", "start", "end"):
        a, b = getattr(action, name, None), getattr(back, name, None)
        assert (a is None) == (b is None), name
        if a is not None:
            assert abs(a.x - b.x) <= SX and abs(a.y - b.y) <= SY
            points[name] = a
    assert back.model_copy(update=points) == action


@pytest.mark.parametrize("action", ROUND_TRIPS)
def test_every_computer_use_action_comes_back_whole(action):
    _same_but_points(to_action(from_action(action, FRAME, "computer_use"), FRAME), action)


@pytest.mark.parametrize("action", MOBILE_TRIPS)
def test_every_mobile_use_action_comes_back_whole(action):
    _same_but_points(to_action(from_action(action, FRAME, "mobile_use"), FRAME), action)


def test_from_action_writes_what_the_cookbook_writes():
    assert from_action(Click(at=Point(x=1919.9, y=1079.9)), FRAME, "computer_use").arguments == \
        {"action": "left_click", "coordinate": [1315, 727]}  # the last pixel, never the frame's edge
    assert from_action(Click(at=Point(x=0, y=0), count=2), FRAME, "mobile_use").arguments == \
        {"action": "click", "coordinate": [0, 0]}
    assert from_action(Scroll(dy=300, at=Point(x=0, y=0)), FRAME, "computer_use").arguments == \
        {"action": "scroll", "pixels": -3, "coordinate": [0, 0]}
    assert from_action(KeyPress(keys=["ctrl", "c"]), FRAME, "mobile_use").arguments == \
        {"action": "key", "text": "ctrl"}
    assert from_action(SystemButton(button="back"), FRAME, "mobile_use").arguments == \
        {"action": "system_button", "button": "Back"}
    assert from_action(Drag(start=Point(x=0, y=0), end=Point(x=0, y=0)), FRAME, "computer_use").arguments == \
        {"action": "left_click_drag", "coordinate": [0, 0], "start_coordinate": [0, 0]}
    assert from_action(Wait(seconds=2.5), FRAME, "computer_use").name == "computer_use"


def test_a_drag_from_a_given_start_starts_there():
    drag = to_action(call(action="left_click_drag", start_coordinate=[10, 20], coordinate=[30, 40]), FRAME)
    assert drag == Drag(start=pt(10, 20), end=pt(30, 40))
    with pytest.raises(ActionRejectedError, match=r"^left_click_drag: 'start_coordinate' \[2000, 1\] is outside"):
        to_action(call(action="left_click_drag", start_coordinate=[2000, 1], coordinate=[30, 40]), FRAME)


def test_wait_without_a_time_waits_osworlds_default():
    assert to_action(call(action="wait"), FRAME) == Wait(seconds=2.0)


# Each message starts with the action the model wrote, so it knows which call was wrong.
@pytest.mark.parametrize("arguments,told", [
    ({"action": "left_click", "coordinate": "here"}, "left_click: 'coordinate' must be [x, y] with two numbers, got 'here'"),
    ({"action": "mouse_move"}, "mouse_move needs 'coordinate': [x, y] in pixels of the screenshot"),
    ({"action": "left_click_drag", "coordinate": [1, 1], "start_coordinate": [1]}, "left_click_drag: 'start_coordinate' must be"),
    ({"action": "left_click_drag"}, "left_click_drag needs 'coordinate'"),
    ({"action": "long_press", "coordinate": [1, 1]}, "long_press needs 'time' as a number, got None"),
    ({"action": "long_press", "time": 1}, "long_press needs 'coordinate'"),
    ({"action": "swipe", "coordinate2": [1, 1]}, "swipe needs 'coordinate'"),
    ({"action": "swipe", "coordinate": [1, 1], "coordinate2": [1]}, "swipe: 'coordinate2' must be"),
    ({"action": "scroll"}, "scroll needs 'pixels' as a number, got None"),
    ({"action": "scroll", "pixels": 1, "coordinate": [1]}, "scroll: 'coordinate' must be"),
    ({"action": "type", "text": 5}, "type needs 'text' as a string, got 5"),
    ({"action": "system_button"}, "system_button needs 'button' as a string, got None"),
    ({"action": "open"}, "open needs 'text' as a string"),
    ({"action": "wait", "time": "soon"}, "wait needs 'time' as a number, got 'soon'"),
    ({"action": "terminate"}, "terminate needs 'status' as a string"),
    ({"action": "answer"}, "answer needs 'text' as a string"),
    ({"action": "fly"}, "unknown action 'fly'; use one of: answer, click, double_click, key, left_click, "
                        "left_click_drag, long_press, middle_click, mouse_move, open, right_click, "
                        "scroll, swipe, system_button, terminate, triple_click, type, wait"),
    ({"action": "click", "coordinate": [1316, 7]}, "click: 'coordinate' [1316, 7] is outside the screen, "
                                                    "which is 1316x728; x must be in [0, 1316) and y in [0, 728)"),
    ({"action": "wait", "time": 3600}, "wait: seconds: Input should be less than or equal to 60"),
    ({"action": "key", "keys": ["ctrl", ""]}, "key needs 'keys' as a list of key names"),
    ({"action": "key", "keys": "ctrl+hyperspace"}, "key: unknown key 'hyperspace'"),
])
def test_each_message_names_the_action_and_what_to_give(arguments, told):
    with pytest.raises(ModelBehaviorError) as caught:
        to_action(call(**arguments), FRAME)
    assert str(caught.value).startswith(told)


@pytest.mark.parametrize("keys,expected", [
    ("ctrl+c", ["ctrl", "c"]), (["ctrl+shift", "t"], ["ctrl", "shift", "t"]), ("+", ["+"]),
    ("enter", ["enter"]), ("shift+X", ["shift", "X"]),
])
def test_keys_joined_with_plus_are_split_but_plus_itself_is_a_key(keys, expected):
    assert to_action(call(action="key", keys=keys), FRAME) == KeyPress(keys=expected)


def test_an_action_no_tool_can_write_is_a_type_error():
    class Odd:
        pass

    with pytest.raises(TypeError, match="no tool call for"):
        from_action(Odd(), FRAME, "computer_use")


def test_a_click_computer_use_has_no_name_for_is_a_left_click():
    right_double = Click(at=Point(x=5, y=5), button="right", count=2)
    assert from_action(right_double, FRAME, "computer_use").arguments["action"] == "left_click"
