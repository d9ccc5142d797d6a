"""``Phone``: the virtual phone's whole state, and its shell as an ``AdbDaemon`` handler.

State a real phone keeps is kept here for real: settings, each app's data (SQLite behind
``content://`` URIs), installed packages and keyboards, a few files, and one stack of
screens (a task) per running app with the foreground app on top. Touches and keys go to the
foreground screen's widget tree, the same tree that is drawn and dumped.

``Phone.shell`` is thread-safe (the daemon runs streams in parallel); every method that
reads or changes state takes ``Phone.lock``, a re-entrant lock.
"""

from __future__ import annotations

import functools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from PIL import Image

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.apps import APPS, App, Screen, launcher
from qvl_agent.envs.sim.files import Files
from qvl_agent.envs.sim.packages import ADB_KEYBOARD, installed_packages
from qvl_agent.envs.sim.profiles import DEFAULT_PROFILE, Profile, profile_named
from qvl_agent.envs.sim.render import NAV_BUTTONS, StatusBar, render
from qvl_agent.envs.sim.settings_store import ADB_IME, LATIN_IME, SettingsStore
from qvl_agent.envs.sim.shell import run_line
from qvl_agent.envs.sim.store import ContentStore
from qvl_agent.envs.sim.widgets import (
    NAV_BAR_TOP, SCREEN_H, SCREEN_W, STATUS_BAR_H, Paint, Widget, hit, scroll_target,
)

__all__ = ["Phone", "PhoneConfig"]

P = ParamSpec("P")
R = TypeVar("R")

TOUCH_SLOP = 24             # px a finger may move and still tap (8 dp)
LONG_PRESS_MS = 500
_KEY_HOME, _KEY_BACK, _KEY_ESCAPE = 3, 4, 111
_KEY_NEXT = {61, 66, 160}           # TAB, ENTER, NUMPAD_ENTER
_KEY_DELETE = {67, 112}             # DEL (backspace), FORWARD_DEL
_KEY_CHARS = {
    62: " ", 55: ",", 56: ".", 68: "`", 69: "-", 70: "=", 71: "[", 72: "]", 73: "\\", 74: ";",
    75: "'", 76: "/", 77: "@", 81: "+", 17: "*", 18: "#",
    **{7 + digit: str(digit) for digit in range(10)},
    **{29 + letter: chr(ord("a") + letter) for letter in range(26)},
}


