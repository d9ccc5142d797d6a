"""`qvl-agent rpa` on local web pages: the examples in examples/rpa/, run as a user would."""

from __future__ import annotations

import http.server
import json
import threading
from functools import partial
from pathlib import Path

import pytest

from qvl_agent.agent.trajectory import load_run
from tests.agent.rpa.fakes import responder
from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen
from tests.pages import PageServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXAMPLES = Path(__file__).parents[3] / "examples" / "rpa"
SCREEN = (1000, 700)  # login.yaml's viewport (CSS pixels; its screenshots are twice that)
# Where login.html puts its controls (CSS pixels), per layout: the fake model "sees" these.
LAYOUTS = {
    "1": {"username": (100, 100, 400, 140), "password": (100, 180, 400, 220),
          "log in": (100, 260, 240, 304)},
    "2": {"username": (500, 330, 800, 370), "password": (500, 250, 800, 290),
          "log in": (500, 410, 640, 454)},
}
INVOICES = [{"invoice": "INV-001", "total": 120.5}, {"invoice": "INV-002", "total": 75.0}]


@pytest.fixture(scope="module")
def site():
    with PageServer(EXAMPLES / "site") as server:
        yield server


def base(site: PageServer) -> str:
    return site.url("").rstrip("/")


def login_args(site: PageServer, layout: str, out: Path, cache: Path, *extra: str) -> list[str]:
    return ["rpa", str(EXAMPLES / "login.yaml"), "--var", f"BASE_URL={base(site)}",
            "--var", f"LAYOUT={layout}", "--var", "USER_NAME=alice", "--var", "PASSWORD=s3cret",
            "--out", str(out), "--cache-dir", str(cache), *extra]


def stats(run_dir: Path) -> dict[str, int]:
    return json.loads((run_dir / "meta.json").read_text())["stats"]


def logins(site: PageServer, count: int) -> list[tuple[str, str]]:
    return [(e["user"], e["password"]) for e in site.of_type("login", count=count)]


def layout_boxes(layout: dict[str, tuple[float, float, float, float]]):
    def boxes(asked: str):
        return next((box for name, box in layout.items() if name in asked.lower()), None)
    return boxes


def test_login_and_read_with_the_dom_grounder(site, tmp_path):
    before = len(site.of_type("login", count=0, wait=0))
    respond = responder(lambda asked: None, SCREEN, query=json.dumps(INVOICES), result=True)
    out = tmp_path / "run"
    with FakeQwen(respond) as server:
        result = run_cli(*login_args(site, "1", out, tmp_path / "cache", "--grounder", "dom",
                                     "--endpoint", server.url))
    assert result.returncode == 0, result.stdout + result.stderr
    assert logins(site, before + 1)[before:] == [("alice", "s3cret")]  # the page got both fields
    assert json.loads((out / "outputs.json").read_text()) == {"invoices": INVOICES, "overdue": True}
    assert stats(out) == {"model_calls": 2, "locate_calls": 0, "cache_hits": 0, "cache_misses": 3}
    run = load_run(out)
    assert [s.extras["rpa"] for s in run.steps][:3] == [
        "aiInput: the Username field", "aiInput: the Password field", "aiTap: the Log in button"]
    assert run.steps[2].action.at.x == pytest.approx(170) and run.steps[2].action.at.y == pytest.approx(282)
    assert run.steps[0].screenshot_size == (2000, 1400)  # deviceScaleFactor 2; clicks in CSS px
    report = (out / "report.html").read_text()
    assert "aiTap: the Log in button" in report and "<circle" in report  # the target is drawn
    assert "passed: read the invoices" in result.stdout


