"""``input``: taps, swipes, typed text and key events, parsed as Android 14's ``input`` does.

Coordinates are floats (``input tap 540.5 1200`` works on a phone); a touch that starts
outside the display reaches no window and is dropped without a word (exit 0). A swipe takes
its duration (milliseconds) in real time, as the real tool's loop of MOVE events does.
``input text`` types printable ASCII only and turns ``%s`` into a space; any other character
has no key event, and the release's own failure follows (that is why agents install ADB
Keyboard): Android 9's tool dies of the NullPointerException ("Killed", exit 137, the trace
in logcat), 10-11's ``BaseCommand`` prints the trace and exits 1, 12+'s ``InputShellCommand``
prints "Exception occurred while executing 'text':" and exits 255.
``keycombination`` (13+) holds the keys before the last one as modifiers. Key names are taken
with or without ``KEYCODE_``, in any case, or as numbers.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from qvl_agent.envs.keys import ANDROID_KEYCODES
from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.interaction import MODIFIERS
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


def _exception(command: str, exception: str, trace: str = "") -> UsageError:
    """How ``InputShellCommand`` reports a Java exception: a header, the exception, exit 255."""
    return UsageError(f"\nException occurred while executing '{command}':\n{exception}\n"
                      f"{trace}", 255)


def _invalid(command: str) -> UsageError:
    return UsageError(f"Error: Invalid arguments for command: {command}\n{USAGE}", 1)


class _Dropped(Exception):
    """A touch that starts outside the display: no window gets it."""


def _coordinate(text: str, command: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise _exception(command, f'java.lang.NumberFormatException: For input string: "{text}"')
    return float(text.rstrip("fFdD"))


def _points(phone: Phone, args: list[str], command: str) -> list[float]:
    """Coordinates in the display's pixels, returned in the phone's full-size pixels; a
    gesture that starts outside the display is dropped, a point after that is clamped."""
    values = [_coordinate(arg, command) for arg in args]
    width, height = phone.display
    if not (0 <= values[0] < width and 0 <= values[1] < height):
        raise _Dropped
    clamped = [min(max(value, 0.0), (width if i % 2 == 0 else height) - 1)
               for i, value in enumerate(values)]
    return [value * phone.scale for value in clamped]


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


_NPE = "java.lang.NullPointerException: Attempt to get length of null array"
_TRACE_9 = ("\tat com.android.commands.input.Input.sendText(Input.java:179)\n"
            "\tat com.android.commands.input.Input.run(Input.java:88)\n"
            "\tat com.android.commands.input.Input.main(Input.java:59)\n"
            "\tat com.android.internal.os.RuntimeInit.nativeFinishInit(Native Method)\n"
            "\tat com.android.internal.os.RuntimeInit.main(RuntimeInit.java:285)\n")
_TRACE_10 = ("\tat com.android.commands.input.Input$InputText.sendText(Input.java:168)\n"
             "\tat com.android.commands.input.Input$InputText.run(Input.java:140)\n"
             "\tat com.android.commands.input.Input.onRun(Input.java:107)\n"
             "\tat com.android.internal.os.BaseCommand.run(BaseCommand.java:56)\n"
             "\tat com.android.commands.input.Input.main(Input.java:71)\n"
             "\tat com.android.internal.os.RuntimeInit.nativeFinishInit(Native Method)\n"
             "\tat com.android.internal.os.RuntimeInit.main(RuntimeInit.java:338)\n")
_TRACE_12 = (
    "\tat com.android.server.input.InputShellCommand.sendText(InputShellCommand.java:338)\n"
    "\tat com.android.server.input.InputShellCommand.runText(InputShellCommand.java:310)\n"
    "\tat com.android.server.input.InputShellCommand.onCommand(InputShellCommand.java:251)\n"
    "\tat com.android.modules.utils.BasicShellCommandHandler.exec("
    "BasicShellCommandHandler.java:97)\n"
    "\tat android.os.ShellCommand.exec(ShellCommand.java:38)\n"
    "\tat com.android.server.input.InputManagerService.onShellCommand("
    "InputManagerService.java:3441)\n"
    "\tat android.os.Binder.shellCommand(Binder.java:1075)\n"
    "\tat android.os.Binder.onTransact(Binder.java:895)\n")


def _no_key_events(phone: Phone) -> UsageError:
    """``input text`` with a character KeyCharacterMap cannot type, as each release fails."""
    sdk = phone.profile.sdk
    if sdk < 29:
        # The uncaught exception kills app_process; the shell says so, logcat has the trace.
        phone.logcat.write("AndroidRuntime", f"FATAL EXCEPTION: main\nPID: 5120\n{_NPE}\n"
                           + _TRACE_9, level="E", pid=5120, buffer="crash")
        return UsageError("Killed\n", 137)
    if sdk < 31:
        return UsageError(f"{_NPE}\n{_TRACE_10}", 1)
    return _exception("text", _NPE, _TRACE_12)


def _text(phone: Phone, args: list[str]) -> None:
    if not args:
        raise _invalid("text")
    text = args[0].replace("%s", " ")
    if any(not (" " <= char <= "~" or char in "\n\t") for char in text):
        # KeyCharacterMap has no key events for it, and the tool does not check for null.
        raise _no_key_events(phone)
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


def _keycombination(phone: Phone, rest: list[str]) -> None:
    """All keys go down in order, then up: the ones before the last are its modifiers."""
    if rest[:1] == ["-t"]:
        rest = rest[2:]
    if len(rest) < 2:
        raise _invalid("keycombination")
    codes = _keys(rest, "keycombination")
    meta = frozenset(MODIFIERS[code] for code in codes[:-1] if code in MODIFIERS)
    phone.key(codes[-1], meta=meta)


def _motion(phone: Phone, args: list[str]) -> None:
    """``motionevent DOWN x y`` ... ``UP x y``: the gesture is played when the finger lifts."""
    if len(args) != 3 or args[0].upper() not in ("DOWN", "UP", "MOVE", "CANCEL"):
        raise _invalid("motionevent")
    x, y = _points(phone, args[1:], "motionevent")
    phone.touch(args[0].upper(), x, y)


def _swipe(phone: Phone, command: str, rest: list[str]) -> None:
    """The finger goes down, moves for the duration (real time, the phone's lock free
    meanwhile, as the real tool's loop of MOVE events), and lifts: then the gesture acts."""
    if len(rest) not in (4, 5):
        raise _invalid(command)
    x1, y1, x2, y2 = _points(phone, rest[:4], command)
    duration = _duration(rest[4], command) if len(rest) == 5 else 300
    waited = duration + (500 if command == "draganddrop" else 0)    # the long-press timeout
    if phone.config.animations and waited > 0:
        with phone.lock:
            phone.animate(seconds=waited / 1000)
        time.sleep(waited / 1000)
    phone.swipe(x1, y1, x2, y2, duration)


def input_(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    """``input [SOURCE] [-d DISPLAY] COMMAND ARGS``; runs without the phone's lock held (a
    swipe takes its time), each step taking it."""
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
        with phone.lock:
            phone.animate()
    try:
        match command:
            case "text":
                _text(phone, rest)
            case "keyevent":
                _keyevent(phone, rest)
            case "keycombination" if not phone.profile.has_keycombination:
                # Before Android 13 the tool does not know it: usage and an error, exit 0.
                return ok(stderr=f"Error: Unknown command: {command}\n{USAGE}")
            case "keycombination":
                _keycombination(phone, rest)
            case "tap":
                if len(rest) != 2:
                    raise _invalid(command)
                phone.tap(*_points(phone, rest, command))
            case "swipe" | "draganddrop":
                _swipe(phone, command, rest)
            case "motionevent":
                _motion(phone, rest)
            case "press" | "roll":
                pass            # a trackball: nothing on this phone reacts to it
            case _:
                raise UsageError(f"Error: Unknown command: {command}\n{USAGE}", 1)
    except _Dropped:
        pass                    # InputDispatcher found no window there; `input` says nothing
    return ok()


INPUT = {"input": input_}