def _locked(method: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with args[0].lock:  # type: ignore[attr-defined]
            return method(*args, **kwargs)
    return wrapper


@dataclass(frozen=True)
class PhoneConfig:
    """What distinguishes one virtual phone from another."""

    serialno: str = "qvl-sim"
    model: str | None = None        # ro.product.model; None: the profile's
    adb_keyboard: bool = True       # installed; enabled only if the profile says so
    profile: str = DEFAULT_PROFILE  # which release's quirks (envs.sim.profiles)
    animations: bool = True         # the screen moves for a moment after each input


class Phone:
    """A virtual Android phone (its ``Profile`` says which release), 1080x2400 at 420 dpi
    unless the profile overrides the size, with five apps and a launcher."""

    def __init__(self, config: PhoneConfig | None = None) -> None:
        self.config = config or PhoneConfig()
        self.profile: Profile = profile_named(self.config.profile)
        self.model = self.config.model or self.profile.model
        # The logical display: what `wm size` reports, screencap returns and input takes.
        self.display = self.profile.override_size or (SCREEN_W, SCREEN_H)
        self.scale = SCREEN_W / self.display[0]
        self._animating_until = 0.0
        self._ime_ready_at = 0.0
        self.lock = threading.RLock()
        self.settings = SettingsStore()
        self.launcher = launcher(APPS)
        self.apps: dict[str, App] = {app.package: app for app in (self.launcher, *APPS)}
        self.data = ContentStore(table for app in APPS for table in app.tables)
        self.packages = installed_packages((self.launcher, *APPS),
                                           adb_keyboard=self.config.adb_keyboard)
        self.files = Files()
        if self.config.adb_keyboard and self.profile.adb_keyboard_enabled:
            self.settings.put("secure", "enabled_input_methods", f"{LATIN_IME}:{ADB_IME}")
        self._stacks: dict[str, list[Screen]] = {}
        self._task_ids: dict[str, int] = {}
        self._recent: list[str] = []        # running packages, most recent first
        self._next_task = 1
        self._finger: tuple[float, float, float] | None = None     # motionevent DOWN
        self.foreground = self.launcher.package
        self.launch(self.launcher.package)

    def shell(self, command: str) -> ShellResult:
        """Run one ``adb shell`` command line; this is the daemon's ``ShellHandler``."""
        # adbd keeps bytes that are not UTF-8 as lone surrogates; SQLite and the fonts cannot
        # store or draw those, so they become U+FFFD here, once.
        command = command.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return run_line(self, command)

    # ----- tasks: which app is in front, and its pages

    @_locked
    def launch(self, package: str) -> None:
        """Bring ``package`` to the front, resuming its task or starting it at its first page.

        Raises:
            KeyError: no app with screens has that package.
        """
        app = self.apps[package]
        if package not in self._stacks:
            self._stacks[package] = [app.root()]
            self._task_ids[package] = self._next_task
            self._next_task += 1
        self.foreground = package
        self._recent = [package, *(p for p in self._recent if p != package)]

    def home(self) -> None:
        self.launch(self.launcher.package)

    @_locked
    def push(self, screen: Screen) -> None:
        self._stacks[self.foreground].append(screen)

    @_locked
    def pop(self) -> None:
        """Close the top page; closing an app's last page finishes it and shows home."""
        stack = self._stacks[self.foreground]
        if len(stack) > 1:
            stack.pop()
        elif self.foreground != self.launcher.package:
            self.force_stop(self.foreground)

    @_locked
    def back(self) -> None:
        """BACK: hide the keyboard if a field has focus, else close the page."""
        screen = self.current_screen()
        if screen.focus is not None:
            screen.focus = None
        else:
            self.pop()

    @_locked
    def force_stop(self, package: str) -> None:
        """End an app's task (its pages and what was typed in them); its data stays."""
        if package == self.launcher.package:
            self._stacks[package] = [self.launcher.root()]
            return
        self._stacks.pop(package, None)
        self._task_ids.pop(package, None)
        self._recent = [p for p in self._recent if p != package]
        if self.foreground == package:
            self.home()

    @_locked
    def clear(self, package: str) -> None:
        """``pm clear``: stop the app and empty its data."""
        if package in self.apps:
            self.force_stop(package)
        self.data.reset(package)

    def is_running(self, package: str) -> bool:
        return package in self._stacks

    def running_packages(self) -> list[str]:
        return list(self._recent)

    def task_id(self, package: str) -> int:
        return self._task_ids.get(package, 0)

    def stack_depth(self, package: str) -> int:
        return len(self._stacks.get(package, ()))

    def current_screen(self) -> Screen:
        return self._stacks[self.foreground][-1]

    def app_for_component(self, component: str) -> App | None:
        """The app whose launcher activity ``component`` (``pkg/.Act`` or ``pkg/pkg.Act``) is."""
        package, _, activity = component.partition("/")
        app = self.apps.get(package)
        if app is None or app.activity_class(activity or None) != app.activity_class():
            return None
        return app

    # ----- keyboards

    def adb_keyboard_installed(self) -> bool:
        return ADB_KEYBOARD in self.packages

    def adb_keyboard_active(self) -> bool:
        """Whether ADB Keyboard would receive ``ADB_INPUT_*`` broadcasts now: it is the current
        keyboard and its service has bound (it registers its receiver only then)."""
        return (self.adb_keyboard_installed()
                and self.settings.get("secure", "default_input_method") == ADB_IME
                and time.monotonic() >= self._ime_ready_at)

    def select_ime(self, ime_id: str) -> None:
        """``ime set``: the setting changes now, the keyboard's service binds a moment later."""
        if self.settings.get("secure", "default_input_method") != ime_id:
            self._ime_ready_at = time.monotonic() + self.profile.ime_bind_s
        self.settings.put("secure", "default_input_method", ime_id)

    # ----- animations

    def animate(self) -> None:
        """An input moved something: the screen is in motion for the profile's duration."""
        if self.config.animations:
            self._animating_until = time.monotonic() + self.profile.animation_s

    def animation_progress(self) -> float | None:
        """How far the running animation is (0..1), or None when the screen is still."""
        left = self._animating_until - time.monotonic()
        if left <= 0:
            return None
        return 1.0 - left / self.profile.animation_s

    def current_ime_package(self) -> str:
        return (self.settings.get("secure", "default_input_method") or LATIN_IME).split("/")[0]

    @_locked
    def type_text(self, text: str) -> None:
        """Type into the focused field (nothing happens when none has focus)."""
        self.current_screen().type(text)

    def commit_text(self, text: str) -> None:
        """What an input method commits: any Unicode text, into the focused field."""
        self.type_text(text)

    @_locked
    def key(self, code: int) -> None:
        """Press and release the key with Android key code ``code``."""
        screen = self.current_screen()
        if code == _KEY_HOME:
            self.home()
        elif code in (_KEY_BACK, _KEY_ESCAPE):
            self.back()
        elif code in _KEY_NEXT:
            screen.next_field()
        elif code in _KEY_DELETE:
            screen.delete()
        elif code in _KEY_CHARS:
            screen.type(_KEY_CHARS[code])
        # Anything else (volume, power, MENU, APP_SWITCH...) changes nothing here.

    # ----- touch

    @_locked
    def tap(self, x: float, y: float) -> None:
        """A finger down and up at (x, y): the navigation bar, or the widget drawn there."""
        if y >= NAV_BAR_TOP:
            for button, (left, _, right, _) in NAV_BUTTONS.items():
                if left <= x < right and button == "back":
                    self.back()
                elif left <= x < right and button == "home":
                    self.home()
            return      # recents: the app switcher is not modelled
        if y < STATUS_BAR_H:
            return      # the notification shade is not modelled
        if (target := hit(self.tree(), x, y)) is not None and target.on_click is not None:
            target.on_click()

    @_locked
    def swipe(self, x1: float, y1: float, x2: float, y2: float, duration_ms: int = 300) -> None:
        """A drag: scrolls the list under its start; a short one is a tap or a long press."""
        if math.hypot(x2 - x1, y2 - y1) < TOUCH_SLOP:
            if duration_ms < LONG_PRESS_MS:
                self.tap(x1, y1)
            return      # a long press: nothing on this phone has a long-press action
        if not STATUS_BAR_H <= y1 < NAV_BAR_TOP or abs(y2 - y1) < abs(x2 - x1):
            return      # edge gestures and sideways drags do nothing here
        target = scroll_target(self.tree(), x1, y1)
        if target is not None and target.on_scroll is not None:
            target.on_scroll(round(y2 - y1))

    @_locked
    def touch(self, action: str, x: float, y: float) -> None:
        """``input motionevent``: DOWN remembers the finger, UP plays the gesture."""
        if action == "DOWN":
            self._finger = (x, y, time.monotonic())
        elif action == "UP" and self._finger is not None:
            x0, y0, since = self._finger
            self._finger = None
            self.swipe(x0, y0, x, y, int((time.monotonic() - since) * 1000))
        elif action == "CANCEL":
            self._finger = None

    # ----- what is on screen

    @_locked
    def tree(self) -> Widget:
        """The foreground app's window as a widget tree (the status and nav bars are not in it)."""
        package = self.foreground
        root = Widget("android.widget.FrameLayout", (0, 0, SCREEN_W, SCREEN_H),
                      paint=Paint(background="#FFFFFF"),
                      children=self.current_screen().build(self))
        for widget in root.walk():
            widget.package = package
        return root

    @_locked
    def status_bar(self) -> StatusBar:
        return StatusBar(wifi=self.settings.radio("wifi_on"),
                         bluetooth=self.settings.radio("bluetooth_on"),
                         airplane=self.settings.radio("airplane_mode_on"),
                         background=self.apps[self.foreground].bar)

    @_locked
    def screenshot(self) -> Image.Image:
        """The screen as an RGB image at the display's size; mid-animation, a frame fading in."""
        image = render(self.tree(), self.status_bar())
        progress = self.animation_progress()
        if progress is not None:
            # Eight steps, so captures taken a moment apart during the motion differ.
            alpha = 0.5 * (1.0 - round(progress * 8) / 8)
            image = Image.blend(image, Image.new("RGB", image.size, "#FFFFFF"), alpha)
        if self.display != image.size:
            image = image.resize(self.display, Image.Resampling.BILINEAR)
        return image
