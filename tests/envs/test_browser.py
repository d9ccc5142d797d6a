"""BrowserEnv on Debian's Chromium: every action, checked by what the page received."""

import os
import time

import pytest
from qvl_agent.envs.actions import (
    Click, Drag, KeyPress, LongPress, MoveTo, Point, Scroll, Swipe, SystemButton, TypeText, Wait,
)
from qvl_agent.envs.browser import BrowserConfig, BrowserEnv
from qvl_agent.envs.chromium import find_chromium
from qvl_agent.envs.conformance import check_env
from qvl_agent.envs.errors import EnvDisconnectedError, EnvError, EnvNotFoundError, UnsupportedActionError
from tests.pages import PageServer

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def pages():
    with PageServer() as server:
        yield server


@pytest.fixture(scope="module")
def browser(pages):
    with BrowserEnv(url=pages.url("form.html")) as env:
        yield env


@pytest.fixture
def page(browser, pages):
    browser.goto(pages.url("form.html"))
    pages.of_type("load")
    pages.events.clear()
    return browser


def test_conformance(pages):
    env = BrowserEnv(url=pages.url("form.html"))
    assert check_env(env) == []


def test_observation_is_the_viewport(page):
    obs = page.observe()
    assert obs.screen.width == 1280 and obs.screen.height == 720
    assert obs.screenshot.size == (1280, 720)
    assert obs.extras["url"].endswith("/form.html")


def test_click_lands_on_the_element(page, pages):
    page.execute(Click(at=Point(x=580, y=425)))
    click, = pages.of_type("click")
    assert click["target"] == "submit" and (click["x"], click["y"]) == (580, 425)


@pytest.mark.parametrize("action,event,check", [
    (Click(at=Point(x=580, y=425), button="right"), "contextmenu", {"button": 2}),
    (Click(at=Point(x=580, y=425), button="middle"), "auxclick", {"button": 1}),
    (Click(at=Point(x=580, y=425), count=2), "dblclick", {"target": "submit", "detail": 2}),
])
def test_buttons_and_double_click(page, pages, action, event, check):
    page.execute(action)
    got, = pages.of_type(event)
    assert {k: got[k] for k in check} == check


def seen(env, *types):
    """What the page's own listeners received so far, in order (recorded synchronously)."""
    return [e for e in env.page.evaluate("window.seen") if e["type"] in types]


def test_click_without_coordinates_uses_the_pointer(page, pages):
    page.execute(MoveTo(at=Point(x=880, y=425)))
    # Input events are handled before the action returns, so nothing can arrive later.
    assert seen(page, "click", "mousedown", "mouseup") == []  # moving is not clicking
    move = seen(page, "mousemove")[-1]
    assert (move["target"], move["x"], move["y"]) == ("other", 880, 425)
    page.execute(Click())
    assert [(e["type"], e["target"], e["x"], e["y"]) for e in seen(page, "click", "mousedown", "mouseup")] == \
        [(kind, "other", 880, 425) for kind in ("mousedown", "mouseup", "click")]


def test_typing_unicode_and_key_chords(page, pages):
    page.execute(Click(at=Point(x=250, y=120)))
    page.execute(TypeText(text="héllo wörld ✓ 日本"))
    assert page.page.eval_on_selector("#name", "e => e.value") == "héllo wörld ✓ 日本"
    page.execute(KeyPress(keys=["ctrl", "a"]))
    page.execute(TypeText(text="Ada Lovelace"))
    page.execute(KeyPress(keys=["Return"]))
    value = page.page.eval_on_selector("#name", "e => e.value")
    assert value == "Ada Lovelace"
    keys = pages.of_type("keydown", count=len("Ada Lovelace") + 3)
    assert {"key": "a", "ctrl": True} in [{"key": k["key"], "ctrl": k["ctrl"]} for k in keys]
    assert any(k["key"] == "Enter" and k["target"] == "name" for k in keys)


def test_qwen_key_names_are_mapped(page, pages):
    page.execute(Click(at=Point(x=250, y=120)))
    for key in ["pagedown", "esc", "cmd", "tab"]:
        page.execute(KeyPress(keys=[key]))
    # Beacons may arrive out of order; which keys arrived is what matters here.
    assert sorted(k["key"] for k in pages.of_type("keydown", count=4)) == ["Escape", "Meta", "PageDown", "Tab"]


def test_scroll_follows_qwen_sign_and_position(page, pages):
    page.execute(Scroll(dy=300, at=Point(x=640, y=300)))
    wheel, = pages.of_type("wheel")
    assert wheel["dy"] == 300 and (wheel["x"], wheel["y"]) == (640, 300)
    assert page.page.evaluate("window.scrollY") == 300  # applied in full before execute returns


def test_drag_from_the_pointer(page, pages):
    page.execute(MoveTo(at=Point(x=150, y=550)))
    page.execute(Drag(end=Point(x=400, y=560)))
    drop, = pages.of_type("drop")
    assert drop["from"] == {"x": 150, "y": 550} and (drop["x"], drop["y"]) == (400, 560)


def test_long_press_holds_the_button_down_for_its_duration(page, pages):
    page.execute(LongPress(at=Point(x=580, y=425), seconds=0.3))
    down, up, click = seen(page, "mousedown", "mouseup", "click")
    assert [(e["type"], e["target"]) for e in (down, up, click)] == \
        [("mousedown", "submit"), ("mouseup", "submit"), ("click", "submit")]
    # The page's own clock: the button was held at least as long as asked.
    assert up["t"] - down["t"] >= 290


