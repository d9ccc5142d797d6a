"""``AndroidEnv``: a phone or emulator over adb (adbutils), or the built-in virtual phone.

Coordinates are the phone's pixels (what ``wm size`` reports, its override size if one is
set, rotated with the display). Everything goes through adb shell commands that work on a
stock device: ``screencap -p``, ``input tap|swipe|text|keyevent``, ``monkey`` to launch an
app. Arguments are passed as a list, which adbutils quotes for the device shell; model text
never becomes shell syntax.

What real phones print or do, and how it is handled here:

- ``screencap -p`` may write text before the PNG (multi-display phones warn, some builds
  print linker warnings): everything before the PNG signature is dropped; no PNG at all
  is one clear error.
- The screen moves for 0.3-3 s after an input: each action ends by capturing until two
  captures in a row are equal (bounded by ``settle_timeout``); the next observation uses
  that still frame.
- ``input keycombination`` exists from Android 13 (SDK 33); older phones print an error
  and exit 0, so on them a key combination is refused before anything is sent.
- ``uiautomator dump`` takes 1-3 s (it waits for a second without accessibility events),
  fails with "could not get idle state" after 10 s of motion, now and then finds no window
  ("null root node", always while the screen is off) or is killed, and leaves the previous
  file in place: the file is removed first, and each failure retried within a time budget.
- Phones sleep and lock: each episode starts by waking the screen, dismissing a lock screen
  without PIN and keeping the screen on (``envs.adb_power``); a PIN-locked phone or a screen
  that stays black is one clear error, never a run of blind taps.
- A touch outside the screen goes nowhere on a phone (``input`` drops it, exit 0): such a
  point is refused before it is sent.
- Non-ASCII text goes through ADB Keyboard (``envs.adb_keyboard``).
- The adb server is the one ``adb`` itself uses (``envs.adb_server``:
  ``ADB_SERVER_SOCKET``, ``ANDROID_ADB_SERVER_PORT``), for adbutils and subprocesses alike.
"""

from __future__ import annotations

import io
import shlex
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from typing import Any

from PIL import Image

from qvl_agent.envs.actions import (
    Action, Click, KeyPress, LongPress, OpenApp, Swipe, SystemButton, TypeText, Wait,
)
from qvl_agent.envs.adb_keyboard import ADB_KEYBOARD, AdbKeyboard
from qvl_agent.envs.adb_output import input_text_parts, png_in, resumed_package
from qvl_agent.envs.adb_power import ScreenPower, is_black
from qvl_agent.envs.adb_server import adb_client
from qvl_agent.envs.applabels import resolve_app
from qvl_agent.envs.base import EnvBase, EnvKind, Observation, Size
from qvl_agent.envs.errors import (
    ActionRejectedError, EnvDisconnectedError, EnvError, EnvNotFoundError, UnsupportedActionError,
)
from qvl_agent.envs.uiautomator import dump_ui
from qvl_agent.envs.keys import ANDROID_KEYCODES, is_character
from qvl_agent.envs.stillness import same_but_caret

__all__ = ["AndroidEnv", "open_android", "keycode_for", "ADB_KEYBOARD", "png_in"]  # png_in: envs.adb_output

_CARET = (12, 160)  # a text cursor on a phone of density up to 4: still, not moving


def _decoded(png: bytes) -> Image.Image:
    with Image.open(io.BytesIO(png)) as image:
        return image.convert("RGB")


KEYCOMBINATION_SDK = 33     # `input keycombination` arrived in Android 13
# Canonical desktop key names that mean something else on a phone.
_DESKTOP_TO_ANDROID = {
    "backspace": "del", "delete": "forward_del", "up": "dpad_up", "down": "dpad_down",
    "left": "dpad_left", "right": "dpad_right", "end": "move_end", "pageup": "page_up",
    "pagedown": "page_down", "ctrl": "ctrl_left", "alt": "alt_left", "shift": "shift_left",
    "meta": "meta_left", "capslock": "caps_lock",
}
_EXTRA_CODES = {"meta_left": 117}
_SYSTEM_BUTTONS = {"back": "KEYCODE_BACK", "home": "KEYCODE_HOME", "menu": "KEYCODE_MENU",
                   "enter": "KEYCODE_ENTER"}


def keycode_for(key: str) -> str:
    """adb's name for a canonical key (``volume_up`` -> ``KEYCODE_VOLUME_UP``)."""
    name = _DESKTOP_TO_ANDROID.get(key, key.lower())
    if name in ANDROID_KEYCODES or name in _EXTRA_CODES:
        return "KEYCODE_" + name.upper()
    raise UnsupportedActionError(f"a phone has no key {key!r}")


