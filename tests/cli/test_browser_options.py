"""``qvl-agent run --env browser`` options, through the real command and a real Chromium.

Every browser a run may pick is a wrapper script that writes down that it was launched and
then execs the system Chromium, so a test can tell which one a run really started:
``--browser-path``, then ``$QVL_BROWSER``, then Playwright's own Chromium, then a Chromium
on ``PATH`` (that last one checked without a launch: every other browser test uses it). The first run also checks ``--allow-domain`` (a click on a link to another host
is blocked and reported) and the exit code after an answer.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qvl_agent.agent.trajectory import load_run
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call
from tests.pages import PageServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREEN = (1280, 720)  # the default viewport
LINK = (120, 660)  # CSS centre of form.html's link to http://blocked.example/
CHOICES = ("flag", "env", "playwright", "path")


class Browsers:
    """One wrapper per way of naming a browser, each with its own launch log."""

    def __init__(self, root: Path) -> None:
        real = shutil.which("chromium") or "/usr/bin/chromium"
        self.root = root
        self.playwright_home = root / "ms-playwright"
        self.empty_home = root / "no-playwright"
        self.empty_home.mkdir()
        self.bin = root / "bin"
        self.wrappers = {
            "flag": root / "flag" / "chrome-a",
            "env": root / "env" / "chrome-b",
            "playwright": self._playwright_executable(),
            "path": self.bin / "chromium",
        }
        for name, wrapper in self.wrappers.items():
            wrapper.parent.mkdir(parents=True, exist_ok=True)
            wrapper.write_text(f'#!/bin/sh\necho launched >> "{self.log(name)}"\nexec "{real}" "$@"\n')
            wrapper.chmod(0o755)

    def _playwright_executable(self) -> Path:
        """Where Playwright looks for its own Chromium under our PLAYWRIGHT_BROWSERS_PATH."""
        code = ("from playwright.sync_api import sync_playwright\n"
                "with sync_playwright() as p: print(p.chromium.executable_path)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "PLAYWRIGHT_BROWSERS_PATH": str(self.playwright_home)},
                             timeout=120).stdout.strip()
        path = Path(out)
        assert path.is_relative_to(self.playwright_home), out
        return path

    def log(self, name: str) -> Path:
        return self.root / f"{name}.log"

    def launched(self) -> set[str]:
        return {name for name in CHOICES if self.log(name).exists()}

    def reset(self) -> None:
        for name in CHOICES:
            self.log(name).unlink(missing_ok=True)

    def cli_env(self, *offered: str) -> tuple[list[str], dict[str, str]]:
        """Arguments and environment that offer these ways (the system PATH stays after)."""
        args = ["--browser-path", str(self.wrappers["flag"])] if "flag" in offered else []
        env = {"PATH": f"{self.bin}:{os.environ['PATH']}" if "path" in offered else os.environ["PATH"],
               "PLAYWRIGHT_BROWSERS_PATH": str(self.playwright_home if "playwright" in offered
                                               else self.empty_home)}
        if "env" in offered:
            env["QVL_BROWSER"] = str(self.wrappers["env"])
        return args, env


@pytest.fixture(scope="module")
def browsers(tmp_path_factory) -> Browsers:
    return Browsers(tmp_path_factory.mktemp("browsers"))


@pytest.fixture(scope="module")
def pages():
    with PageServer() as server:
        yield server


def run_with(pages: PageServer, out: Path, respond, *args: str, env: dict[str, str] | None = None):
    clean = {k: v for k, v in os.environ.items() if k != "QVL_BROWSER"}
    with FakeQwen(respond) as qwen:
        result = subprocess.run(
            [sys.executable, "-m", "qvl_agent.cli", "run", "look at the form", "--env", "browser",
             "--url", pages.url("form.html"), "--endpoint", qwen.url, "--out", str(out), *args],
            capture_output=True, text=True, timeout=300, env={**clean, **(env or {})},
            stdin=subprocess.DEVNULL)  # nobody at a terminal: `run` asks nothing
    return result


def answers_at_once(request: QwenRequest) -> str:
    return tool_call(action="answer", text="42") if request.images else "ok"


@pytest.fixture(scope="module")
def first_run(browsers, pages, tmp_path_factory):
    """Every way offered at once, ``--allow-domain 127.0.0.1``; the model clicks the link to
    another host, then answers."""
    steps: list[QwenRequest] = []

    def respond(request: QwenRequest) -> str:
        if not request.images:
            return "ok"  # a text-only request (a token-count probe), not a step
        steps.append(request)
        if len(steps) == 1:
            return tool_call(action="left_click", coordinate=request.to_frame(*LINK, SCREEN))
        return tool_call(action="answer", text="42")

    browsers.reset()
    args, env = browsers.cli_env(*CHOICES)
    out = tmp_path_factory.mktemp("first") / "run"
    result = run_with(pages, out, respond, *args, "--allow-domain", "127.0.0.1", env=env)
    return {"result": result, "out": out, "launched": browsers.launched()}


def test_browser_path_comes_first(first_run):
    assert first_run["result"].returncode == 0, first_run["result"].stderr
    assert first_run["launched"] == {"flag"}


def test_exit_code_is_0_after_an_answer(first_run):
    result = first_run["result"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("answered: the agent answered after 2 steps; answer: 42")
    assert load_run(first_run["out"]).meta.answer == "42"


def test_allow_domain_blocks_another_host_and_reports_it(first_run):
    out = first_run["out"]
    steps = [json.loads(line) for line in (out / "trajectory.jsonl").read_text().splitlines()]
    assert len(steps) == 2
    # The click on the link was made; the page did not leave 127.0.0.1.
    assert steps[0]["action"]["kind"] == "click" and steps[0]["error"] is None
    assert steps[1]["extras"]["url"] == steps[0]["extras"]["url"]
    assert steps[1]["extras"]["url"].startswith("http://127.0.0.1:")
    # And the blocked navigation is on the record, in the trajectory and in the report.
    assert steps[1]["extras"]["blocked_navigations"] == ["http://blocked.example/"]
    assert "http://blocked.example/" in (out / "report.html").read_text()


@pytest.mark.parametrize("offered,expected", [
    (("env", "playwright", "path"), "env"),
    (("playwright", "path"), "playwright"),
], ids=["QVL_BROWSER-before-playwright", "playwright-before-system"])
def test_the_browser_search_order(browsers, pages, tmp_path, offered, expected):
    browsers.reset()
    args, env = browsers.cli_env(*offered)
    result = run_with(pages, tmp_path / "run", answers_at_once, *args, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert browsers.launched() == {expected}


def test_last_comes_a_chromium_on_path(browsers, monkeypatch):
    # Every other browser test here launches the system Chromium this way; this one only
    # checks that PATH is searched, and first, when nothing else is offered.
    from qvl_agent.envs.chromium import find_chromium

    monkeypatch.delenv("QVL_BROWSER", raising=False)
    monkeypatch.setenv("PATH", f"{browsers.bin}:{os.environ['PATH']}")
    missing = browsers.empty_home / "chromium-0" / "chrome"
    assert find_chromium(None, playwright_path=str(missing)) == str(browsers.wrappers["path"])


def test_a_browser_path_that_is_not_a_program_is_one_line(browsers, pages, tmp_path):
    result = run_with(pages, tmp_path / "run", answers_at_once,
                      "--browser-path", str(tmp_path / "no-such-chrome"))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(f"error: --browser-path '{tmp_path / 'no-such-chrome'}' "
                                    "is not an executable file")
