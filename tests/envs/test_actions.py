import pytest
from pydantic import ValidationError

from qvl_agent.envs.actions import (
    Click, Drag, KeyPress, Point, Scroll, SystemButton, TypeText, Wait, parse_action,
)


def test_actions_round_trip_through_json_as_their_own_class():
    actions = [
        Click(at=Point(x=10, y=20), button="right"),
        Drag(end=Point(x=5, y=5)),
        Scroll(dy=-120, at=Point(x=1, y=1)),
        KeyPress(keys=["Ctrl", "c"]),
        SystemButton(button="Back"),
        TypeText(text="héllo wörld ✓"),
    ]
    for action in actions:
        back = parse_action(action.model_dump(mode="json"))
        assert type(back) is type(action)
        assert back == action


@pytest.mark.parametrize("bad", [
    lambda: Point(x=-1, y=0),
    lambda: Point(x=float("nan"), y=0),
    lambda: Click(at=Point(x=1, y=1), button="side"),
    lambda: Click(count=4),
    lambda: Wait(seconds=3600),
    lambda: Wait(seconds=-1),
    lambda: KeyPress(keys=["hyperspace"]),
    lambda: KeyPress(keys=[]),
    lambda: SystemButton(button="recents"),
    lambda: TypeText(text=""),
])
def test_invalid_actions_are_refused(bad):
    with pytest.raises(ValidationError):
        bad()


def test_key_names_are_normalized_to_one_spelling():
    assert KeyPress(keys=["Control", "RETURN", "PgDn", "cmd"]).keys == ("ctrl", "enter", "pagedown", "meta")
    assert KeyPress(keys="KEYCODE_VOLUME_UP").keys == ("volume_up",)


def test_unknown_fields_are_errors_not_silently_dropped():
    with pytest.raises(ValidationError):
        parse_action({"kind": "click", "at": {"x": 1, "y": 2}, "buton": "left"})
