"""Key names: the one vocabulary every env maps to its own.

Qwen2.5-VL names keys the way pyautogui and xdotool do on a desktop (``ctrl``, ``enter``,
``pagedown``, ``cmd``) and the way adb does on a phone (``volume_up``, ``KEYCODE_HOME``).
``normalize_key`` turns any of those spellings into one canonical lowercase name; each env
maps canonical names to what its driver wants and rejects the keys it does not have.
"""

from __future__ import annotations

__all__ = ["normalize_key", "MODIFIERS", "NAMED_KEYS", "ANDROID_KEYCODES", "is_character"]

MODIFIERS = frozenset({"ctrl", "alt", "shift", "meta"})

# Canonical keys a keyboard has (desktop and browser).
NAMED_KEYS = frozenset(
    {
        "enter", "escape", "tab", "space", "backspace", "delete", "insert",
        "up", "down", "left", "right", "home", "end", "pageup", "pagedown",
        "capslock", "numlock", "scrolllock", "printscreen", "pause", "contextmenu",
        *(f"f{i}" for i in range(1, 25)),
    }
    | MODIFIERS
)

# Android KeyEvent names without the KEYCODE_ prefix, lowercased, with their codes.
ANDROID_KEYCODES: dict[str, int] = {
    "home": 3, "back": 4, "call": 5, "endcall": 6,
    "star": 17, "pound": 18, "dpad_up": 19, "dpad_down": 20, "dpad_left": 21,
    "dpad_right": 22, "dpad_center": 23, "volume_up": 24, "volume_down": 25, "power": 26,
    "camera": 27, "clear": 28, "comma": 55, "period": 56, "alt_left": 57, "alt_right": 58,
    "shift_left": 59, "shift_right": 60, "tab": 61, "space": 62, "explorer": 64,
    "envelope": 65, "enter": 66, "del": 67, "grave": 68, "minus": 69, "equals": 70,
    "left_bracket": 71, "right_bracket": 72, "backslash": 73, "semicolon": 74,
    "apostrophe": 75, "slash": 76, "at": 77, "focus": 80, "plus": 81, "menu": 82,
    "notification": 83, "search": 84, "media_play_pause": 85, "media_stop": 86,
    "media_next": 87, "media_previous": 88, "media_rewind": 89, "media_fast_forward": 90,
    "mute": 91, "page_up": 92, "page_down": 93, "escape": 111, "forward_del": 112,
    "ctrl_left": 113, "ctrl_right": 114, "caps_lock": 115, "move_home": 122,
    "move_end": 123, "insert": 124, "forward": 125, "media_play": 126, "media_pause": 127,
    "volume_mute": 164, "info": 165, "channel_up": 166, "channel_down": 167,
    "zoom_in": 168, "zoom_out": 169, "settings": 176, "app_switch": 187,
    "brightness_down": 220, "brightness_up": 221, "sleep": 223, "wakeup": 224,
    "assist": 219, "voice_assist": 231, "cut": 277, "copy": 278, "paste": 279,
    "system_navigation_up": 280, "system_navigation_down": 281, "all_apps": 284,
    **{str(d): 7 + d for d in range(10)},
    **{chr(c): 29 + c - ord("a") for c in range(ord("a"), ord("z") + 1)},
    **{f"f{i}": 130 + i for i in range(1, 13)},
    "dpad_up_left": 268, "dpad_down_left": 269, "dpad_up_right": 270,
    "dpad_down_right": 271,
}

_ALIASES = {
    "control": "ctrl", "ctl": "ctrl", "lctrl": "ctrl", "rctrl": "ctrl", "ctrlleft": "ctrl",
    "ctrlright": "ctrl",
    "cmd": "meta", "command": "meta", "win": "meta", "windows": "meta", "super": "meta",
    "winleft": "meta", "winright": "meta", "os": "meta", "option": "alt", "altleft": "alt",
    "altright": "alt", "shiftleft": "shift", "shiftright": "shift",
    "return": "enter", "ret": "enter", "esc": "escape", "spacebar": "space",
    "bksp": "backspace", "back_space": "backspace", "del": "delete",
    "arrowup": "up", "arrowdown": "down", "arrowleft": "left", "arrowright": "right",
    "arrow_up": "up", "arrow_down": "down", "arrow_left": "left", "arrow_right": "right",
    "pgup": "pageup", "pgdn": "pagedown", "page_up": "pageup", "page_down": "pagedown",
    "prtsc": "printscreen", "prtscr": "printscreen", "print": "printscreen",
    "caps_lock": "capslock", "apps": "contextmenu",
}


def is_character(key: str) -> bool:
    """True for a single printable character such as ``a``, ``A`` or ``/``."""
    return len(key) == 1 and key.isprintable()


def normalize_key(name: str) -> str:
    """Return the canonical name of a key as Qwen, pyautogui, xdotool or adb spell it.

    Single characters keep their case (``A`` is shift+a on a keyboard). Raises ``ValueError``
    with the name for anything that is no key at all.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"key name must be a non-empty string, got {name!r}")
    if is_character(name):
        return name
    key = name.strip().lower()
    if key.startswith("keycode_"):
        key = key[len("keycode_"):]
        if key in ANDROID_KEYCODES:
            # adb's spelling wins: KEYCODE_DEL is backspace on a phone, not delete.
            return {"del": "backspace", "forward_del": "delete"}.get(key, key)
    if key.isdigit():
        return key if len(key) == 1 else _from_android_code(int(key), name)
    key = _ALIASES.get(key, key)
    if key in NAMED_KEYS or key in ANDROID_KEYCODES:
        return key
    if is_character(key):
        return key
    raise ValueError(f"unknown key {name!r}")


def _from_android_code(code: int, name: str) -> str:
    for key, value in ANDROID_KEYCODES.items():
        if value == code:
            return key
    raise ValueError(f"unknown key code {name!r}")
