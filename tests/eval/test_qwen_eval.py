"""The qwen policy runs a suite through the harness against the local fake Qwen server."""

import json

import pytest

from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, tool_call

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def button_centre(image):
    """Where a model would click for "Click the button.": the middle of the grey button
    (Chromium's default face, rgb(239, 239, 239)) below the yellow query bar."""
    pixels = image.load()
    spots = [(x, y) for y in range(image.height // 4, image.height) for x in range(image.width)
             if pixels[x, y] == (239, 239, 239)]
    assert spots, "no button on the screenshot"
    xs, ys = [x for x, _ in spots], [y for _, y in spots]
    return [(min(xs) + max(xs)) // 2, (min(ys) + max(ys)) // 2]


def naive_qwen(request):
    """Clicks the button on click-test; on every other task it claims success at once."""
    if request.goal == "Click the button.":
        return tool_call(action="left_click", coordinate=button_centre(request.image))
    return tool_call(action="terminate", status="success")


def test_qwen_policy_runs_miniwob_against_the_fake_server(tmp_path):
    out = tmp_path / "out"
    with FakeQwen(naive_qwen) as qwen:
        result = run_cli("eval", "--suite", "miniwob", "--tasks", "^miniwob/(click-test|click-button|focus-text)$",
                         "--policy", "qwen", "--endpoint", qwen.url, "--workers", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["task"] for r in lines) == ["miniwob/click-button", "miniwob/click-test", "miniwob/focus-text"]
    outcomes = {r["task"]: (r["outcome"], r["status"]) for r in lines}
    assert outcomes == {
        "miniwob/click-test": ("success", "env_done"),      # the click landed on the button
        "miniwob/click-button": ("failure", "success"),     # claims without work score nothing
        "miniwob/focus-text": ("failure", "success"),
    }, lines
    # The 160x210 task area at device scale 3 is a 480x630 screenshot; Qwen saw its frame.
    assert {r.frame for r in qwen.requests} == {(476, 616)} and not qwen.violations
    assert {r.image.size for r in qwen.requests} == {(476, 616)}
    assert all(r.goal for r in qwen.requests)  # the page's utterance became the goal
    from qvl_agent.eval.worker import run_dir_name

    meta = json.loads((out / "runs" / run_dir_name("miniwob/click-test", 0) / "meta.json").read_text())
    assert meta["model"].startswith("Qwen2.5-VL-7B-Instruct @ http://127.0.0.1")
    assert f"summary: {out / 'summary.md'}" in result.stdout
    # summary.json: each task's usage is what the server counted for that task's requests.
    summary = json.loads((out / "summary.json").read_text())
    clicked = [r for r in qwen.requests if r.goal == "Click the button."]
    usage = summary["tasks"]["miniwob/click-test"]["usage"]
    assert usage["model_calls"] == len(clicked) == 1
    assert usage["prompt_tokens"] == sum(qwen.prompt_tokens(r) for r in clicked)
    assert usage["image_tokens"] == (476 // 28) * (616 // 28)
    assert usage["completion_tokens"] > 0 and usage["model_s"] > 0 and usage["screen_s"] > 0
    total = summary["total"]["usage"]
    assert total["model_calls"] == len(qwen.requests)
    assert total["prompt_tokens"] == sum(qwen.prompt_tokens(r) for r in qwen.requests)
    assert summary["total"]["solved"] == 1 and summary["instances"] == 3
