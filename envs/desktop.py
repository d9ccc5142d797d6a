"""``DesktopEnv``: an X11 desktop, seen with mss and driven with pyautogui.

Coordinates: an Action's point is in the chosen monitor's logical space (the space pyautogui
moves in), offset here to the monitor's place on the whole desktop. On HiDPI (macOS Retina,
a scaled Windows) the screenshot is larger than that space; ``Observation.screen`` stays the
logical size and the model layer's Frame handles the ratio.

Typing: pyautogui types ASCII only, so all text goes through ``xdotool type`` (any Unicode,
the same path for ASCII). Keys and the mouse go through pyautogui, with ``PAUSE`` 0: after
each action the env waits until the screen is stable (consecutive grabs equal, a blinking
caret aside, bounded by ``settle_timeout_s``) instead of sleeping a fixed time.

Scroll: a ``Scroll`` of ``dy`` pixels is ``dy / WHEEL_CLICK_PX`` wheel clicks (at least one),
as Qwen's ``pixels`` reach pyautogui as wheel clicks in OSWorld (see ``envs.actions``).

Fail-safe: on a user's own display the agent moves the real mouse, so moving it to a corner
of the screen stops the run (pyautogui's fail-safe, checked before every look and action):
``FailSafeStop``, which the loop ends as an interrupted run with its trajectory saved. A
managed virtual display has nobody's mouse on it: the fail-safe is off there.

pyautogui opens its X connection when imported, from ``$DISPLAY``: it is imported lazily, and
each env swaps its own connection in while it acts, so envs on two displays can share a
process (an eval worker, a test session). The key map is read once at that import; every
Xvfb has the same one.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path
from typing import Any

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.envs.actions import (
    WHEEL_CLICK_PX, Action, Click, Drag, KeyPress, LongPress, MoveTo, Point, Scroll, TypeText, Wait,
)
from qvl_agent.envs.base import EnvBase, EnvKind, Observation, Size
from qvl_agent.envs.errors import (
    ConfigError, EnvDisconnectedError, EnvError, EnvNotFoundError, QvlError,
    UnsupportedActionError,
)
from qvl_agent.envs.keys import is_character
from qvl_agent.envs.stillness import same_but_caret
from qvl_agent.envs.displays import open_display
from qvl_agent.envs.xdisplay import Display, Monitor, ensure_xauthority

__all__ = ["DesktopConfig", "DesktopEnv", "FailSafeStop", "PYAUTOGUI_KEYS", "open_desktop"]

# Canonical key names (envs.keys) to pyautogui's.
PYAUTOGUI_KEYS = {
    "ctrl": "ctrl", "alt": "alt", "shift": "shift", "meta": "win", "enter": "enter",
    "escape": "esc", "tab": "tab", "space": "space", "backspace": "backspace",
    "delete": "delete", "insert": "insert", "up": "up", "down": "down", "left": "left",
    "right": "right", "home": "home", "end": "end", "pageup": "pageup", "pagedown": "pagedown",
    "capslock": "capslock", "numlock": "numlock", "scrolllock": "scrolllock",
    "printscreen": "printscreen", "pause": "pause", "contextmenu": "apps",
    **{f"f{i}": f"f{i}" for i in range(1, 25)},
}

_LOCK = threading.RLock()  # pyautogui is one module-wide X connection: one env acts at a time
_CARET = (4, 48)  # a difference at most this wide and tall is a blinking caret, not a change


class FailSafeStop(KeyboardInterrupt):
    """The user moved the mouse to a corner of the screen: stop the run now.

    A KeyboardInterrupt, because it means what Ctrl-C means: the person at the machine wants
    it to stop; the loop ends the run as ``interrupted`` and saves everything."""


class DesktopConfig(BaseModel):
    """Which desktop to drive; validated once, at the edge."""

    model_config = ConfigDict(extra="forbid")
    display: str | None = Field(None, description="virtual, virtual:WxH[+WxH], :N; None: $DISPLAY")
    monitor: int | None = Field(None, ge=1, le=16,
                                description="1-based, in the X server's order; None: the primary")
    failsafe: bool | None = Field(None, description="None: on for a real display, off for virtual")
    settle_timeout_s: float = Field(3.0, ge=0, le=30, description="longest wait for a stable screen")
    type_delay_ms: int = Field(8, ge=0, le=200, description="xdotool's delay between typed keys")
    sandbox: bool = Field(True, description="a virtual display: inside a bubblewrap sandbox "
                                            "(envs.sandbox); False: a plain Xvfb on this machine")
    open: list[str] = Field(default_factory=list, description="programs to start before the "
                            "first look, each waited for until its window shows")
    open_timeout_s: float = Field(30.0, gt=0, le=300, description="longest wait for each window")


class DesktopEnv(EnvBase):
    kind = EnvKind.desktop
    SUPPORTED = frozenset({Click, LongPress, MoveTo, Drag, Scroll, TypeText, KeyPress, Wait})

    def __init__(self, config: DesktopConfig | None = None, *, display: Display | None = None,
                 **overrides: Any) -> None:
        self.config = config or DesktopConfig(**overrides)
        self._owns_display = display is None
        self.display = display or open_display(self.config.display, sandbox=self.config.sandbox)
        self._connect()

    def _connect(self) -> None:
        """Connect to ``self.display`` (X, screenshots) and read its monitors."""
        from qvl_agent.envs.sandbox import SandboxDisplay

        self.sandboxed = isinstance(self.display, SandboxDisplay)  # recorded with every look
        try:
            ensure_xauthority()
            self._gui = _pyautogui(self.display.name)
            from Xlib.display import Display as XDisplay
            import mss

            self._x = XDisplay(self.display.name)
            self._mss = mss.MSS(display=self.display.name)
            self.failsafe = (not self.display.managed if self.config.failsafe is None
                             else self.config.failsafe)
            self._monitor = self._pick_monitor()
            self._number = self.config.monitor or self._primary()
            # Screenshot pixels per logical unit (2 on a Retina screen, 1 on X11); read once,
            # as pyautogui reads its screen size once.
            self._ratio = self._scale()
            for command in self.config.open:
                self._open(command)
        except QvlError:
            self._release()
            raise
        except Exception as exc:  # noqa: BLE001 - an X server that refused us
            self._release()
            raise EnvNotFoundError(f"cannot use X display {self.display.name}: "
                                   f"{exc.__class__.__name__}: {exc}") from None

    def fresh_display(self) -> bool:
        """Replace the managed display this env started with a new one: a new sandbox, so a
        new home, a new /tmp and a new PID namespace, with nothing of the last task's left
        (its background programs end with the old one). False, and nothing done, when the
        display is not this env's to replace (someone's own, or one given to it)."""
        if not (self._owns_display and self.display.managed):
            return False
        self._disconnect()
        self.display.stop()
        self.display = open_display(self.config.display, sandbox=self.config.sandbox)
        self._connect()
        return True

    def _open(self, command: str) -> None:
        """Start ``command`` on this display (in its sandbox) and wait until a new window of
        it shows: the first screenshot then has something to act on."""
        import shlex

        try:
            args = shlex.split(command)
        except ValueError as exc:
            raise ConfigError(f"--open {command!r}: {exc}") from None
        if not args:
            raise ConfigError("--open needs a command, e.g. --open mousepad")
        before = self._windows()
        process = self.display.launch(args, cwd=self.display.user_home,
                                      log=Path(args[0]).name)
        deadline = time.monotonic() + self.config.open_timeout_s
        while not (self._windows() - before):
            code = process.poll()
            if code is not None and code != 0:
                raise EnvError(f"--open {command!r} exited with status {code} before its window "
                               "showed")
            if time.monotonic() > deadline:
                raise EnvError(f"--open {command!r} showed no window within "
                               f"{self.config.open_timeout_s:g} s")
            time.sleep(0.1)
        self.settle()

    def _windows(self) -> set[int]:
        """The top-level windows the window manager lists (``_NET_CLIENT_LIST``)."""
        from Xlib import X

        root = self._x.screen().root
        listed = root.get_full_property(self._x.intern_atom("_NET_CLIENT_LIST"), X.AnyPropertyType)
        return set(listed.value) if listed is not None else set()

    # -- the Env contract -------------------------------------------------------------

    def observe(self) -> Observation:
        self._check_failsafe()
        left, top, width, height = self._logical_monitor()
        return Observation(screenshot=self._grab(), screen=Size(width=width, height=height),
                           extras={"display": self.display.name, "monitor": self._number,
                                   "offset": f"{left},{top}", "sandboxed": self.sandboxed})

    def _execute(self, action: Action) -> None:
        self._check_failsafe()
        try:
            self._act(action)
        except QvlError:
            raise
        except Exception as exc:  # noqa: BLE001 - Xlib's errors when the server is gone
            lost = self._lost(exc)
            if lost is None:
                raise  # not the X server's doing: a bug, shown as one
            raise lost from None
        if not isinstance(action, Wait):
            self.settle()

    def _act(self, action: Action) -> None:
        gui = self._gui
        with self._acting():
            match action:
                case Click(at=at, button=button, count=count):
                    x, y = self._global(at) if at is not None else gui.position()
                    # pyautogui sleeps ``interval`` after every click, the last one too.
                    gui.click(x, y, clicks=count, interval=0.05 if count > 1 else 0.0, button=button)
                case LongPress(at=at, seconds=seconds):
                    gui.moveTo(*self._global(at))
                    gui.mouseDown()
                    time.sleep(seconds)
                    gui.mouseUp()
                case MoveTo(at=at):
                    gui.moveTo(*self._global(at))
                case Drag(start=start, end=end):
                    # computer_use's drag starts where the pointer is (start None).
                    if start is not None:
                        gui.moveTo(*self._global(start))
                    gui.mouseDown(button="left")
                    # Intermediate motion: apps start a drag only after the pointer moves.
                    gui.moveTo(*self._global(end), duration=0.25)
                    gui.mouseUp(button="left")
                case Scroll(dx=dx, dy=dy, at=at):
                    if at is not None:
                        gui.moveTo(*self._global(at))
                    if dy:
                        gui.scroll(-_clicks(dy))  # pyautogui: positive scrolls up
                    if dx:
                        gui.hscroll(_clicks(dx))
                case TypeText(text=text):
                    self._type(text)
                case KeyPress(keys=keys):
                    names = [self._key(k) for k in keys]  # all checked before any goes down
                    for name in names:
                        gui.keyDown(name)
                    for name in reversed(names):
                        gui.keyUp(name)
                case Wait(seconds=seconds):
                    time.sleep(seconds)
                case _:
                    raise UnsupportedActionError(f"the desktop env cannot do '{action.kind}'")

    def settle(self) -> None:
        """Wait until two grabs in a row match (a blinking caret aside), at most the timeout."""
        deadline = time.monotonic() + self.config.settle_timeout_s
        time.sleep(0.03)
        previous = self._raw()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            current = self._raw()
            if _same(previous, current):
                return
            previous = current

    def _close(self) -> None:
        self._release()

    # -- helpers ----------------------------------------------------------------------

    @property
    def monitor(self) -> Monitor:
        """The chosen monitor, in screenshot pixels of the whole desktop."""
        return self._monitor

    def _pick_monitor(self) -> Monitor:
        monitors = self.display.monitors or [
            Monitor(left=m["left"], top=m["top"], width=m["width"], height=m["height"])
            for m in self._mss.monitors[1:]] or [_whole(self._mss.monitors[0])]
        number = self.config.monitor or self._primary()
        if number > len(monitors):
            listed = ", ".join(f"{i}: {m.width}x{m.height}+{m.left}+{m.top}"
                               for i, m in enumerate(monitors, 1))
            raise ConfigError(f"--monitor {number}: display {self.display.name} has "
                              f"{len(monitors)} monitor(s) ({listed})")
        return monitors[number - 1]

    def _primary(self) -> int:
        """The primary monitor's number (RandR marks it); the first when none is marked."""
        if self.display.monitors:
            return 1  # a virtual layout: its first monitor
        for number, m in enumerate(self._mss.monitors[1:], 1):
            if m.get("is_primary"):
                return number
        return 1

    def _scale(self) -> float:
        """Screenshot pixels per logical unit (2 on a Retina screen, 1 on X11)."""
        with self._acting():
            logical_width = self._gui.size()[0]
        return self._mss.monitors[0]["width"] / logical_width

    def _logical_monitor(self) -> tuple[int, int, int, int]:
        scale, m = self._ratio, self._monitor
        return (round(m.left / scale), round(m.top / scale), round(m.width / scale),
                round(m.height / scale))

    def _global(self, at: Point) -> tuple[int, int]:
        left, top, width, height = self._logical_monitor()
        x, y = at.rounded()
        return left + min(x, width - 1), top + min(y, height - 1)

    def _key(self, key: str) -> str:
        name = PYAUTOGUI_KEYS.get(key, key if is_character(key) else None)
        if name is None or name not in self._gui.KEYBOARD_KEYS or not _has_keycode(name):
            raise UnsupportedActionError(f"a desktop keyboard has no key {key!r}")
        return name

    def _type(self, text: str) -> None:
        """Type ``text``: a newline is the Enter key (xdotool would send Linefeed, which
        LibreOffice ignores); other text goes through ``xdotool type``."""
        xdotool = shutil.which("xdotool")
        if xdotool is None:
            raise EnvNotFoundError("typing on a desktop needs xdotool (Debian: apt install xdotool)")
        for i, line in enumerate(text.replace("\r\n", "\n").split("\n")):
            if i:
                with self._acting():
                    self._gui.press("enter")
            for chunk in _runs(line):
                # A character the keyboard map lacks is typed through a scratch key that
                # xdotool maps, presses and unmaps; an app must see the press before the
                # unmapping, so those go slower (a busy machine otherwise loses them).
                delay = self.config.type_delay_ms if chunk.isascii() else max(
                    self.config.type_delay_ms, 60)
                # The text is an argument after "--", never a shell string (it is the model's).
                result = self.display.run([xdotool, "type", "--delay", str(delay), "--", chunk],
                                          timeout=30 + len(chunk) * 0.3)
                if result.returncode != 0:
                    raise EnvError(f"xdotool could not type on {self.display.name}: "
                                   f"{result.stderr.strip()[:200]}")

    def _grab(self) -> Image.Image:
        raw = self._raw()
        return Image.frombytes("RGB", raw.size, raw.bgra, "raw", "BGRX")

    def _raw(self) -> Any:
        m = self._monitor
        try:
            return self._mss.grab({"left": m.left, "top": m.top, "width": m.width, "height": m.height})
        except Exception as exc:  # noqa: BLE001 - mss raises its own error for a lost server
            lost = self._lost(exc, "cannot capture")
            assert lost is not None  # a capture that failed is always the display's
            raise lost from None

    def _lost(self, exc: BaseException, doing: str = "cannot act on") -> EnvError | None:
        """The error for an X call that failed: a server that is gone says so; None when
        neither the server nor the connection to it is to blame."""
        name = self.display.name
        servers = [p for p in self.display._children if p.pid in self.display._infrastructure]
        gone = False
        deadline = time.monotonic() + 1.0  # a server being killed may take a moment to exit
        while servers and not gone and time.monotonic() < deadline:
            try:
                gone = servers[0].poll() is not None
            except QvlError:
                gone = True  # the sandbox around it has ended too
            if not gone:
                time.sleep(0.05)
        if gone:
            return EnvDisconnectedError(f"{doing} display {name}: its X server (Xvfb) has exited "
                                        "(killed, or crashed); the episode cannot go on")
        said = str(exc).strip() or exc.__class__.__name__
        if isinstance(exc, OSError) or type(exc).__module__.startswith("Xlib"):
            return EnvDisconnectedError(f"{doing} display {name}: the X server closed the "
                                        f"connection ({said}); is it still running?")
        if doing == "cannot capture":
            if not str(exc).strip():  # mss says nothing when the server has gone
                said = f"the X server gave no picture ({said}); is it still running?"
            return EnvError(f"{doing} display {name}: {said}")
        return None

    def _check_failsafe(self) -> None:
        if not self.failsafe:
            return
        with self._acting():
            x, y = self._gui.position()
            width, height = self._gui.size()
        if (x, y) in ((0, 0), (width - 1, 0), (0, height - 1), (width - 1, height - 1)):
            raise FailSafeStop("fail-safe: the mouse was moved to a corner of the screen, "
                               "so the run stopped (use --display virtual to run without it)")

    def _acting(self) -> "_Acting":
        return _Acting(self._x)

    def _disconnect(self) -> None:
        for close in (getattr(getattr(self, "_mss", None), "close", None),
                      getattr(getattr(self, "_x", None), "close", None)):
            try:
                if close is not None:
                    close()
            except Exception:  # noqa: BLE001 - a server that is already gone
                pass
        self._mss = self._x = None

    def _release(self) -> None:
        self._disconnect()
        if self._owns_display:
            self.display.stop()


