"""``BrowserEnv``: a Chromium page driven by Playwright.

Coordinates are CSS pixels of the viewport. On a HiDPI context (``device_scale_factor`` > 1)
the screenshot is larger than the viewport; ``Observation.screen`` stays the viewport and
the model layer's Frame handles the ratio.
"""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from PIL import Image
from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.envs.actions import Action, Click, Drag, KeyPress, LongPress, MoveTo, Scroll, TypeText, Wait
from qvl_agent.envs.base import EnvBase, EnvKind, Observation, Size
from qvl_agent.envs.chromium import find_chromium, launch_args
from qvl_agent.envs.cookies import read_cookies
from qvl_agent.envs.errors import (
    ConfigError, EnvDisconnectedError, EnvError, EnvNotFoundError, UnsupportedActionError,
)
from qvl_agent.envs.keys import is_character
from qvl_agent.envs.serve import FolderServer

__all__ = ["BrowserConfig", "BrowserEnv", "PLAYWRIGHT_KEYS"]

# Canonical key names (envs.keys) to Playwright's.
PLAYWRIGHT_KEYS = {
    "ctrl": "Control", "alt": "Alt", "shift": "Shift", "meta": "Meta", "enter": "Enter",
    "escape": "Escape", "tab": "Tab", "space": "Space", "backspace": "Backspace",
    "delete": "Delete", "insert": "Insert", "up": "ArrowUp", "down": "ArrowDown",
    "left": "ArrowLeft", "right": "ArrowRight", "home": "Home", "end": "End",
    "pageup": "PageUp", "pagedown": "PageDown", "capslock": "CapsLock", "numlock": "NumLock",
    "scrolllock": "ScrollLock", "printscreen": "PrintScreen", "pause": "Pause",
    "contextmenu": "ContextMenu", **{f"f{i}": f"F{i}" for i in range(1, 13)},
}


_TWO_FRAMES = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


class BrowserConfig(BaseModel):
    """How to start the browser; validated once, at the edge."""

    model_config = ConfigDict(extra="forbid")
    url: str | None = Field(None, description="page to open first (with serve: a path in that folder)")
    serve: str | None = Field(None, description="a folder served on 127.0.0.1 while the browser is open")
    width: int = Field(1280, ge=100, le=7680, description="viewport width in CSS pixels")
    height: int = Field(720, ge=100, le=4320, description="viewport height in CSS pixels")
    device_scale_factor: float = Field(1.0, gt=0, le=4)
    headless: bool = True
    browser_path: str | None = Field(None, description="Chromium/Chrome binary to launch")
    allowed_domains: list[str] | None = Field(
        None, description="if set, navigation to any other host is blocked and reported")
    settle_s: float = Field(0.0, ge=0, le=5, description="pause after each action for the page to react")
    user_agent: str | None = Field(None, description="the User-Agent the page sees (default: Chromium's)")
    ignore_https_errors: bool = Field(False, description="open pages with invalid certificates")
    extra_http_headers: dict[str, str] | None = Field(None, description="sent with every request")
    cookie_file: str | None = Field(None, description="a JSON list of cookies set before the first page")


