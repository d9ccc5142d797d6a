"""Steps that work a particular screen's own machinery rather than its pixels.

``javascript`` runs in the web page and ``runAdbShell`` on the phone: the script's author
wrote that code (the model never does), so it runs as written. ``launch`` opens a URL on a
phone with a VIEW intent (as Midscene does), or an activity, a package or an app by its label;
``terminate`` force-stops a package. The runner refuses, before anything opens, a step on a
screen that has no such machinery.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qvl_agent.agent.rpa.yamldoc import cut, shorten
from qvl_agent.envs.actions import Action, KeyPress, SystemButton
from qvl_agent.envs.errors import EnvError

__all__ = ["evaluate", "adb_shell", "launch", "terminate", "system_button", "tap_with_files",
           "clear_focused_field", "SCREENS"]

# Which screens each step works on (the runner's preflight reads this).
SCREENS = {"javascript": ("web",), "runAdbShell": ("android",), "launch": ("android",),
           "terminate": ("android",), "AndroidBackButton": ("android",),
           "AndroidHomeButton": ("android",)}


def _page(env: Any) -> Any:
    page = getattr(env, "page", None)
    if page is None:
        raise EnvError("this step needs a web page (web:)")
    return page


def evaluate(env: Any, code: str) -> Any:
    """``code`` evaluated in the page (an expression, or a function Playwright calls)."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        value = _page(env).evaluate(code)
    except PlaywrightError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise EnvError(f"the page's JavaScript failed: {cut(first, 200)}") from None
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        value = str(value)
    return value


def adb_shell(env: Any, command: str, timeout_ms: int) -> str:
    """``command`` run by the phone's shell; its output. A non-zero exit fails the step."""
    shell = getattr(env, "shell", None)
    if shell is None:
        raise EnvError("runAdbShell needs an Android device (android:)")
    return shell(command, timeout=timeout_ms / 1000)


def launch(env: Any, uri: str) -> None:
    """Open ``uri`` on a phone as ``AndroidEnv.launch`` does (Midscene's way): a URL with a
    VIEW intent (the browser or app that handles it), ``package/activity`` with ``am start
    -n``, anything else as a package or an app's label."""
    if not callable(getattr(env, "launch", None)):
        raise EnvError("launch needs an Android device")
    env.launch(uri)


def terminate(env: Any, uri: str) -> None:
    package = uri.split("/")[0]
    env.shell(["am", "force-stop", package])


def system_button(kind: str) -> Action:
    return SystemButton(button="back" if kind == "AndroidBackButton" else "home")


def tap_with_files(env: Any, files: list[str], base: Path, tap: Callable[[], None]) -> bool:
    """Do ``tap``, answering the file chooser it opens with ``files`` (from ``base``).
    Returns False when no chooser opened (Midscene goes on then too)."""
    from playwright.sync_api import Error as PlaywrightError

    paths = [str(p if (p := Path(f).expanduser()).is_absolute() else base / p) for f in files]
    missing = [p for p in paths if not Path(p).is_file()]
    if missing:
        raise EnvError(f"fileChooserAccept: no file {shorten(missing[0], 120)}")
    page = _page(env)
    if not getattr(page, "_qvl_intercepts_choosers", False):
        # Playwright intercepts file choosers once a page has a listener; the first
        # listener's request can lose the race with the click, so it is added ahead.
        page.on("filechooser", lambda chooser: None)
        page.evaluate("1")  # a round trip: the interception is on when this returns
        page._qvl_intercepts_choosers = True
    try:
        with page.expect_file_chooser(timeout=10_000) as chooser:
            tap()
    except PlaywrightError:
        return False
    chooser.value.set_files(paths)
    return True


def clear_focused_field(env: Any) -> None:
    """Empty the phone's focused text field: to its end, then one delete per character."""
    nodes = [n for n in env.ui_nodes() if n.get("focused") == "true"]
    length = len(nodes[0].get("text", "")) if nodes else 0
    if not length:
        return
    env.execute(KeyPress(keys=["end"]))
    for start in range(0, length, 50):
        count = min(50, length - start)
        env.shell(["input", "keyevent", *["KEYCODE_DEL"] * count])