def test_qwen_grounding_is_cached_and_a_changed_layout_relocates(site, tmp_path):
    layout = {"now": "1"}

    def boxes(asked: str):
        return layout_boxes(LAYOUTS[layout["now"]])(asked)

    respond = responder(boxes, SCREEN, query=json.dumps(INVOICES), result=False)
    cache = tmp_path / "cache"
    seen = len(site.of_type("login", count=0, wait=0))
    with FakeQwen(respond) as server:
        first = run_cli(*login_args(site, "1", tmp_path / "r1", cache, "--grounder", "qwen",
                                    "--endpoint", server.url))
        assert first.returncode == 0, first.stdout + first.stderr
        assert stats(tmp_path / "r1") == {"model_calls": 6, "locate_calls": 3, "cache_hits": 0,
                                          "cache_misses": 3}
        second = run_cli(*login_args(site, "1", tmp_path / "r2", cache, "--grounder", "qwen",
                                     "--endpoint", server.url))
        assert second.returncode == 0, second.stdout + second.stderr
        assert stats(tmp_path / "r2")["locate_calls"] == 0  # every target came from the cache
        assert stats(tmp_path / "r2")["cache_hits"] == 3
        layout["now"] = "2"
        third = run_cli(*login_args(site, "2", tmp_path / "r3", cache, "--grounder", "qwen",
                                    "--endpoint", server.url))
        assert third.returncode == 0, third.stdout + third.stderr
        assert not server.violations
    # The two fields moved and swapped places in the page: their entries miss and are asked
    # again; the button kept its element and text, so its entry still holds (at its new place).
    assert stats(tmp_path / "r3") == {"model_calls": 5, "locate_calls": 2, "cache_hits": 1,
                                      "cache_misses": 2}
    assert logins(site, seen + 3)[seen:] == [("alice", "s3cret")] * 3
    assert json.loads((tmp_path / "r3" / "outputs.json").read_text())["overdue"] is False
    entries = (cache / "login-flow.cache.yaml").read_text()
    assert entries.count("type: locate") == 3 and "cacheId: login-flow" in entries
    steps = load_run(tmp_path / "r3").steps
    assert [s.extras.get("cache") for s in steps[:3]] == ["stale", "stale", "hit"]
    assert steps[0].action.at.y == pytest.approx(350)  # the username field's new place


def test_extraction_validates_against_its_schema(site, tmp_path):
    good = [{"invoice": "INV-001", "customer": "Acme", "total": 120.5, "overdue": False},
            {"invoice": "INV-002", "customer": "Globex", "total": 75.0, "overdue": True}]
    args = ["rpa", str(EXAMPLES / "extract.yaml"), "--var", f"BASE_URL={base(site)}"]
    with FakeQwen(responder(lambda a: None, SCREEN, query=json.dumps(good))) as server:
        ok = run_cli(*args, "--endpoint", server.url, "--out", str(tmp_path / "ok"), cwd=tmp_path)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert json.loads((tmp_path / "ok" / "outputs.json").read_text()) == {"invoices": good}
    assert json.loads((tmp_path / "invoices.json").read_text()) == {"invoices": good}  # web.output
    # A wrong answer failing the same schema is in test_player (no browser needed).