class BrowserEnv(EnvBase):
    kind = EnvKind.browser
    SUPPORTED = frozenset({Click, LongPress, MoveTo, Drag, Scroll, TypeText, KeyPress, Wait})

    def __init__(self, config: BrowserConfig | None = None, **overrides: Any) -> None:
        self.config = config or BrowserConfig(**overrides)
        from playwright.sync_api import Error as PlaywrightError

        self._error = PlaywrightError
        self._pw = _driver.acquire()
        try:
            executable = find_chromium(self.config.browser_path,
                                       playwright_path=self._pw.chromium.executable_path)
            self._browser = self._pw.chromium.launch(
                executable_path=executable, headless=self.config.headless, args=launch_args(),
                # A terminal's Ctrl-C reaches Playwright's driver too: the run decides what
                # it means (a pause, in a terminal), so the driver must not close the browser.
                handle_sigint=False)
        except EnvNotFoundError:
            _driver.release()
            raise
        except PlaywrightError as exc:
            _driver.release()
            raise EnvNotFoundError(f"Chromium would not start: {_first_line(exc)}") from None
        self.blocked: list[str] = []
        self._pointer = (0.0, 0.0)
        self._server: FolderServer | None = None
        try:
            url = self.config.url
            if self.config.serve is not None:
                self._server = FolderServer(Path(self.config.serve)).start()
                url = self._server.url(url or "")
            self._context = self._browser.new_context(
                viewport={"width": self.config.width, "height": self.config.height},
                device_scale_factor=self.config.device_scale_factor,
                user_agent=self.config.user_agent,
                ignore_https_errors=self.config.ignore_https_errors,
                extra_http_headers=self.config.extra_http_headers,
            )
            if self.config.cookie_file is not None:
                self._context.add_cookies(read_cookies(Path(self.config.cookie_file), url))
            if self.config.allowed_domains is not None:
                self._context.route("**/*", self._guard)
            self._page = self._context.new_page()
            self._context.on("page", self._follow)
            if url:
                self.goto(url)
        except BaseException:
            self.close()  # an unreachable --url must not leave a Chromium behind
            raise

    # -- the Env contract -------------------------------------------------------------

    def observe(self) -> Observation:
        try:
            self._settle()
            image = self._capture()
            extras = {"url": self._page.url}
        except self._error as exc:
            raise self._lost(exc) from None
        if self.blocked:
            extras["blocked_navigations"] = list(self.blocked)
        return Observation(screenshot=image,
                           screen=Size(width=self.config.width, height=self.config.height),
                           extras=extras)

    def _execute(self, action: Action) -> None:
        mouse, keyboard = self._page.mouse, self._page.keyboard
        try:
            match action:
                case Click(at=at, button=button, count=count):
                    x, y = (at.x, at.y) if at is not None else self._pointer
                    mouse.click(x, y, button=button, click_count=count)
                    self._pointer = (x, y)
                case LongPress(at=at, seconds=seconds):
                    self._move_to(at)
                    mouse.down()
                    time.sleep(seconds)
                    mouse.up()
                case MoveTo(at=at):
                    self._move_to(at)
                case Drag(start=start, end=end):
                    self._move_to(start)
                    mouse.down()
                    mouse.move(end.x, end.y, steps=12)
                    self._pointer = (end.x, end.y)
                    mouse.up()
                case Scroll(dx=dx, dy=dy, at=at):
                    self._move_to(at)
                    mouse.wheel(dx, dy)
                    # The wheel returns before the page scrolls; two frames later it has.
                    self._page.evaluate(_TWO_FRAMES)
                case TypeText(text=text):
                    keyboard.type(text)
                case KeyPress(keys=keys):
                    names = [self._key(k) for k in keys]  # all checked before any goes down
                    for name in names:
                        keyboard.down(name)
                    for name in reversed(names):
                        keyboard.up(name)
                case Wait(seconds=seconds):
                    time.sleep(seconds)
                case _:
                    raise UnsupportedActionError(f"the browser env cannot do '{action.kind}'")
            if self.config.settle_s and not isinstance(action, Wait):
                time.sleep(self.config.settle_s)
        except self._error as exc:
            raise self._lost(exc) from None

    def _close(self) -> None:
        context, server = getattr(self, "_context", None), getattr(self, "_server", None)
        for close in (context.close if context else None, self._browser.close, _driver.release,
                      server.stop if server else None):
            try:
                if close is not None:
                    close()
            except Exception:  # noqa: BLE001 - closing a browser that already died
                pass

    # -- helpers ----------------------------------------------------------------------

    @property
    def page(self) -> Any:
        """The Playwright page (for tasks that set up or read the page's state)."""
        return self._page

    def goto(self, url: str) -> None:
        """Open ``url`` in the current page and wait for it to load.

        Raises:
            ConfigError: ``url``'s host is not on the allow-list (``--allow-domain``).
            EnvError: the page cannot be opened.
        """
        if self.config.allowed_domains is not None and not self._allowed(url):
            host = urlsplit(url).hostname or url
            raise ConfigError(
                f"cannot open {url}: its host {host} is not on the allow-list (--allow-domain "
                f"{' --allow-domain '.join(self._domains) or '(none)'}); add --allow-domain {host}, "
                "or start from a page on an allowed host")
        try:
            self._page.goto(url, wait_until="load")
        except self._error as exc:
            raise EnvError(f"cannot open {url}: {_first_line(exc)}") from None

    def resize(self, width: int, height: int) -> None:
        """Change the viewport (CSS pixels); later observations use the new screen size."""
        self.config = self.config.model_copy(update={"width": width, "height": height})
        try:
            self._page.set_viewport_size({"width": width, "height": height})
        except self._error as exc:
            raise self._lost(exc) from None

    def _move_to(self, at: Any) -> tuple[float, float]:
        if at is not None:
            self._page.mouse.move(at.x, at.y)
            self._pointer = (at.x, at.y)
        return self._pointer

    def _key(self, key: str) -> str:
        if key in PLAYWRIGHT_KEYS:
            return PLAYWRIGHT_KEYS[key]
        if is_character(key):
            return key
        raise UnsupportedActionError(f"a browser has no key {key!r}")

    def _capture(self) -> Image.Image:
        # Playwright's screenshot, not a raw CDP capture: a raw Page.captureScreenshot sent
        # while a navigation commits can hang for ever, and Playwright's waits that out.
        # caret="initial" skips the caret-hiding style (~30 ms a shot); the model should see
        # the caret anyway, it tells where typing goes.
        for attempt in range(3):
            try:
                shot = self._page.screenshot(type="png", caret="initial", timeout=30_000)
                return _decode(shot)
            except self._error:
                if attempt == 2 or self._page.is_closed():
                    raise
                # "Unable to capture screenshot" while a new document is being painted.
                self._page.wait_for_timeout(200)
        raise AssertionError("unreachable")

    def settle(self, quiet_s: float = 0.3) -> None:
        """Give a navigation the last click started time to commit, then wait for it to load."""
        try:
            self._page.wait_for_timeout(quiet_s * 1000)  # also lets Playwright see the events
        except self._error as exc:
            raise self._lost(exc) from None
        self._settle()

    def _settle(self) -> None:
        try:
            self._page.wait_for_load_state("load", timeout=5000)
        except self._error:
            pass  # a slow page is still worth a look

    def _follow(self, page: Any) -> None:
        """A link that opens a new tab: keep working in the newest tab."""
        self._page = page

    def _guard(self, route: Any) -> None:
        request = route.request
        if request.is_navigation_request() and not self._allowed(request.url):
            self.blocked.append(request.url)
            # 204 No Content cancels a navigation and keeps the current page (an abort
            # would show Chromium's error page instead).
            route.fulfill(status=204, body="")
        else:
            route.continue_()

    def _allowed(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in ("about", "data", "blob"):
            return True
        host = (parts.hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self._domains)

    @property
    def _domains(self) -> list[str]:
        return [d.lower().strip().lstrip(".") for d in self.config.allowed_domains or []]

    def _lost(self, exc: Exception) -> EnvError:
        message = _first_line(exc)
        if "closed" in message.lower() or "crash" in message.lower():
            return EnvDisconnectedError(f"the browser went away: {message}")
        return EnvError(f"the browser failed: {message}")


class _Driver(threading.local):
    """One Playwright driver per thread, shared by that thread's envs.

    Playwright's sync API allows one running instance per thread, so two BrowserEnvs in one
    thread (a test's fixture and its own env, a task comparing two pages) must share it.
    """

    def __init__(self) -> None:
        self.playwright: Any = None
        self.users = 0

    def acquire(self) -> Any:
        if self.playwright is None:
            from playwright.sync_api import sync_playwright

            self.playwright = sync_playwright().start()
        self.users += 1
        return self.playwright

    def release(self) -> None:
        self.users -= 1
        if self.users <= 0 and self.playwright is not None:
            playwright, self.playwright, self.users = self.playwright, None, 0
            playwright.stop()


_driver = _Driver()


def _decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image if image.mode == "RGB" else image.convert("RGB")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else exc.__class__.__name__
