"""Which screen to open, as data: ``EnvSpec``, one validated spec per kind of screen.

The defaults of every screen are decided here, and only here (the README's "Screens" says
the same):

    BrowserSpec  kind="browser"  url: none (about:blank); viewport 1280x720 CSS pixels;
                                 device_scale 1; headless; browser_path: found
                                 (envs.chromium); allowed_domains: any host; serve: no
                                 local folder; user_agent: Chromium's; no extra headers,
                                 no cookies; certificates checked
    AndroidSpec  kind="android"  device: the only phone adb lists; "sim[:PROFILE]" is the
                                 built-in virtual phone; launch: nothing opened first
    DesktopSpec  kind="desktop"  display: $DISPLAY ("virtual[:WxH[+WxH]]" starts a managed
                                 Xvfb, ":N" is an existing one); monitor: the primary;
                                 sandbox: on (a virtual display runs in envs.sandbox's
                                 throwaway bubblewrap sandbox); unsafe_host: off

``task_spec(kind)`` is what a suite of tasks starts from: the same, except that a desktop is
a virtual display (a task's shell commands must not run on your own desktop). An RPA script
is the one caller that turns the sandbox off: the script is the user's own, and the files it
writes belong on their machine. Its screen sections also set the fields no command-line flag
does (``serve``, ``user_agent``, ``extra_http_headers``, ``cookie_file``,
``ignore_https_errors``, ``launch``), and its own defaults (Midscene's 1440x800 viewport).

``envs.factory.open_env(spec)`` opens any of them. The union is discriminated on ``kind``,
as the Action union is, so a spec read back from ``eval.json`` is the right class.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator, model_validator,
)

from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.validation import first_problem, flag_name

__all__ = ["BrowserSpec", "AndroidSpec", "DesktopSpec", "EnvSpec", "env_spec", "updated",
           "task_spec", "parse_viewport", "FLAGS", "spec_flag"]

# Spec fields whose command-line flag is not simply --field-name.
FLAGS = {"allowed_domains": "--allow-domain", "kind": "--env"}


def spec_flag(field: str) -> str:
    """The command-line flag that sets a spec field (``allowed_domains`` -> ``--allow-domain``)."""
    return FLAGS.get(field, flag_name(field))


def parse_viewport(text: str) -> tuple[int, int]:
    """``1280x720`` to (1280, 720); a ConfigError naming the flag otherwise."""
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ConfigError(f"--viewport must look like 1280x720, got {text!r}") from None
    return width, height


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# RFC 9110's token: what an HTTP header's name may be made of.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _one_line(flag: str, value: str) -> str:
    """``value`` if it has no control characters (a header or a shell argument would be
    cut or split at one); else a ValueError naming ``flag``."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValueError(f"{flag} must be one line without control characters")
    return value


def _existing(flag: str, value: str | None, *, folder: bool) -> str | None:
    """``value`` as an absolute path to an existing folder (or file); else a ValueError."""
    if value is None:
        return None
    path = Path(value).expanduser()
    if not (path.is_dir() if folder else path.is_file()):
        raise ValueError(f"{flag} {value}: no such {'folder' if folder else 'file'}")
    return str(path.resolve())


