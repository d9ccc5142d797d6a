"""The run report as a person reads it: a short header, rounded numbers, a timing legend,
screenshots shown from the run folder (one copy) or embedded with --self-contained."""

import re

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.envs.actions import Click, Point, Terminate
from qvl_agent.envs.fake import FakeEnv
from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, tool_call

pytestmark = pytest.mark.slow  # qvl-agent in a fresh process


@pytest.fixture
def run_dir(tmp_path):
    run_dir = tmp_path / "run"
    actions = [Click(at=Point(x=921.2422360248447, y=40.5)), Terminate(status="success")]
    run_episode(FakeEnv(), ScriptedPolicy(actions), "press the big button",
                recorder=RunRecorder(run_dir))
    return run_dir


def test_the_report_shows_the_run_folders_pngs_with_rounded_numbers_and_a_legend(run_dir):
    result = run_cli("report", str(run_dir))
    assert result.returncode == 0, result.stderr
    page = (run_dir / "report.html").read_text()
    assert "921.2422" not in page and "&quot;x&quot;: 921.2," in page
    assert "src='step_001.png'" in page and "data:image" not in page  # one copy, on disk
    assert "observe: taking the screenshot" in page and "model: the model&#x27;s own part of think" in page
    assert "{'" not in page  # no Python dict of options in the header
    header = page[page.index("<header>"):page.index("</header>")]
    assert "press the big button" in header and "success" in header and "2</b> steps" in header
    assert "max-height:min(70vh,560px)" in page and "click for full size" in page


def test_self_contained_embeds_the_screenshots_for_one_file_to_share(run_dir):
    result = run_cli("report", str(run_dir), "--self-contained")
    assert result.returncode == 0, result.stderr
    page = (run_dir / "report.html").read_text()
    assert len(re.findall(r"src='data:image/jpeg;base64,", page)) == 2
    assert "src='step_001.png'" not in page


@pytest.mark.browser
def test_a_unicode_goal_keeps_its_letters_in_the_run_folder(tmp_path):
    with FakeQwen(lambda r: tool_call(action="terminate", status="success")) as server:
        result = run_cli("run", "tippe héllo ünicode, 日本語", "--env", "browser",
                         "--endpoint", server.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    folder, = (tmp_path / "runs").iterdir()
    assert folder.name.endswith("-tippe-héllo-ünicode-日本語")