def test_wait_waits_and_touches_nothing(page, pages):
    before = page.page.evaluate("window.seen.length")
    started = time.monotonic()
    page.execute(Wait(seconds=0.3))
    assert time.monotonic() - started >= 0.3  # a lower bound: what Wait promises
    assert page.page.evaluate("window.seen.length") == before


@pytest.mark.parametrize("action", [
    Swipe(start=Point(x=1, y=1), end=Point(x=2, y=2)),
    SystemButton(button="home"),
    KeyPress(keys=["volume_up"]),
])
def test_what_a_browser_cannot_do_is_refused(page, pages, action):
    with pytest.raises(UnsupportedActionError):
        page.execute(action)


def test_hidpi_screenshot_is_larger_than_the_css_screen(pages):
    with BrowserEnv(url=pages.url("form.html"), device_scale_factor=2) as env:
        obs = env.observe()
        assert obs.screen.width == 1280 and obs.screenshot.size == (2560, 1440)
        pages.events.clear()
        env.execute(Click(at=Point(x=580, y=425)))
        assert pages.of_type("click")[0]["target"] == "submit"
        # #box is the red square at CSS (100..200, 500..600); the screenshot has 2 pixels per CSS px.
        red = (204, 51, 51)
        assert obs.screenshot.getpixel((300, 1100)) == red and obs.screenshot.getpixel((300, 300)) != red
        env.execute(Scroll(dy=400, at=Point(x=640, y=300)))
        assert env.page.evaluate("window.scrollY") == 400
        scrolled = env.observe().screenshot  # what the user sees: the square 400 CSS px higher
        assert scrolled.size == (2560, 1440)
        assert scrolled.getpixel((300, 300)) == red and scrolled.getpixel((300, 1100)) != red
        assert scrolled.getpixel((202, 202)) == red and scrolled.getpixel((198, 198)) != red


def test_allowed_domains_block_other_hosts(pages):
    with BrowserEnv(url=pages.url("form.html"), allowed_domains=["127.0.0.1"]) as env:
        env.execute(Click(at=Point(x=120, y=660)))  # the link to blocked.example
        obs = env.observe()
        assert obs.extras["url"].endswith("/form.html")
        assert obs.extras["blocked_navigations"] == ["http://blocked.example/"]


def test_a_closed_browser_is_a_disconnect(pages):
    env = BrowserEnv(url=pages.url("form.html"))
    env._browser.close()
    with pytest.raises(EnvDisconnectedError):
        env.observe()
    env.close()


def test_missing_browser_names_what_was_tried(monkeypatch, tmp_path):
    with pytest.raises(EnvNotFoundError, match="--browser-path"):
        find_chromium(str(tmp_path / "nope"))
    monkeypatch.setenv("QVL_BROWSER", str(tmp_path / "nope"))
    with pytest.raises(EnvNotFoundError, match="QVL_BROWSER"):
        find_chromium()
    monkeypatch.delenv("QVL_BROWSER")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr("qvl_agent.envs.chromium._SYSTEM_PATHS", [])
    with pytest.raises(EnvNotFoundError, match="no Chromium found .*Playwright's Chromium"):
        find_chromium(playwright_path=str(tmp_path / "ms-playwright" / "chrome"))


def test_system_chromium_is_found():
    assert find_chromium(playwright_path="/nonexistent/chrome") == os.path.realpath("/usr/bin/chromium") or \
        find_chromium(playwright_path="/nonexistent/chrome").endswith("chromium")


def test_bad_config_is_refused():
    with pytest.raises(ValueError):
        BrowserConfig(width=10)
    with pytest.raises(ValueError):
        BrowserConfig(viewport="1280x720")


def test_an_unreachable_start_page_leaves_no_browser_behind():
    from qvl_agent.envs import browser as module

    users = module._driver.users
    with pytest.raises(EnvError, match="cannot open http://127.0.0.1:9/"):
        BrowserEnv(url="http://127.0.0.1:9/")
    assert module._driver.users == users  # the browser was closed and the driver released


def test_a_served_folder_with_a_cookie_file_and_a_user_agent(tmp_path):
    """BrowserSpec's serve, cookie_file and user_agent through open_env, as the page sees
    them (headers: tests/agent/rpa/test_web.py); the folder is served only while the
    browser is open."""
    import json
    import urllib.error
    import urllib.request

    from qvl_agent.envs.factory import open_env

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><body>served</body></html>")
    cookies = tmp_path / "cookies.json"
    cookies.write_text(json.dumps([  # Puppeteer's form, no domain: it belongs to the first page
        {"name": "session", "value": "abc", "expires": -1, "size": 10, "sameSite": "lax"}]))
    with open_env("browser", serve=str(site), url="index.html", cookie_file=str(cookies),
                  user_agent="qvl-test/1") as env:
        url = env.page.url
        assert url.startswith("http://127.0.0.1:") and url.endswith("/index.html")
        assert env.page.evaluate("document.body.innerText") == "served"
        assert env.page.evaluate("document.cookie") == "session=abc"
        assert env.page.evaluate("navigator.userAgent") == "qvl-test/1"
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=5)