class BrowserSpec(_Spec):
    """A Chromium page driven by Playwright."""

    kind: Literal["browser"] = "browser"
    url: str | None = Field(None, description="the page to open first (None: about:blank)")
    viewport: tuple[int, int] = Field((1280, 720), description="width and height in CSS pixels; "
                                      "'WxH' is accepted")
    device_scale: float = Field(1.0, gt=0, le=4, description="device pixels per CSS pixel (2: HiDPI)")
    headed: bool = Field(False, description="show the window (default: headless)")
    browser_path: str | None = Field(None, description="Chromium/Chrome binary (None: found: "
                                     "$QVL_BROWSER, Playwright's own, then one on PATH)")
    allowed_domains: list[str] | None = Field(
        None, description="if set, navigation to any other host is blocked and reported")
    serve: str | None = Field(None, description="a folder served on 127.0.0.1 while the page is "
                              "open; url is then a path in it (made absolute)")
    user_agent: str | None = Field(None, max_length=2000, description="the User-Agent the page "
                                   "sees (None: Chromium's)")
    extra_http_headers: dict[str, str] | None = Field(None, description="headers sent with every "
                                                      "request")
    cookie_file: str | None = Field(None, description="a JSON list of cookies (Puppeteer's or "
                                    "Playwright's) set before the first page (made absolute)")
    ignore_https_errors: bool = Field(False, description="open pages whose certificate is invalid")

    @field_validator("serve")
    @classmethod
    def _served_folder(cls, value: str | None) -> str | None:
        return _existing(spec_flag("serve"), value, folder=True)

    @field_validator("cookie_file")
    @classmethod
    def _cookie_file(cls, value: str | None) -> str | None:
        return _existing(spec_flag("cookie_file"), value, folder=False)

    @field_validator("user_agent")
    @classmethod
    def _user_agent(cls, value: str | None) -> str | None:
        return None if value is None else _one_line(spec_flag("user_agent"), value)

    @field_validator("extra_http_headers")
    @classmethod
    def _headers(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, text in (value or {}).items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{spec_flag('extra_http_headers')}: {name[:80]!r} is not an "
                                 "HTTP header name")
            _one_line(f"{spec_flag('extra_http_headers')} {name}", text)
        return value

    @model_validator(mode="after")
    def _url_in_served_folder(self) -> "BrowserSpec":
        if self.serve is not None and self.url is not None and "://" in self.url:
            raise ValueError(f"with {spec_flag('serve')}, {spec_flag('url')} is a path in the "
                             f"served folder, not {self.url[:120]!r}")
        return self

    @field_validator("viewport", mode="before")
    @classmethod
    def _viewport_text(cls, value: Any) -> Any:
        return parse_viewport(value) if isinstance(value, str) else value

    @field_validator("viewport")
    @classmethod
    def _viewport_size(cls, value: tuple[int, int]) -> tuple[int, int]:
        width, height = value
        if not (100 <= width <= 7680 and 100 <= height <= 4320):
            raise ValueError(f"--viewport {width}x{height} is not a screen size "
                             "(100x100 to 7680x4320 CSS pixels)")
        return value


class AndroidSpec(_Spec):
    """A phone over adb, or the built-in virtual phone."""

    kind: Literal["android"] = "android"
    device: str | None = Field(None, description="adb serial, or 'sim[:android-9|android-11|"
                               "android-14|samsung-11]' for the virtual phone (None: the only one connected)")
    launch: str | None = Field(None, min_length=1, max_length=2000, description="opened first: "
                               "a URL (with a VIEW intent), package/activity, a package or an "
                               "app's label")

    @field_validator("device")
    @classmethod
    def _known_profile(cls, value: str | None) -> str | None:
        from qvl_agent.envs.virtual_phone import sim_profile

        sim_profile(value)  # an unknown sim:PROFILE is one line, listing the known ones
        return value

    @field_validator("launch")
    @classmethod
    def _launch_line(cls, value: str | None) -> str | None:
        return None if value is None else _one_line(spec_flag("launch"), value)

    @property
    def on_sim(self) -> bool:
        """The virtual phone (each opener gets its own), not a real device."""
        return self.device is not None and (self.device == "sim" or self.device.startswith("sim:"))