class AndroidEnv(EnvBase):
    """A device by serial. Use ``open_android`` to pick one (or start the virtual phone)."""

    kind = EnvKind.android
    SUPPORTED = frozenset({Click, LongPress, Swipe, TypeText, KeyPress, SystemButton, OpenApp, Wait})

    def __init__(self, serial: str, *, on_close: Any = None, settle_timeout: float = 3.0,
                 wake: bool = True) -> None:
        import adbutils

        self._adbutils = adbutils
        self.serial = serial
        self._client = adb_client()
        self.device = self._client.device(serial=serial)
        self._on_close = on_close
        self.settle_timeout = settle_timeout
        self._still: bytes | None = None        # the last settled capture, for observe()
        self._dump: str | None = None           # the last dump, while nothing was sent since
        self.keyboard = AdbKeyboard(self)
        self.power = ScreenPower(self, lambda: (self.screen.width, self.screen.height))
        self.screen = self._screen_size()
        props = self.shell("getprop ro.build.version.sdk; getprop ro.build.version.release; "
                           "getprop ro.product.model", check=False, changes_screen=False
                           ).splitlines()
        props += [""] * (3 - len(props))
        self.sdk = int(props[0]) if props[0].strip().isdigit() else 0
        self.device_info = {"serial": serial, "sdk": props[0].strip(),
                            "release": props[1].strip(), "model": props[2].strip()}
        if wake:
            self.wake()

    def wake(self) -> None:
        """Make the screen ready for an episode: on, unlocked (no PIN) and kept on while the
        env is open. Call it again before each episode; a phone may have slept meanwhile.

        Raises:
            EnvError: the phone is locked with a PIN, pattern or password, or its screen
                stays black although it is awake and unlocked.
        """
        self.power.ready()
        self._still = None
        self.power.check_not_black(_decoded(self.capture()))

    # -- the Env contract -------------------------------------------------------------

    def observe(self) -> Observation:
        image = self._still_image()
        if is_black(image):
            # The screen went off (on battery, stay-on does not hold): wake it once, and say
            # so if it stays black, instead of letting the agent tap blindly.
            self.wake()
            image = self._still_image()
            self.power.check_not_black(image)
        if image.size != (self.screen.width, self.screen.height):
            self.screen = self._screen_size()  # the phone rotated
        return Observation(screenshot=image, screen=self.screen,
                           extras={"serial": self.serial, "app": self.foreground_app(),
                                   "sdk": self.device_info["sdk"]})

    def _still_image(self) -> Image.Image:
        if self._still is None:     # something ran on the phone since the last still frame
            self.settle()
        png, self._still = self._still, None
        try:
            image = Image.open(io.BytesIO(png))
            image.load()
        except OSError:
            raise EnvError(f"{self.serial}: screencap did not return a PNG "
                           f"({len(png)} bytes: {png[:60]!r})") from None
        return image if image.mode == "RGB" else image.convert("RGB")

    def _execute(self, action: Action) -> None:
        match action:
            case Click(at=None):
                raise UnsupportedActionError("a phone has no pointer: a click needs a coordinate")
            case Click(button=button) if button != "left":
                raise UnsupportedActionError(f"a phone has no {button} button; a long press "
                                             "opens context menus")
            case Click(at=at, count=count):
                x, y = self._pixel(at)
                for _ in range(count):  # a double tap is two taps
                    self.shell(["input", "tap", str(x), str(y)])
            case LongPress(at=at, seconds=seconds):
                x, y = self._pixel(at)
                self.shell(["input", "swipe", str(x), str(y), str(x), str(y), str(round(seconds * 1000))])
            case Swipe(start=start, end=end, seconds=seconds):
                (x1, y1), (x2, y2) = self._pixel(start), self._pixel(end)
                self.shell(["input", "swipe", str(x1), str(y1), str(x2), str(y2),
                            str(round(seconds * 1000))])
            case TypeText(text=text):
                self.type_text(text)
            case KeyPress(keys=(key,)) if is_character(key) and key not in ANDROID_KEYCODES:
                self.type_text(key)  # a character with no key of its own ("/", "@") is text
            case KeyPress(keys=(key,)):
                self.shell(["input", "keyevent", keycode_for(key)])
            case KeyPress(keys=keys):
                codes = [keycode_for(k) for k in keys]
                refusal = UnsupportedActionError(
                    f"this phone cannot press {'+'.join(keys)} together (`input "
                    f"keycombination` needs Android 13; this is SDK {self.sdk}); press the "
                    "keys one at a time or use the screen")
                if 0 < self.sdk < KEYCOMBINATION_SDK:
                    raise refusal
                try:
                    output = self.shell(["input", "keycombination", *codes])
                except EnvDisconnectedError:
                    raise
                except EnvError:
                    raise refusal from None
                if "Unknown command" in output or "Error:" in output:
                    raise refusal  # an old `input` that says so and exits 0
            case SystemButton(button=button):
                self.shell(["input", "keyevent", _SYSTEM_BUTTONS[button]])
            case OpenApp(name=name):
                self.open_app(name)
            case Wait(seconds=seconds):
                time.sleep(seconds)
            case _:
                raise UnsupportedActionError(f"a phone cannot do '{action.kind}'")
        self.settle()

    def settle(self) -> None:
        """Capture until two captures in a row are equal (the screen stopped moving), or
        until ``settle_timeout``; the last capture serves the next ``observe``."""
        deadline = time.monotonic() + self.settle_timeout
        previous = self.capture()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            current = self.capture()
            if current == previous or same_but_caret(_decoded(previous), _decoded(current), _CARET):
                break
            previous = current
        self._still = previous

    def _close(self) -> None:
        try:
            self.keyboard.restore()
            self.power.restore()
        except EnvError:
            pass        # the phone is gone; nothing left to restore
        finally:
            if self._on_close is not None:
                self._on_close()

    # -- what tasks and the agent use ---------------------------------------------------

    def shell(self, args: list[str] | str, *, check: bool = True,
              changes_screen: bool = True, timeout: float = 60) -> str:
        """Run a shell command on the device; ``args`` as a list is quoted for the device.

        Unless ``changes_screen`` is False (a pure query), the still frame kept for the next
        observation is dropped: the command may have changed the screen.
        """
        if changes_screen:
            self._still = self._dump = None
        try:
            result = self.device.shell2(args, timeout=timeout)
        except (self._adbutils.AdbError, OSError, ValueError) as exc:
            raise self._lost(exc) from None
        if check and result.returncode != 0:
            command = args if isinstance(args, str) else " ".join(args)
            raise EnvError(f"{self.serial}: `{command[:80]}` failed with exit code "
                           f"{result.returncode}: {result.output.strip()[:200]}")
        return result.output

    def capture(self) -> bytes:
        """The screen as PNG bytes (``screencap -p`` with whatever it printed first removed)."""
        return png_in(self._exec(["screencap", "-p"]), self.serial)

    def ui_xml(self) -> str:
        """The screen's ``uiautomator dump`` XML, never a stale one (``envs.uiautomator``).

        Raises:
            EnvError: no dump within the retry budget, with what the phone said.
        """
        self._dump = dump_ui(self, self.power)
        return self._dump

    def recent_ui_xml(self) -> str | None:
        """The last dump, if no command that may change the screen ran since (a tap on what
        the dump showed is described by it, without a dump of its own); else None."""
        return self._dump

    def ui_nodes(self) -> list[ET.Element]:
        """Every ``node`` element of the current dump."""
        return list(ET.fromstring(self.ui_xml().encode("utf-8")).iter("node"))

    def _exec(self, args: list[str]) -> bytes:
        """Binary-safe command output (``adb exec-out``), for screenshots."""
        try:
            with self.device.open_transport(timeout=60) as connection:
                connection.send_command("exec:" + shlex.join(args))
                connection.check_okay()
                return connection.read_until_close(encoding=None)
        except (self._adbutils.AdbError, OSError) as exc:
            raise self._lost(exc) from None

    def type_text(self, text: str) -> None:
        """Type ``text`` into the focused field: ``input text`` for ASCII, ADB Keyboard otherwise."""
        if text.isascii():
            for part in input_text_parts(text):
                if part == "\n":
                    self.shell(["input", "keyevent", "KEYCODE_ENTER"])
                elif part == "\t":
                    self.shell(["input", "keyevent", "KEYCODE_TAB"])
                else:
                    self.shell(["input", "text", part])
            return
        self.keyboard.type(text)

    def open_app(self, name: str) -> str:
        """Launch the app labelled ``name``; returns its package."""
        package = resolve_app(name, self.packages(), self.launchable())
        output = self.shell(["monkey", "-p", package, "-c", "android.intent.category.LAUNCHER", "1"],
                            check=False)
        if "No activities found" in output or "aborted" in output:
            raise ActionRejectedError(f"{package} cannot be launched (it has no launcher "
                                      f"activity): {output.strip()[:160]}")
        return package

    def launch(self, target: str) -> None:
        """Open ``target`` as Midscene's ``launch`` does: a URL with a VIEW intent (the
        browser or app that handles it), ``package/activity`` with ``am start -n``, anything
        else as a package or an app's label (``open_app``)."""
        if "://" in target:
            said = self.shell(["am", "start", "-a", "android.intent.action.VIEW", "-d", target],
                              check=False)
        elif "/" in target:
            said = self.shell(["am", "start", "-n", target], check=False)
        else:
            self.open_app(target)
            return
        if "Error" in said or "Exception" in said:
            shown = repr(target[:120]) + (f"... ({len(target):,} characters)" if len(target) > 120 else "")
            raise EnvError(f"the phone could not open {shown}: "
                           f"{' '.join(said.split())[:240]}")

    def packages(self) -> list[str]:
        return [line.removeprefix("package:").strip()
                for line in self.shell(["pm", "list", "packages"], changes_screen=False).splitlines()
                if line.startswith("package:")]

    def launchable(self) -> list[str]:
        """Packages with a launcher activity (the apps a person sees in the app drawer)."""
        output = self.shell(["cmd", "package", "query-activities", "--brief", "-a",
                             "android.intent.action.MAIN", "-c", "android.intent.category.LAUNCHER"],
                            check=False, changes_screen=False)
        found = []
        for line in output.splitlines():
            line = line.strip()
            if "/" in line and " " not in line and line.split("/")[0] not in found:
                found.append(line.split("/")[0])
        return found

    def foreground_app(self) -> str | None:
        """The package in front: the resumed activity from ``dumpsys activity activities``
        (each release names that line its own way), else ``dumpsys window``'s focus."""
        output = self.shell(["dumpsys", "activity", "activities"], check=False, changes_screen=False)
        if (package := resumed_package(output)) is not None:
            return package
        for line in self.shell(["dumpsys", "window"], check=False, changes_screen=False).splitlines():
            if "mCurrentFocus=" in line or "mFocusedApp=" in line:
                for word in line.replace("}", " ").split():
                    if "/" in word:
                        return word.split("/")[0]
        return None

    # -- helpers ----------------------------------------------------------------------

    def _screen_size(self) -> Size:
        try:
            width, height = self.device.window_size()
        except (self._adbutils.AdbError, OSError) as exc:
            raise self._lost(exc) from None
        return Size(width=width, height=height)

    def _pixel(self, point: Any) -> tuple[int, int]:
        """The pixel to send: a point at most a pixel outside the screen (a frame's edge) is
        pulled in; one further out is refused, since ``input`` would drop it silently."""
        width, height = self.screen.width, self.screen.height
        if not (-1 <= point.x <= width and -1 <= point.y <= height):
            raise ActionRejectedError(f"({point.x:g}, {point.y:g}) is off the screen, which is "
                                      f"{width}x{height}; a phone drops touches there")
        return (min(max(round(point.x), 0), width - 1),
                min(max(round(point.y), 0), height - 1))

    def _lost(self, exc: BaseException) -> EnvError:
        message = " ".join(str(exc).split())[:200] or exc.__class__.__name__
        return EnvDisconnectedError(f"the device {self.serial} went away ({message}); "
                                    "check `adb devices` and the cable or network")


