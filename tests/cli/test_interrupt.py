"""Ctrl-C during ``qvl-agent run``: the run directory is complete and the exit code is 130.

The signal goes where a terminal sends it: to the command's whole process group (the CLI,
Playwright's driver and Chromium alike), while the model is thinking about step 2. SIGTERM
(``kill PID``, a scheduler's stop) goes to the CLI alone, and is handled the same way,
with exit code 143.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qvl_agent.agent.trajectory import load_run
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call
from tests.pages import PageServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORT = (1000, 600)
NAME_BOX = (250, 120)  # CSS centre of #name in form.html


def _session_members(sid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[4]) == sid:  # field 6: session id
                members.append(int(entry.name))
    return members


@pytest.mark.parametrize("how, code, said", [
    ("ctrl-c", 130, "stopped by the user (Ctrl-C)"),
    ("sigterm", 143, "stopped by SIGTERM"),
])
def test_ctrl_c_or_sigterm_leave_a_complete_run_directory(tmp_path, how, code, said):
    thinking = threading.Event()  # the model has been asked for step 2
    release = threading.Event()
    steps: list[QwenRequest] = []

    def respond(request: QwenRequest) -> str:
        if not request.images:
            return "ok"  # a text-only request (a token-count probe), not a step
        steps.append(request)
        if len(steps) == 1:
            return tool_call(action="left_click", coordinate=request.to_frame(*NAME_BOX, VIEWPORT))
        thinking.set()
        release.wait(120)  # "thinking" until the user gives up
        return tool_call(action="terminate", status="success")

    out = tmp_path / "run"
    with PageServer() as pages, FakeQwen(respond) as qwen:
        process = subprocess.Popen(
            [sys.executable, "-m", "qvl_agent.cli", "run", "fill in the form", "--env", "browser",
             "--url", pages.url("form.html"), "--viewport", "1000x600",
             "--endpoint", qwen.url, "--out", str(out)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
            stdin=subprocess.DEVNULL)  # no terminal: one Ctrl-C stops (in one, it pauses)
        try:
            assert thinking.wait(240), "the run never reached step 2"
            if how == "ctrl-c":
                os.killpg(process.pid, signal.SIGINT)
            else:
                process.send_signal(signal.SIGTERM)
            stdout, stderr = process.communicate(timeout=120)
        finally:
            release.set()
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        clicks = [e for e in pages.of_type("click") if e.get("target") == "name"]

    assert process.returncode == code, stdout + stderr
    assert "Traceback" not in stderr and "internal error" not in stderr
    assert stdout.startswith("interrupted: the run was interrupted"), stdout
    assert f"report: {out / 'report.html'}" in stdout
    assert clicks, "step 1's click never reached the page"

    # meta.json says how it ended; trajectory.jsonl has step 1 and its screenshot.
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "interrupted" and meta["finished_at"] and meta["message"] == said
    lines = [json.loads(line) for line in (out / "trajectory.jsonl").read_text().splitlines()]
    assert lines and lines[0]["action"]["kind"] == "click" and lines[0]["error"] is None
    for line in lines:
        assert line["screenshot"] and (out / line["screenshot"]).is_file()
    assert len(list(out.glob("*.png"))) >= len(lines) >= 1
    run = load_run(out)
    assert run.meta.status == "interrupted" and run.steps[0].action.kind == "click"
    page = (out / "report.html").read_text()
    # The report shows step 1's screenshot from the run folder (one copy of it).
    assert "Step 1: click" in page and f"<img alt='step 1' src='{lines[0]['screenshot']}'>" in page
    # Nothing of the run is left running (no orphaned Chromium): Chromium's helpers got the
    # same signal and may take a moment to exit on a loaded machine.
    deadline = time.monotonic() + 15
    while _session_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_members(process.pid) == []