class DesktopSpec(_Spec):
    """An X11 desktop seen with mss and driven with pyautogui."""

    kind: Literal["desktop"] = "desktop"
    display: str | None = Field(None, description="'virtual', 'virtual:WxH[+WxH...]' (a managed "
                                "Xvfb, one monitor per size) or ':N' (None: $DISPLAY)")
    monitor: int | None = Field(None, ge=1, le=16, description="which monitor to see and act "
                                "on, 1-based (None: the primary)")
    sandbox: bool = Field(True, description="a virtual display runs inside a throwaway "
                          "bubblewrap sandbox (envs.sandbox); False: a plain Xvfb on this machine")
    unsafe_host: bool = Field(False, description="desktop suites: allow an existing display "
                              "(':N'), where tasks' commands act on this machine's own files")
    open: list[str] = Field(default_factory=list, description="programs to start on the "
                            "display (inside its sandbox) before the first screenshot, each a "
                            "command line split like a shell's (no shell runs it) and waited "
                            "for until its window shows")

    @field_validator("display")
    @classmethod
    def _display_syntax(cls, value: str | None) -> str | None:
        if value is not None:
            from qvl_agent.envs.xdisplay import parse_display_spec

            parse_display_spec(value)  # 'virtual:5x5', 'somewhere': one line now, not at open
        return value

    @property
    def virtual(self) -> bool:
        """A managed display started for this env (not someone's own)."""
        return self.display is not None and self.display.strip().lower().startswith("virtual")


EnvSpec = Annotated[Union[BrowserSpec, AndroidSpec, DesktopSpec], Field(discriminator="kind")]
_ADAPTER: TypeAdapter[EnvSpec] = TypeAdapter(EnvSpec)
_KINDS = {"browser": BrowserSpec, "android": AndroidSpec, "desktop": DesktopSpec}


def env_spec(values: Mapping[str, Any], *, keywords: bool = False, list_fields: bool = True
             ) -> EnvSpec:
    """The spec ``values`` describe (``kind`` picks the screen); a bad one is one ConfigError.

    Args:
        values: ``kind`` and that kind's fields; an EnvKind is accepted for ``kind``.
        keywords: name fields as Python keywords (``viewport=``) in errors, not as flags.
        list_fields: a field of another kind of screen is an error that lists this kind's.
    """
    values = dict(values)
    if isinstance(values.get("kind"), EnvKind):
        values["kind"] = values["kind"].value
    try:
        return _ADAPTER.validate_python(values)
    except ValidationError as exc:
        raise ConfigError(_problem(exc, values, keywords, list_fields)) from None


def updated(spec: EnvSpec, values: Mapping[str, Any]) -> EnvSpec:
    """``spec`` with the fields in ``values`` changed (a suite's spec plus the user's flags);
    a field that this kind of screen does not have is a ConfigError naming its flag."""
    return env_spec({**spec.model_dump(), **values}, list_fields=False)


def task_spec(kind: EnvKind) -> EnvSpec:
    """The screen a suite's tasks get unless the user's flags say otherwise."""
    if kind is EnvKind.desktop:
        # Task files (OSWorld's) were written for a throwaway VM: never your own desktop.
        return DesktopSpec(display="virtual")
    return env_spec({"kind": kind})


def _problem(exc: ValidationError, values: Mapping[str, Any], keywords: bool,
             list_fields: bool) -> str:
    def name(field: str) -> str:
        return f"{field}=" if keywords else spec_flag(field)

    problem = exc.errors()[0]
    kind = values.get("kind")
    if problem["type"] in ("union_tag_invalid", "union_tag_not_found", "union_tag_invalid_type"):
        return (f"{name('kind')} must be one of {', '.join(_KINDS)}, got {kind!r}" if kind is not None
                else f"say which screen: {name('kind')} {'|'.join(_KINDS)}")
    if problem["type"] == "extra_forbidden":
        takes = ", ".join(name(f) for f in _KINDS[str(kind)].model_fields if f != "kind")
        article = "an" if str(kind)[0] in "aeiou" else "a"
        return (f"{name(str(problem['loc'][-1]))} does not apply to {article} {kind} screen"
                + (f" (it takes {takes})" if list_fields else ""))
    return first_problem(exc, lambda loc: name(str(loc[-1])) if loc else "the screen")
