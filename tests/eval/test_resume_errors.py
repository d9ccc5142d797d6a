"""``--resume`` after an outage of the model server, the way it was found: every instance
ended in error, and resuming said "already done" and summarised the errors as failures.

Now an eval whose instances all ended in error exits non-zero and says so; ``--resume``
runs them again (``--resume-keep-errors`` keeps them), and the file keeps one line each.
"""

from __future__ import annotations

import pytest

from qvl_agent.eval.config import EvalConfig
from qvl_agent.eval.runner import run_eval
from tests.conftest import run_cli
from tests.eval.suites import lines
from tests.fakeqwen import FakeQwen, tool_call

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _eval(qwen: FakeQwen, out, *extra: str):
    return run_cli("eval", "--suite", "web", "--tasks", "open-help", "--seeds", "2",
                   "--endpoint", qwen.url, "--out", str(out), *extra, timeout=600)


def test_errors_are_run_again_on_resume_and_an_all_error_run_fails(tmp_path):
    out = tmp_path / "eval"
    with FakeQwen(lambda r: tool_call(action="terminate", status="success"),
                  failures=[503] * 1000) as qwen:  # the server is down
        first = _eval(qwen, out)
        assert first.returncode == 1, first.stdout + first.stderr
        assert "every instance ended in error" in first.stderr and "failed with 503" in first.stderr
        assert [r["outcome"] for r in lines(out)] == ["error", "error"]

        qwen.failures = []  # the server is back (on the same address, as a restart is)
        # Kept on request: nothing is run (no worker even starts), it is still all errors.
        config = EvalConfig.model_validate_json((out / "eval.json").read_text())
        kept = run_eval(config.model_copy(update={"resume": True, "resume_keep_errors": True}))
        assert qwen.requests == [] and [r.outcome for r in kept] == ["error", "error"]
        assert [r["outcome"] for r in lines(out)] == ["error", "error"]

        # By default --resume runs the errors again; each instance keeps one line.
        again = _eval(qwen, out, "--resume")
        asked = len(qwen.requests)
    assert again.returncode == 0, again.stdout + again.stderr
    rows = lines(out)
    assert sorted(r["instance"] for r in rows) == ["web/open-help#0", "web/open-help#1"]
    assert all(r["outcome"] == "failure" for r in rows)  # it claimed success without doing it
    assert asked == 2
    assert "success rate: 0.0% (0/2;" in (out / "summary.md").read_text()
