import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.envs.actions import Click, Point, Terminate
from qvl_agent.envs.fake import FakeEnv
from tests.conftest import run_cli

# Each test starts qvl-agent in a fresh process.
pytestmark = pytest.mark.slow


def test_report_rebuilds_the_page_from_the_run_files(tmp_path):
    run_dir = tmp_path / "run"
    actions = [Click(at=Point(x=10, y=20)), Terminate(status="success")]
    run_episode(FakeEnv(), ScriptedPolicy(actions), "click once", recorder=RunRecorder(run_dir))
    (run_dir / "report.html").unlink()
    result = run_cli("report", str(run_dir))
    assert result.returncode == 0 and f"report: {run_dir / 'report.html'}" in result.stdout
    page = (run_dir / "report.html").read_text()
    assert "click once" in page and "Step 1: click (10, 20)" in page and "Step 2: terminate (success)" in page


def test_report_of_a_run_cut_off_mid_line(tmp_path):
    run_dir = tmp_path / "run"
    run_episode(FakeEnv(), ScriptedPolicy([Click(at=Point(x=1, y=1)), Terminate(status="success")]),
                "g", recorder=RunRecorder(run_dir))
    with open(run_dir / "trajectory.jsonl", "a") as lines:
        lines.write('{"index": 3, "started_')  # a crash in the middle of a write
    result = run_cli("report", str(run_dir))
    assert result.returncode == 0
    assert "Step 2" in (run_dir / "report.html").read_text()


def test_report_of_a_non_run_is_one_line(tmp_path):
    result = run_cli("report", str(tmp_path))
    assert result.returncode == 2 and result.stderr.strip() == f"error: {tmp_path} is not a run directory: it has no meta.json"
