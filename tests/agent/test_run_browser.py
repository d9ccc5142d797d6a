"""`qvl-agent run --env browser` end to end: a real page, a fake Qwen server, the real CLI."""

import json

import pytest

from qvl_agent.agent.trajectory import load_run
from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call
from tests.pages import PageServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VIEWPORT = (1000, 600)
NAME_BOX = (250, 120)  # CSS centre of #name in form.html
SUBMIT = (580, 425)  # CSS centre of #submit


def qwen_filling_the_form(request: QwenRequest) -> str:
    """Answers like Qwen: frame coordinates of the targets, read off the request's frame."""
    script = [
        lambda: tool_call(action="left_click", coordinate=request.to_frame(*NAME_BOX, VIEWPORT)),
        lambda: tool_call(action="type", text="hello world"),
        lambda: tool_call(action="key", keys=["enter"]),
        lambda: "Thought: now submit.\n" + tool_call(action="left_click", coordinate=request.to_frame(*SUBMIT, VIEWPORT)),
        lambda: tool_call(action="terminate", status="success"),
    ]
    return script[request.index]()


@pytest.mark.parametrize("extra,frame", [
    ([], (1008, 588)),
    (["--max-pixels", "200704"], (560, 336)),
    (["--device-scale", "2"], (1988, 1204)),
])
def test_run_fills_a_real_page(tmp_path, extra, frame):
    out = tmp_path / "run"
    with PageServer() as pages, FakeQwen(qwen_filling_the_form) as qwen:
        result = run_cli("run", "fill in the form with hello world and submit", "--env", "browser",
                         "--url", pages.url("form.html"), "--viewport", "1000x600",
                         "--endpoint", qwen.url, "--out", str(out), *extra)
        pages.of_type("click", count=2)
        events = pages.events
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith("success: the agent finished the task")
    assert f"report: {out / 'report.html'}" in result.stdout

    # Qwen saw exactly the frame its prompt described, and it is not the viewport.
    assert {r.frame for r in qwen.requests} == {frame} and not qwen.violations
    assert {r.image.size for r in qwen.requests} == {frame}

    # The page received the click on the field, the text, the key and the click on Submit.
    clicks = [e["target"] for e in events if e["type"] == "click"]
    assert clicks == ["name", "submit"]
    assert {"type": "keydown", "key": "Enter", "target": "name"}.items() <= \
        next(e for e in events if e["type"] == "keydown" and e["key"] == "Enter").items()
    assert [e["value"] for e in events if e["type"] == "change"][-1] == "hello world"

    run = load_run(out)
    assert run.meta.status == "success" and len(run.steps) == 5
    page = (out / "report.html").read_text()
    for title in ["Step 1: click", "Step 2: type &#x27;hello world&#x27;", "Step 3: key enter",
                  "Step 4: click", "Step 5: terminate (success)"]:
        assert title in page


def test_tiny_model_run_ends_cleanly_with_every_bad_answer_recorded(tmp_path, tiny_checkpoint):
    out = tmp_path / "run"
    with PageServer() as pages:
        result = run_cli("run", "click submit", "--env", "browser", "--url", pages.url("form.html"),
                         "--model", str(tiny_checkpoint), "--max-pixels", "200704",
                         "--max-steps", "4", "--max-new-tokens", "48", "--out", str(out))
    assert "Traceback" not in result.stderr
    assert result.returncode == 1
    status = result.stdout.split(":")[0]
    assert status in ("model_errors", "budget", "failure")
    run = load_run(out)
    assert run.meta.status == status
    lines = [json.loads(line) for line in (out / "trajectory.jsonl").read_text().splitlines()]
    bad = [line for line in lines if line["error"]]
    assert bad, "a random model should write something unusable"
    for line in bad:
        assert line["raw"] is not None and line["error_kind"] in (
            "ActionParseError", "ActionRejectedError", "UnsupportedActionError", "AnswerTruncatedError")
    assert (out / "report.html").is_file()


def test_missing_model_fails_before_the_browser_starts(tmp_path):
    result = run_cli("run", "x", "--env", "browser", "--out", str(tmp_path / "r"),
                     env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2
    assert result.stderr.startswith("error: no Qwen2.5-VL weights") and "--endpoint" in result.stderr
    assert not (tmp_path / "r").exists()


def test_unreachable_endpoint_is_one_line(tmp_path):
    result = run_cli("run", "x", "--env", "browser", "--endpoint", "http://127.0.0.1:9/v1")
    assert result.returncode == 2 and "cannot reach the model server" in result.stderr
    assert "Traceback" not in result.stderr
