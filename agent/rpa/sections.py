"""A script's screen, ``agent:`` and ``config:`` sections (Midscene's keys and defaults).

Each section keeps the keys qvl-agent acts on; every other key Midscene documents for it is
accepted, noted as ignored with the reason, and dropped; any other key is a problem.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qvl_agent.agent.rpa.findings import Findings
from qvl_agent.agent.rpa.yamldoc import shorten

__all__ = ["WebTarget", "NetworkIdle", "AndroidTarget", "ComputerTarget", "ConfigSection",
           "AgentConfig", "CacheConfig", "read_screen", "read_section", "read_agent", "find_folder"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class NetworkIdle(_Strict):
    timeout: int = Field(2000, ge=0, le=600_000, description="milliseconds")
    continueOnNetworkIdleError: bool = True  # noqa: N815


class WebTarget(_Strict):
    url: str = Field(min_length=1, description="the page to open; with serve:, a path in that folder")
    serve: str | None = Field(None, description="a folder served on 127.0.0.1 (made absolute at load)")
    viewportWidth: int = Field(1440, ge=100, le=7680)  # noqa: N815 - Midscene's names and defaults
    viewportHeight: int = Field(800, ge=100, le=4320)  # noqa: N815
    deviceScaleFactor: float = Field(1.0, gt=0, le=4, description="2 for a HiDPI page")  # noqa: N815
    userAgent: str | None = None  # noqa: N815
    acceptInsecureCerts: bool = False  # noqa: N815
    cookie: str | None = Field(None, description="a JSON file of cookies set before the page opens")
    extraHTTPHeaders: dict[str, str] | None = None  # noqa: N815
    waitForNetworkIdle: NetworkIdle | None = None  # noqa: N815
    output: str | None = Field(None, description="a JSON file that also receives the results")


class AndroidTarget(_Strict):
    deviceId: str | None = Field(None, description="adb serial, or 'sim' for the virtual phone")  # noqa: N815
    launch: str | None = Field(None, description="a URL (opened with a VIEW intent), a package, "
                               "package/activity, or an app's label")
    exposeRunAdbShellAction: bool = True  # noqa: N815
    output: str | None = None


class ComputerTarget(_Strict):
    display: str = Field("virtual", description="'virtual' (a managed Xvfb) or an X display like ':0'")
    launch: str | None = Field(None, description="a command to start first")
    output: str | None = None


class ConfigSection(_Strict):
    output: str | None = None


class CacheConfig(_Strict):
    id: str = Field(min_length=1, description="names the cache file: <id>.cache.yaml")
    strategy: Literal["read-write", "read-only", "write-only"] = "read-write"


class AgentConfig(_Strict):
    cache: CacheConfig | None = None
    aiActContext: str | None = Field(None, description="background the model gets for ai steps")  # noqa: N815
    testId: str | None = None  # noqa: N815
    groupName: str | None = None  # noqa: N815
    groupDescription: str | None = None  # noqa: N815
    reportFileName: str | None = Field(None, description="names the run directory")  # noqa: N815
    autoPrintReportMsg: bool = True  # noqa: N815
    replanningCycleLimit: int | None = Field(None, ge=1, le=100, description="an ai step's budget")  # noqa: N815


_LOG = "Midscene's internal log; the run directory holds every step"
_SCREENSHOTS = "screenshots are taken with screencap on the default display"
_KEYBOARD = "the keyboard is left as typing leaves it"
_TAB = "the browser always goes on in the newest tab"
IGNORED_KEYS: dict[str, dict[str, str]] = {
    "web": {
        "unstableLogContent": _LOG, "mode": _TAB, "forceSameTabNavigation": _TAB,
        "autoFollowNewPage": _TAB, "downloadPath": "downloads are not kept",
        "chromeArgs": "qvl-agent starts Chromium with its own flags",
        "bridgeMode": "the page opens in qvl-agent's own browser, not in your Chrome",
        "closeNewTabsAfterDisconnect": "a bridge-mode option",
        "cdpEndpoint": "qvl-agent starts its own Chromium instead of joining a running one",
    },
    "android": {
        "unstableLogContent": _LOG,
        "androidAdbPath": "the adb server qvl-agent starts (or ANDROID_ADB_SERVER_PORT's) is used",
        "remoteAdbHost": "the local adb server is used", "remoteAdbPort": "the local adb server is used",
        "imeStrategy": "non-ASCII text is typed through ADB Keyboard",
        "screenshotStrategy": _SCREENSHOTS, "displayId": _SCREENSHOTS,
        "usePhysicalDisplayIdForScreenshot": _SCREENSHOTS,
        "usePhysicalDisplayIdForDisplayLookup": _SCREENSHOTS,
        "minScreenshotBufferSize": _SCREENSHOTS, "alwaysRefreshScreenInfo": _SCREENSHOTS,
        "scrcpyConfig": _SCREENSHOTS, "screenshotResizeScale": "a removed Midscene option",
        "autoDismissKeyboard": _KEYBOARD, "keyboardDismissStrategy": _KEYBOARD,
        "keyboardTypeDelay": "text is typed at the device's own pace",
    },
    "computer": {"unstableLogContent": _LOG, "displayId": "pick the X display with display:"},
    "config": {"unstableLogContent": _LOG},
    "agent": {
        "generateReport": "the run directory and its report.html are always written",
        "persistExecutionDump": _LOG,
        "screenshotShrinkFactor": "screenshots are sized for the model by smart_resize (--max-pixels)",
    },
}


def find_folder(name: str, base: Path, script: Path) -> Path | None:
    """``name`` from the working directory (Midscene's rule), else next to the script."""
    given = Path(name).expanduser()
    for start in (base, script.parent):
        candidate = given if given.is_absolute() else start / given
        if candidate.is_dir():
            return candidate.resolve()
    return None


def read_section(model: type[BaseModel], raw: Any, at: tuple[Any, ...], found: Findings,
                 ignored: dict[str, str] | None = None) -> Any:
    """``raw`` validated as ``model``; known-but-unused keys noted, every problem reported."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        found.problem(at, "is a mapping of settings")
        return None
    raw = dict(raw)
    for key in list(raw):
        if key in (ignored or {}):
            value = raw.pop(key)
            if value not in (None, False, "", [], {}):
                found.ignore((*at, key), ".".join(map(str, (*at[:1], key))), ignored[key])  # type: ignore[index]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        names = list(model.model_fields) + list(ignored or {})
        for error in exc.errors():
            where = (*at, *error["loc"][:1])
            if error["type"] == "extra_forbidden":
                key = str(error["loc"][0])
                close = difflib.get_close_matches(key, names, n=1, cutoff=0.7)
                found.problem(where, "unknown key" + (f"; did you mean {close[0]}?" if close else ""))
            elif error["type"] == "missing":
                found.problem(where, "is required")
            else:
                found.problem(where, error["msg"])
        return None


def read_screen(key: str, raw: Any, found: Findings, base: Path, path: Path,
                device: str | None) -> Any:
    """The screen section ``key`` (``web`` and its aliases, ``android``, ``computer``)."""
    at = (key,)
    raw = dict(raw) if isinstance(raw, dict) else raw
    if key == "android":
        if isinstance(raw, dict) and isinstance(raw.get("deviceId"), (int, float)):
            raw["deviceId"] = str(raw["deviceId"])  # Midscene quotes a numeric serial too
        section = read_section(AndroidTarget, raw, at, found, IGNORED_KEYS["android"])
        if section is not None and device:
            section.deviceId = device
        return section
    if key == "computer":
        return read_section(ComputerTarget, raw, at, found, IGNORED_KEYS["computer"])
    if isinstance(raw, dict):
        if raw.get("bridgeMode") == "currentTab":
            found.problem((*at, "bridgeMode"), "currentTab drives the tab open in your Chrome "
                          "through Midscene's extension, which qvl-agent cannot reach; remove "
                          "bridgeMode and give url: to open the page in qvl-agent's browser")
            return None
        if "mode" in raw and raw["mode"] not in ("page", "browser"):
            found.problem((*at, "mode"), "is page or browser")
            return None
    section = read_section(WebTarget, raw, at, found, IGNORED_KEYS["web"])
    if section is None:
        return None
    if section.serve is not None:
        root = find_folder(section.serve, base, path)
        if root is None:
            found.problem((*at, "serve"), f"no folder {shorten(section.serve)} in {base} "
                          f"or next to the script")
            return None
        section.serve = str(root)
        if "://" in section.url:
            found.problem((*at, "url"), "with serve:, url: is a path in the served folder")
    if section.cookie is not None:
        cookie = Path(section.cookie).expanduser()
        cookie = cookie if cookie.is_absolute() else base / cookie
        if not cookie.is_file():
            found.problem((*at, "cookie"), f"no cookie file {shorten(section.cookie)} in {base}")
            return None
        section.cookie = str(cookie)
    return section


def read_agent(raw: Any, found: Findings, path: Path) -> AgentConfig | None:
    """``agent:``, with Midscene's ``cache`` forms: ``true``/``false``, ``{id, strategy}``
    (id defaults to the script's name), and the older ``strategy:`` beside ``cache: true``."""
    if not isinstance(raw, dict):
        found.problem(("agent",), "is a mapping of settings")
        return None
    raw = dict(raw)
    cache = raw.pop("cache", None)
    strategy = raw.pop("strategy", None)
    if "aiActionContext" in raw:  # Midscene's older name
        old = raw.pop("aiActionContext")
        raw.setdefault("aiActContext", old)
    if cache is True:
        cache = {"id": path.stem}
    elif cache in (False, None):
        if strategy is not None:
            found.problem(("agent", "strategy"), "strategy: goes with a cache; add cache: true")
        cache = None
    elif isinstance(cache, dict):
        cache = {"id": path.stem, **cache}
    else:
        found.problem(("agent", "cache"), "is true, false, or {id: ..., strategy: ...}")
        cache = None
    if cache is not None and strategy is not None:
        cache = {**cache, "strategy": cache.get("strategy", strategy)}
    if cache is not None:
        cache = read_section(CacheConfig, cache, ("agent", "cache"), found)
    config = read_section(AgentConfig, raw, ("agent",), found, IGNORED_KEYS["agent"])
    if config is not None and cache is not None:
        config.cache = cache
    return config
