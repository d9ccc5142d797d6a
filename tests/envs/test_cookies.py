"""A cookie file (BrowserSpec.cookie_file) as Puppeteer or Playwright writes it."""

from __future__ import annotations

import json

import pytest

from qvl_agent.envs.cookies import read_cookies
from qvl_agent.envs.errors import ConfigError


def test_puppeteer_and_playwright_files_become_playwright_cookies(tmp_path):
    puppeteer = tmp_path / "puppeteer.json"
    puppeteer.write_text(json.dumps([
        {"name": "a", "value": "1", "domain": ".example.org", "expires": -1, "size": 2,
         "session": True, "sameSite": "lax", "priority": "Medium"},
        {"name": "b", "value": "2"}]))
    assert read_cookies(puppeteer, "http://127.0.0.1:8000/index.html") == [
        {"name": "a", "value": "1", "domain": ".example.org", "path": "/", "sameSite": "Lax"},
        {"name": "b", "value": "2", "url": "http://127.0.0.1:8000/index.html"}]
    state = tmp_path / "state.json"  # context.storage_state()
    state.write_text(json.dumps({"cookies": [{"name": "c", "value": "3", "url": "https://x.org"}],
                                 "origins": []}))
    assert read_cookies(state, None) == [{"name": "c", "value": "3", "url": "https://x.org"}]


@pytest.mark.parametrize("text, line", [
    ("{not json", "cannot read the cookie file"),
    ('{"name": "a"}', "is not a JSON list of cookies"),
    ('[{"value": "1", "domain": "x.org"}]', "cookie 1 needs a name and a value"),
    ('[{"name": "a", "value": "1"}]', "cookie 'a' has no domain, and there is no page to set it for"),
])
def test_a_bad_cookie_file_is_one_config_error(tmp_path, text, line):
    path = tmp_path / "cookies.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=line):
        read_cookies(path, None)
