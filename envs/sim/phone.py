"""``Phone``: the virtual phone's whole state, and its shell as an ``AdbDaemon`` handler.

State a real phone keeps is kept here for real: settings, each app's data (SQLite behind
``content://`` URIs), installed packages and keyboards, a few files, the screen's power and
lock, a log, and one stack of screens (a task) per running app with the foreground app on
top. Touches and keys (``envs.sim.interaction``) go to the lock screen while it shows, else
to the foreground screen's widget tree, the same tree that is drawn and dumped.

``Phone.shell`` is thread-safe (the daemon runs streams in parallel); every method that
reads or changes state takes ``Phone.lock``, a re-entrant lock.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from PIL import Image

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.apps import App, Screen, apps_for
from qvl_agent.envs.sim.apps.keyguard import PACKAGE as SYSTEMUI, keyguard_widgets
from qvl_agent.envs.sim.files import Files
from qvl_agent.envs.sim.interaction import Interaction, locked
from qvl_agent.envs.sim.logcat import Logcat
from qvl_agent.envs.sim.packages import ADB_KEYBOARD, installed_packages
from qvl_agent.envs.sim.power import Power
from qvl_agent.envs.sim.profiles import DEFAULT_PROFILE, Profile, profile_named
from qvl_agent.envs.sim.render import StatusBar, render
from qvl_agent.envs.sim.settings_store import ADB_IME, SettingsStore
from qvl_agent.envs.sim.shell import run_line
from qvl_agent.envs.sim.store import ContentStore
from qvl_agent.envs.sim.widgets import SCREEN_H, SCREEN_W, Paint, Widget

__all__ = ["Phone", "PhoneConfig"]


@dataclass(frozen=True)
class PhoneConfig:
    """What distinguishes one virtual phone from another."""

    serialno: str = "qvl-sim"
    model: str | None = None        # ro.product.model; None: the profile's
    adb_keyboard: bool = True       # installed; enabled only if the profile says so
    profile: str = DEFAULT_PROFILE  # which release's quirks (envs.sim.profiles)
    # Real timing: the screen moves for a moment after each input, swipes take their
    # duration, and uiautomator waits for an idle screen (1-3 s a dump). Off: all instant.
    animations: bool = True
    flaky: bool = True              # uiautomator fails now and then, as on phones (seeded)
    seed: int = 0                   # which dumps fail, and how long each one takes
    lock_pin: str | None = None     # a PIN on the lock screen; None: swipe to unlock


class Phone(Interaction):
    """A virtual Android phone (its ``Profile`` says which release and vendor), 1080x2400 at
    420 dpi unless the profile overrides the size, with five apps and a launcher."""

    def __init__(self, config: PhoneConfig | None = None) -> None:
        self.config = config or PhoneConfig()
        self.profile: Profile = profile_named(self.config.profile)
        vendor = self.profile.vendor
        self.model = self.config.model or self.profile.model
        # The logical display: what `wm size` reports, screencap returns and input takes.
        self.display = self.profile.override_size or (SCREEN_W, SCREEN_H)
        self.scale = SCREEN_W / self.display[0]
        self._animating_until = 0.0
        self._events_until = 0.0            # until when the screen sends accessibility events
        self._ime_ready_at = 0.0
        self.dumps = 0                      # uiautomator dumps run so far
        self.lock = threading.RLock()
        self.settings = SettingsStore(ime=vendor.ime,
                                      screen_off_timeout_ms=self.profile.screen_off_timeout_ms)
        self.power = Power(self.settings, pin=self.config.lock_pin)
        self.logcat = Logcat()
        self.launcher, apps = apps_for(self.profile)
        self.apps: dict[str, App] = {app.package: app for app in (self.launcher, *apps)}
        self.data = ContentStore(table for app in apps for table in app.tables)
        self.packages = installed_packages((self.launcher, *apps), vendor=vendor,
                                           adb_keyboard=self.config.adb_keyboard)
        self.files = Files()
        if self.config.adb_keyboard and self.profile.adb_keyboard_enabled:
            self.settings.put("secure", "enabled_input_methods", f"{vendor.ime}:{ADB_IME}")
        self._stacks: dict[str, list[Screen]] = {}
        self._task_ids: dict[str, int] = {}
        self._recent: list[str] = []        # running packages, most recent first
        self._next_task = 1
        self._finger: tuple[float, float, float] | None = None     # motionevent DOWN
        self.clipboard = ""
        self.png_cache: tuple[bytes, bytes] | None = None   # the last frame's PNG, by hash
        self.foreground = self.launcher.package
        self.launch(self.launcher.package)

    def shell(self, command: str) -> ShellResult:
        """Run one ``adb shell`` command line; this is the daemon's ``ShellHandler``."""
        # adbd keeps bytes that are not UTF-8 as lone surrogates; SQLite and the fonts cannot
        # store or draw those, so they become U+FFFD here, once.
        command = command.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        with self.lock:
            self.power.tick()
        return run_line(self, command)

    # ----- tasks: which app is in front, and its pages

    @locked
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

    @locked
    def start_page(self, package: str, page: Screen) -> None:
        """An intent for one page of an app (``android.settings.WIFI_SETTINGS``): it opens on
        top of the app's task, or as a task of its own."""
        if package in self._stacks:
            self.launch(package)
            self._stacks[package].append(page)
        else:
            self.launch(package)
            self._stacks[package] = [page]

    def home(self) -> None:
        self.launch(self.launcher.package)

    @locked
    def push(self, screen: Screen) -> None:
        self._stacks[self.foreground].append(screen)

    @locked
    def pop(self) -> None:
        """Close the top page; closing an app's last page finishes it and shows home."""
        stack = self._stacks[self.foreground]
        if len(stack) > 1:
            stack.pop()
        elif self.foreground != self.launcher.package:
            self.force_stop(self.foreground)

    @locked
    def back(self) -> None:
        """BACK: hide the keyboard if a field has focus, else close the page."""
        screen = self.current_screen()
        if screen.focus is not None:
            screen.focus = None
        else:
            self.pop()

    @locked
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

    @locked
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

    def current_ime_package(self) -> str:
        current = self.settings.get("secure", "default_input_method") or self.profile.vendor.ime
        return current.split("/")[0]

    # ----- motion: what the screenshot fades and what uiautomator waits out

    def animate(self, seconds: float | None = None) -> None:
        """Something moved: the screen is in motion (and sends accessibility events) for the
        profile's animation time, or ``seconds`` (a swipe's duration)."""
        if not self.config.animations:
            return
        now = time.monotonic()
        moving = self.profile.animation_s if seconds is None else seconds
        self._events_until = max(self._events_until, now + moving)
        if seconds is None:
            self._animating_until = now + self.profile.animation_s

    def events_until(self) -> float:
        return self._events_until

    def animation_progress(self) -> float | None:
        """How far the running animation is (0..1), or None when the screen is still."""
        left = self._animating_until - time.monotonic()
        if left <= 0:
            return None
        return 1.0 - left / self.profile.animation_s

    # ----- what is on screen

    @locked
    def window_package(self) -> str:
        """Whose window has the screen: SystemUI's while the lock screen shows."""
        return SYSTEMUI if self.power.keyguard else self.foreground

    @locked
    def tree(self) -> Widget:
        """The window in front as a widget tree (the status and nav bars are not in it): the
        lock screen, or the foreground app with its resource ids under its shipped name."""
        package = self.window_package()
        if package == SYSTEMUI:
            children = keyguard_widgets(self.power, self.profile)
        else:
            children = self.current_screen().build(self)
        root = Widget("android.widget.FrameLayout", (0, 0, SCREEN_W, SCREEN_H),
                      paint=Paint(background="#FFFFFF"), children=children)
        app = self.apps.get(package)
        renamed = app.id_prefix if app is not None and app.aosp_package else ""
        for widget in root.walk():
            widget.package = package
            if renamed and widget.rid.startswith(renamed):
                widget.rid = f"{package}:id/{widget.rid[len(renamed):]}"
        return root

    @locked
    def status_bar(self) -> StatusBar:
        background = "#263238" if self.power.keyguard else self.apps[self.foreground].bar
        return StatusBar(wifi=self.settings.radio("wifi_on"),
                         bluetooth=self.settings.radio("bluetooth_on"),
                         airplane=self.settings.radio("airplane_mode_on"), background=background)

    @locked
    def screenshot(self) -> Image.Image:
        """The screen as an RGB image at the display's size: black while the screen is off;
        mid-animation, a frame fading in."""
        if not self.power.awake:
            return Image.new("RGB", self.display, "#000000")
        image = render(self.tree(), self.status_bar())
        progress = self.animation_progress()
        if progress is not None:
            # Eight steps, so captures taken a moment apart during the motion differ.
            alpha = 0.5 * (1.0 - round(progress * 8) / 8)
            image = Image.blend(image, Image.new("RGB", image.size, "#FFFFFF"), alpha)
        if self.display != image.size:
            image = image.resize(self.display, Image.Resampling.BILINEAR)
        return image