class _Acting:
    """Hold the pyautogui lock with this env's X connection swapped in."""

    def __init__(self, x: Any) -> None:
        self._x = x

    def __enter__(self) -> None:
        _LOCK.acquire()
        import pyautogui._pyautogui_x11 as x11

        self._saved = x11._display
        x11._display = self._x

    def __exit__(self, *exc: object) -> None:
        import pyautogui._pyautogui_x11 as x11

        x11._display = self._saved
        _LOCK.release()


def open_desktop(display: str | None = None, monitor: int | None = None,
                 **options: Any) -> DesktopEnv:
    """The desktop on ``display`` (``virtual``, ``virtual:WxH``, ``:N``; None: ``$DISPLAY``),
    seen and driven on ``monitor`` (1-based; None: the primary)."""
    return DesktopEnv(DesktopConfig(display=display, monitor=monitor, **options))


def _pyautogui(name: str) -> Any:
    """pyautogui, imported with ``DISPLAY`` set to ``name`` (its import opens that display;
    a user's stale ``$DISPLAY`` must not break a virtual one). Restored afterwards."""
    with _LOCK:
        saved = os.environ.get("DISPLAY")
        os.environ["DISPLAY"] = name
        try:
            import pyautogui
        except Exception as exc:  # noqa: BLE001 - Xlib's errors when the server refuses
            raise EnvNotFoundError(f"pyautogui cannot open X display {name}: {exc}") from None
        finally:
            if saved is None:
                os.environ.pop("DISPLAY", None)
            else:
                os.environ["DISPLAY"] = saved
        pyautogui.PAUSE = 0  # settling is explicit (DesktopEnv.settle)
        pyautogui.FAILSAFE = False  # checked per display by DesktopEnv._check_failsafe
        return pyautogui


def _has_keycode(name: str) -> bool:
    import pyautogui._pyautogui_x11 as x11

    return x11.keyboardMapping.get(name) is not None


def _clicks(pixels: float) -> int:
    clicks = round(pixels / WHEEL_CLICK_PX)
    return clicks if clicks else (1 if pixels > 0 else -1)


def _runs(text: str) -> list[str]:
    """``text`` cut into runs of ASCII and of other characters."""
    runs: list[str] = []
    for char in text:
        if runs and runs[-1][-1].isascii() == char.isascii():
            runs[-1] += char
        else:
            runs.append(char)
    return runs


def _whole(m: dict[str, int]) -> Monitor:
    return Monitor(left=m["left"], top=m["top"], width=m["width"], height=m["height"])


def _same(a: Any, b: Any) -> bool:
    return a.raw == b.raw or same_but_caret(Image.frombytes("RGB", a.size, a.rgb),
                                            Image.frombytes("RGB", b.size, b.rgb), _CARET)