def _adb_path() -> str:
    found = shutil.which("adb")
    if found:
        return found
    raise EnvNotFoundError("adb is not installed; install it (Debian: apt install adb, macOS: "
                           "brew install android-platform-tools) and try again")


def ensure_adb_server() -> None:
    """Start the adb server if it is not running (``adb start-server`` is idempotent)."""
    result = subprocess.run([_adb_path(), "start-server"], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise EnvNotFoundError(f"the adb server would not start: {result.stderr.strip()[:200]}")


def open_android(device: str | None = None) -> AndroidEnv:
    """The device named ``device`` (a serial), the only one connected, or the virtual phone
    when ``device`` is ``sim`` or ``sim:PROFILE``. A clear error when there is none or
    several to choose from."""
    from qvl_agent.envs.virtual_phone import sim_profile

    profile = sim_profile(device)
    ensure_adb_server()
    if profile is not None:
        from qvl_agent.envs.virtual_phone import start_virtual_phone

        phone = start_virtual_phone(profile=profile)
        try:
            return AndroidEnv(phone.serial, on_close=phone.stop)
        except Exception:
            phone.stop()
            raise
    client = adb_client()
    devices = [(d.serial, d.get_state()) for d in client.device_list()]
    ready = [serial for serial, state in devices if state == "device"]
    if device:
        if device in ready:
            return AndroidEnv(device)
        listed = ", ".join(f"{s} ({st})" for s, st in devices) or "none"
        raise EnvNotFoundError(f"device {device!r} is not connected and ready (adb sees: {listed}); "
                               "check `adb devices`, or use --device sim for the virtual phone")
    if not ready:
        raise EnvNotFoundError("no Android device is connected (adb devices lists none ready); "
                               "plug in a phone with USB debugging on, start an emulator, "
                               "`adb connect HOST:PORT`, or use --device sim for the virtual phone")
    if len(ready) > 1:
        raise EnvNotFoundError(f"{len(ready)} devices are connected ({', '.join(ready)}); "
                               "choose one with --device SERIAL")
    return AndroidEnv(ready[0])
