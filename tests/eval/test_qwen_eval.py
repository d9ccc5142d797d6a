"""The qwen policy runs a suite through the harness against the local fake Qwen server."""

import json

import pytest

from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, tool_call

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def naive_qwen(request):
    """Clicks the middle of the task area once, then says it is done."""
    step = request.texts[-1].count("Step ") if request.texts else 0
    w, h = request.frame
    if step == 0:
        return tool_call(action="left_click", coordinate=[w // 2, int(h * 0.6)])
    return tool_call(action="terminate", status="success")


def test_qwen_policy_runs_miniwob_against_the_fake_server(tmp_path):
    out = tmp_path / "out"
    with FakeQwen(naive_qwen) as qwen:
        result = run_cli("eval", "--suite", "miniwob", "--tasks", "^miniwob/(click-test|click-button|focus-text)$",
                         "--policy", "qwen", "--endpoint", qwen.url, "--workers", "2", "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert sorted(r["task"] for r in lines) == ["miniwob/click-button", "miniwob/click-test", "miniwob/focus-text"]
    assert all(r["outcome"] in ("success", "failure") for r in lines), lines
    # The 160x210 task area at device scale 3 is a 480x630 screenshot; Qwen saw its frame.
    assert {r.frame for r in qwen.requests} == {(476, 616)} and not qwen.violations
    assert {r.image.size for r in qwen.requests} == {(476, 616)}
    assert all(r.goal for r in qwen.requests)  # the page's utterance became the goal
    from eval.worker import run_dir_name

    meta = json.loads((out / "runs" / run_dir_name("miniwob/click-test", 0) / "meta.json").read_text())
    assert meta["model"].startswith("Qwen2.5-VL-7B-Instruct @ http://127.0.0.1")
    assert f"report: {out / 'summary.md'}" in result.stdout