def test_ocr_finds_text_drawn_on_a_canvas(site, tmp_path):
    before = len(site.of_type("canvas-click", count=0, wait=0))
    out = tmp_path / "run"
    result = run_cli("rpa", str(EXAMPLES / "canvas_ocr.yaml"), "--grounder", "ocr",
                     "--var", f"BASE_URL={base(site)}", "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    click, = site.of_type("canvas-click", count=before + 1)[before:]
    assert 120 <= click["x"] <= 340 and 200 <= click["y"] <= 270  # inside the Subscribe button
    steps = load_run(out).steps
    assert [s.extras.get("grounder") for s in steps] == ["ocr", "ocr"]
    assert stats(out)["model_calls"] == 0


class _Recording(http.server.SimpleHTTPRequestHandler):
    """Serves a folder and keeps each GET's headers (what the browser really sent)."""

    seen: list[tuple[str, dict[str, str]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        type(self).seen.append((self.path, dict(self.headers)))
        super().do_GET()


EXTRAS = """\
web:
  url: ${BASE}/index.html
  viewportWidth: 800
  viewportHeight: 600
  userAgent: qvl-test-agent/1.0
  extraHTTPHeaders: {X-Custom-Token: my-token}
  cookie: ./cookies.json
  chromeArgs: [--disable-gpu]
tasks:
  - name: extras
    flow:
      - aiTap: the Save button
      - aiTap: the mystery button
        xpath: //button[@id='z']
      - aiTap:
        locate: the Upload button
        fileChooserAccept: ./upload.txt
      - javascript: |
          ({saved: window.saved || 0, zebra: window.zebra || 0, cookie: document.cookie,
            file: document.getElementById('file').files[0].name, ua: navigator.userAgent,
            template: `${1 + 1}`})
        name: page
      - aiLocate: the Save button
        name: save
      - recordToReport: after
        content: all done
"""
PAGE = """<html><body style="margin:0">
<button id="save" style="position:absolute;left:20px;top:20px;width:100px;height:40px"
        onclick="window.saved=(window.saved||0)+1">Save</button>
<button id="z" style="position:absolute;left:20px;top:100px;width:100px;height:40px"
        onclick="window.zebra=(window.zebra||0)+1">Zebra</button>
<input type="file" id="file" style="position:absolute;left:20px;top:300px">
<button style="position:absolute;left:20px;top:180px;width:100px;height:40px"
        onclick="document.getElementById('file').click()">Upload</button>
</body></html>"""


def test_web_options_javascript_xpath_uploads_and_records(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(PAGE)
    (tmp_path / "upload.txt").write_text("hello")
    (tmp_path / "cookies.json").write_text(json.dumps([  # Puppeteer's cookie format
        {"name": "session", "value": "abc", "domain": "127.0.0.1", "path": "/", "expires": -1,
         "size": 10, "httpOnly": False, "secure": False, "session": True, "sameSite": "Lax"}]))
    (tmp_path / "extras.yaml").write_text(EXTRAS)
    _Recording.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Recording, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        result = run_cli("rpa", "extras.yaml", "--grounder", "dom", "--var", f"BASE={base}",
                         "--out", str(tmp_path / "run"), cwd=tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    steps = load_run(tmp_path / "run").steps
    assert steps[2].warning is None, steps[2].warning  # the Upload tap opened the chooser
    assert result.returncode == 0, result.stdout + result.stderr
    path, headers = next(item for item in _Recording.seen if item[0] == "/index.html")
    assert headers["User-Agent"] == "qvl-test-agent/1.0" and headers["X-Custom-Token"] == "my-token"
    assert "session=abc" in headers["Cookie"]
    outputs = json.loads((tmp_path / "run" / "outputs.json").read_text())
    assert outputs["page"] == {"saved": 1, "zebra": 1, "cookie": "session=abc", "file": "upload.txt",
                               "ua": "qvl-test-agent/1.0", "template": "2"}
    assert outputs["save"] == {"rect": {"left": 20.0, "top": 20.0, "width": 100.0, "height": 40.0},
                               "center": [70.0, 40.0]}
    note = "ignored: web.chromeArgs (qvl-agent starts Chromium with its own flags); extras.yaml line 8"
    assert result.stderr.count(note) == 1
    meta = (tmp_path / "run" / "meta.json").read_text()
    assert json.loads(meta)["options"]["ignored"] == [note]
    screen = json.loads(meta)["options"]["screen"]  # the EnvSpec open_env opened
    assert screen["viewport"] == [800, 600] and screen["user_agent"] == "qvl-test-agent/1.0"
    assert screen["cookie_file"] == str(tmp_path / "cookies.json")
    assert screen["extra_http_headers"] == ["X-Custom-Token"] and "my-token" not in meta  # names only
    assert "web.chromeArgs" in (tmp_path / "run" / "report.html").read_text()
    assert steps[1].extras["grounder"] == "xpath"
    assert steps[-1].extras["rpa"] == "recordToReport: after" and steps[-1].extras["content"] == "all done"


def test_the_cache_goes_to_the_user_cache_folder_not_the_working_directory(site, tmp_path):
    args = login_args(site, "1", tmp_path / "run", tmp_path / "unused", "--grounder", "dom")
    at = args.index("--cache-dir")
    del args[at:at + 2]  # the default
    respond = responder(lambda asked: None, SCREEN, query=json.dumps(INVOICES), result=True)
    with FakeQwen(respond) as server:
        result = run_cli(*args, "--endpoint", server.url, cwd=tmp_path,
                         env={"XDG_CACHE_HOME": str(tmp_path / "xdg")})
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "xdg" / "qvl-agent" / "rpa" / "login-flow.cache.yaml").is_file()
    assert not (tmp_path / "qvl_cache").exists()
