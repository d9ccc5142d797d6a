"""`qvl-agent run GOAL --env desktop --display :N` against the fake Qwen server: the
model opens a terminal from the desktop menu, starts the editor, types and saves; the test
reads the saved file."""

from __future__ import annotations

import json

import pytest

from qvl_agent.agent.trajectory import load_run
from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call

pytestmark = pytest.mark.desktop

SCREEN = (1280, 720)


def _white_pixels(request: QwenRequest) -> int:
    """How much of the screen is window (the bare Xvfb desktop is black)."""
    return sum(request.image.convert("L").resize((128, 72)).histogram()[201:])


@pytest.mark.parametrize("display, message", [
    (None, "error: no X display: $DISPLAY is not set; give --display virtual"),
    ("virtual:5x5", "error: --display virtual:5x5: 5x5 is not a screen size"),
    ("somewhere", "error: --display must be 'virtual'"),
])
def test_a_bad_display_is_one_line_before_the_model_is_asked(display, message):
    flags = ["--display", display] if display else []
    result = run_cli("run", "hello", "--env", "desktop", *flags, "--endpoint",
                     "http://127.0.0.1:9/v1", env={"DISPLAY": ""})
    assert result.returncode == 2
    assert result.stderr.strip().startswith(message) and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_run_types_into_a_real_editor_and_saves(tmp_path):
    """On an existing display (``--display :N``, as a user's own): the saved file is on this
    machine, where the test reads it. (``--display virtual`` would save it in a sandbox that
    is gone with the run: tests/envs/test_sandbox.py.)"""
    from qvl_agent.envs.xdisplay import start_virtual_display

    target = tmp_path / "hello.txt"
    state = {"phase": "menu", "windows": 0}
    text = "Hello from Qwen on a real desktop"

    def qwen(request: QwenRequest) -> str:
        at = lambda x, y: request.to_frame(x, y, SCREEN)  # noqa: E731
        phase = state["phase"]
        if phase == "menu":  # openbox's root menu: right-click the bare desktop
            state["phase"] = "terminal"
            return tool_call(action="right_click", coordinate=at(640, 360))
        if phase == "terminal":  # its first item, "Terminal emulator"
            state["phase"] = "command"
            return tool_call(action="left_click", coordinate=at(680, 370))
        if phase == "command":
            if _white_pixels(request) < 500:  # the terminal is not on screen yet
                return tool_call(action="wait", time=0.5)
            state["phase"], state["windows"] = "editor", _white_pixels(request)
            return tool_call(action="type", text=f"mousepad {target}\n")
        if phase == "editor":
            if _white_pixels(request) <= state["windows"] + 200:  # the editor is not up yet
                return tool_call(action="wait", time=0.5)
            state["phase"] = "save"
            return tool_call(action="type", text=text)
        if phase == "save":
            state["phase"] = "done"
            return tool_call(action="key", keys=["ctrl", "s"])
        return tool_call(action="terminate", status="success")

    out = tmp_path / "run"
    with start_virtual_display([SCREEN]) as display, FakeQwen(qwen) as server:
        result = run_cli("run", "write a greeting into hello.txt", "--env", "desktop",
                         "--display", display.name, "--endpoint", server.url, "--out", str(out),
                         "--max-steps", "30", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("success:")
    assert target.read_text(encoding="utf-8").rstrip("\n") == text  # what the editor saved
    assert not server.violations
    assert {r.tool for r in server.requests} == {"computer_use"}
    assert len({r.frame for r in server.requests}) == 1
    steps = load_run(out).steps
    kinds = [s.action.kind for s in steps if s.action is not None]
    assert kinds[:2] == ["click", "click"] and kinds[-3:] == ["type", "key", "terminate"]
    assert steps[0].action.button == "right"
    assert (out / "report.html").is_file()
    # A desktop run is also OSWorld's record: one traj.jsonl line per action, DONE last.
    traj = [json.loads(line) for line in (out / "traj.jsonl").read_text().splitlines()]
    assert len(traj) == len(kinds) and traj[0]["action"].startswith("pyautogui.rightClick(")
    assert (traj[-1]["action"], traj[-1]["done"]) == ("DONE", True)


@pytest.mark.slow
def test_run_on_a_virtual_display_is_sandboxed_by_default(tmp_path):
    """`--display virtual` gets the spec's one default, the throwaway sandbox (as a desktop
    suite does); every step records where it ran."""
    out = tmp_path / "run"

    def qwen(request: QwenRequest) -> str:
        return tool_call(action="terminate", status="success") if request.images else "ok"

    with FakeQwen(qwen) as server:
        result = run_cli("run", "look around", "--env", "desktop", "--display", "virtual",
                         "--endpoint", server.url, "--out", str(out), env={"DISPLAY": ""},
                         timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    run = load_run(out)
    assert [step.extras["sandboxed"] for step in run.steps] == [True]
    assert run.meta.options["display"] == "virtual" and run.meta.options["sandbox"] is True


@pytest.mark.slow
def test_open_starts_the_app_before_the_first_screenshot(tmp_path):
    """`--display virtual` alone is an empty black screen; `--open mousepad` puts the editor
    on it, inside the sandbox, before the model's first look."""
    with FakeQwen(lambda r: tool_call(action="terminate", status="success")) as server:
        result = run_cli("run", "write a note", "--env", "desktop", "--display", "virtual",
                         "--open", "mousepad", "--endpoint", server.url, "--out", str(tmp_path / "run"))
        first = server.requests[0]
    assert result.returncode == 0, result.stderr
    assert _white_pixels(first) > 128 * 72 // 5  # the editor's page, not the bare desktop


@pytest.mark.slow
def test_open_of_a_program_that_is_not_there_is_one_line(tmp_path):
    with FakeQwen(lambda r: tool_call(action="terminate", status="success")) as server:
        result = run_cli("run", "write a note", "--env", "desktop", "--display", "virtual",
                         "--open", "no-such-editor --new", "--endpoint", server.url,
                         "--out", str(tmp_path / "run"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: no-such-editor cannot be started in the sandbox")
    assert len(result.stderr.splitlines()) == 1
