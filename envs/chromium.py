"""Finding a Chromium to drive, without downloading one."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from qvl_agent.envs.errors import EnvNotFoundError

__all__ = ["find_chromium", "BROWSER_ENV_VAR", "launch_args"]

BROWSER_ENV_VAR = "QVL_BROWSER"

_SYSTEM_NAMES = ["chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome"]
_SYSTEM_PATHS = [
    "/usr/bin/chromium", "/usr/bin/chromium-browser", "/snap/bin/chromium",
    "/usr/bin/google-chrome", "/opt/google/chrome/chrome",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
]


def find_chromium(explicit: str | None = None, *, playwright_path: str | None = None) -> str:
    """The Chromium executable to launch.

    Order: ``explicit`` (``--browser-path``), then ``$QVL_BROWSER``, then Playwright's own
    Chromium if it is installed (``playwright_path``, as Playwright reports it), then a
    system Chromium or Chrome. Raises ``EnvNotFoundError`` naming everything it tried.
    """
    for source, value in (("--browser-path", explicit), (f"${BROWSER_ENV_VAR}", os.environ.get(BROWSER_ENV_VAR))):
        if value:
            if _is_executable(value):
                return value
            raise EnvNotFoundError(f"{source} {value!r} is not an executable file; "
                                   "give the path to a Chromium or Chrome binary")
    tried = []
    if playwright_path:
        if _is_executable(playwright_path):
            # Launched by its path like any other: left to itself, Playwright 1.49+ runs a
            # separate headless shell, which an install with --no-shell does not have.
            return playwright_path
        tried.append(f"Playwright's Chromium ({playwright_path})")
    for name in _SYSTEM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    tried.append("PATH: " + ", ".join(_SYSTEM_NAMES))
    for path in _SYSTEM_PATHS:
        if _is_executable(path):
            return path
    tried.append(", ".join(_SYSTEM_PATHS))
    raise EnvNotFoundError(
        "no Chromium found (tried " + "; ".join(tried) + "); install one (Debian: apt install "
        f"chromium) or pass --browser-path / set ${BROWSER_ENV_VAR}"
    )


def launch_args() -> list[str]:
    """Flags that keep Chromium quiet and working on a locked-down machine."""
    args = ["--disable-gpu", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-quic",
            "--disable-dev-shm-usage", "--disable-smooth-scrolling",
            "--disable-features=BackForwardCache"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start as root with the sandbox
    return args


def _is_executable(path: str) -> bool:
    candidate = Path(path)
    return candidate.is_file() and os.access(candidate, os.X_OK)
