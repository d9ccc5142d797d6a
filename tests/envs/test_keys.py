import pytest

from qvl_agent.envs.keys import ANDROID_KEYCODES, normalize_key


@pytest.mark.parametrize("name,canonical", [
    ("ctrl", "ctrl"), ("Control", "ctrl"), ("cmd", "meta"), ("win", "meta"), ("super", "meta"),
    ("enter", "enter"), ("Return", "enter"), ("esc", "escape"), ("pagedown", "pagedown"),
    ("pgup", "pageup"), ("ArrowLeft", "left"), ("F5", "f5"), ("a", "a"), ("A", "A"), ("/", "/"),
    ("volume_up", "volume_up"), ("KEYCODE_HOME", "home"), ("KEYCODE_DEL", "backspace"),
    ("24", "volume_up"), ("3", "3"), ("space", "space"), ("del", "delete"),
])
def test_normalize_key(name, canonical):
    assert normalize_key(name) == canonical


@pytest.mark.parametrize("name", ["", "hyperspace", "ctrl+c", "KEYCODE_NOPE", "99999"])
def test_unknown_keys_raise_value_error(name):
    with pytest.raises(ValueError):
        normalize_key(name)


def test_android_codes_are_unique():
    codes = list(ANDROID_KEYCODES.values())
    assert len(codes) == len(set(codes))
