"""A cookie file (``BrowserSpec.cookie_file``, an RPA script's ``web.cookie``) read into the
cookies Playwright sets before a page opens.

The file is a JSON list of cookies as Puppeteer writes them (``page.cookies()``, Midscene's
format) or as Playwright does (``context.storage_state()``'s ``cookies``, also accepted
as that whole object). Keys Playwright does not take (``size``, ``session``, ...) are
dropped; Puppeteer's ``expires: -1`` is a session cookie.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qvl_agent.envs.errors import ConfigError

__all__ = ["read_cookies"]

_KEYS = {"name", "value", "url", "domain", "path", "expires", "httpOnly", "secure", "sameSite"}


def read_cookies(path: Path, url: str | None) -> list[dict[str, Any]]:
    """The cookies in ``path``; one without a domain belongs to ``url`` (the first page).

    Raises:
        ConfigError: the file cannot be read, is not a JSON list of cookies, or a cookie has
            no name, or neither a domain nor a page to belong to.
    """
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)[:200]
        raise ConfigError(f"cannot read the cookie file {path}: {reason}") from None
    if isinstance(raw, dict) and isinstance(raw.get("cookies"), list):
        raw = raw["cookies"]
    if not isinstance(raw, list) or not all(isinstance(c, dict) for c in raw):
        raise ConfigError(f"the cookie file {path} is not a JSON list of cookies")
    cookies = []
    for number, cookie in enumerate(raw, 1):
        kept = {k: v for k, v in cookie.items() if k in _KEYS}
        if not isinstance(kept.get("name"), str) or not isinstance(kept.get("value"), str):
            raise ConfigError(f"the cookie file {path}: cookie {number} needs a name and a "
                              "value (strings)")
        if isinstance(kept.get("sameSite"), str):
            kept["sameSite"] = kept["sameSite"].capitalize()
        if "domain" not in kept and "url" not in kept:
            if url is None:
                raise ConfigError(f"the cookie file {path}: cookie {kept['name']!r} has no "
                                  "domain, and there is no page to set it for")
            kept["url"] = url
        elif "domain" in kept:
            kept.setdefault("path", "/")
        if isinstance(kept.get("expires"), (int, float)) and kept["expires"] < 0:
            del kept["expires"]  # Puppeteer's -1: a session cookie
        cookies.append(kept)
    return cookies
