"""``input``: taps, swipes, typed text and key events, parsed as Android 14's ``input`` does.

Coordinates are floats (``input tap 540.5 1200`` works on a phone); a swipe's duration is in
milliseconds. ``input text`` types printable ASCII only and turns ``%s`` into a space; any
other character makes the real tool fail with a NullPointerException before typing anything
(that is why agents install ADB Keyboard), and so does this one. Key names are taken with or
without ``KEYCODE_``, in any case, or as numbers.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from qvl_agent.envs.keys import ANDROID_KEYCODES
from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.tools.common import UsageError, ok

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["INPUT", "keycode", "KEY_ENTER", "KEY_TAB"]

KEY_ENTER, KEY_TAB = 66, 61
_SOURCES = {"keyboard", "mouse", "joystick", "touchnavigation", "touchpad", "trackball", "dpad",
            "stylus", "gamepad", "touchscreen", "rotaryencoder"}
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?[fFdD]?")
USAGE = """Usage: input [<source>] [-d DISPLAY_ID] <command> [<arg>...]

The sources are:
      dpad
      keyboard
      mouse
      touchpad
      gamepad
      touchnavigation
      joystick
      touchscreen
      stylus
      trackball

-d: specify the display ID.
      (Default: -1 for key event, 0 for motion event if not specified.)
The commands and default sources are:
      text <string> (Default: keyboard)
      keyevent [--longpress|--doubletap] <key code number or name> ... (Default: keyboard)
      tap <x> <y> (Default: touchscreen)
      swipe <x1> <y1> <x2> <y2> [duration(ms)] (Default: touchscreen)
      draganddrop <x1> <y1> <x2> <y2> [duration(ms)] (Default: touchscreen)
      press (Default: trackball)
      roll <dx> <dy> (Default: trackball)
      motionevent <DOWN|UP|MOVE|CANCEL> <x> <y> (Default: touchscreen)
      keycombination [-t duration(ms)] <key code 1> <key code 2> ... (Default: keyboard, the key order is important here.)
"""


def _exception(command: str, exception: str) -> UsageError:
    """How the real tool reports a Java exception: a header, the exception, exit 255."""
    return UsageError(f"Exception occurred while executing '{command}':\n{exception}", 255)


def _invalid(command: str) -> UsageError:
    return UsageError(f"Error: Invalid arguments for command: {command}\n{USAGE}", 1)


def _coordinate(text: str, command: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise _exception(command, f'java.lang.NumberFormatException: For input string: "{text}"')
    return float(text.rstrip("fFdD"))


def _points(phone: Phone, args: list[str], command: str) -> list[float]:
    """Coordinates in the display's pixels, returned in the phone's full-size pixels."""
    values = [_coordinate(arg, command) for arg in args]
    width, height = phone.display
    for x, y in zip(values[::2], values[1::2]):
        if not (0 <= x < width and 0 <= y < height):
            raise UsageError(f"Error: ({x:g}, {y:g}) is outside the display, which is "
                             f"{width}x{height}", 1)
    return [value * phone.scale for value in values]


def _duration(text: str, command: str) -> int:
    if not _NUMBER.fullmatch(text):
        raise _exception(command, f'java.lang.NumberFormatException: For input string: "{text}"')
    return int(float(text.rstrip("fFdD")))


def keycode(name: str) -> int | None:
    """The key code ``name`` means (``KEYCODE_HOME``, ``home``, ``3``), None if no key."""
    if name.isdigit():
        return int(name)
    key = name.lower().removeprefix("keycode_")
    return ANDROID_KEYCODES.get(key)


def _keys(names: list[str], command: str) -> list[int]:
    codes = []
    for name in names:
        code = keycode(name)
        if code is None:
            raise _exception(command, f"java.lang.IllegalArgumentException: Unknown keycode: "
                                      f"{name}")
        codes.append(code)
    return codes


def _text(phone: Phone, args: list[str]) -> None:
    if not args:
        raise _invalid("text")
    text = args[0].replace("%s", " ")
    if any(not (" " <= char <= "~" or char in "\n\t") for char in text):
        # KeyCharacterMap has no key events for it, and the tool does not check for null.
        raise _exception("text", "java.lang.NullPointerException: Attempt to get length of "
                                 "null array")
    for char in text:
        if char == "\n":
            phone.key(KEY_ENTER)
        elif char == "\t":
            phone.key(KEY_TAB)
        else:
            phone.type_text(char)


def _keyevent(phone: Phone, args: list[str]) -> None:
    while args and args[0] in ("--longpress", "--doubletap", "--delay"):
        args = args[2:] if args[0] == "--delay" else args[1:]
    if not args:
        raise _invalid("keyevent")
    for code in _keys(args, "keyevent"):
        phone.key(code)


def _motion(phone: Phone, args: list[str]) -> None:
    """``motionevent DOWN x y`` ... ``UP x y``: the gesture is played when the finger lifts."""
    if len(args) != 3 or args[0].upper() not in ("DOWN", "UP", "MOVE", "CANCEL"):
        raise _invalid("motionevent")
    x, y = _points(phone, args[1:], "motionevent")
    phone.touch(args[0].upper(), x, y)


def input_(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    """``input [SOURCE] [-d DISPLAY] COMMAND ARGS``."""
    if args and args[0] in _SOURCES:
        args = args[1:]
    if len(args) >= 2 and args[0] == "-d":
        if not re.fullmatch(r"-?\d+", args[1]):
            raise _exception(args[2] if len(args) > 2 else "input",
                             f'java.lang.NumberFormatException: For input string: "{args[1]}"')
        args = args[2:]
    if not args:
        raise UsageError(USAGE, 1)
    command, rest = args[0], args[1:]
    if command in ("tap", "swipe", "draganddrop", "keyevent", "keycombination", "motionevent"):
        phone.animate()
    match command:
        case "text":
            _text(phone, rest)
        case "keyevent":
            _keyevent(phone, rest)
        case "keycombination" if not phone.profile.has_keycombination:
            # Before Android 13 the tool does not know it: usage and an error, exit code 0.
            return ok(stderr=f"Error: Unknown command: {command}\n{USAGE}")
        case "keycombination":
            if rest[:1] == ["-t"]:
                rest = rest[2:]
            if len(rest) < 2:
                raise _invalid(command)
            phone.key(_keys(rest, command)[-1])    # modifiers do nothing on this phone
        case "tap":
            if len(rest) != 2:
                raise _invalid(command)
            phone.tap(*_points(phone, rest, command))
        case "swipe" | "draganddrop":
            if len(rest) not in (4, 5):
                raise _invalid(command)
            x1, y1, x2, y2 = _points(phone, rest[:4], command)
            duration = _duration(rest[4], command) if len(rest) == 5 else 300
            phone.swipe(x1, y1, x2, y2, duration)
        case "motionevent":
            _motion(phone, rest)
        case "press" | "roll":
            pass            # a trackball: nothing on this phone reacts to it
        case _:
            raise UsageError(f"Error: Unknown command: {command}\n{USAGE}", 1)
    return ok()


INPUT = {"input": input_}
