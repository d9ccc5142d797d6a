"""OSWorld's own record of a run (``traj.jsonl``, ``result.txt``) beside ours, in the shape
OSWorld's ``lib_run_single.run_single_example`` writes, so its viewers read our runs."""

import json

from PIL import Image

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.trajectory import load_run
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.model.scripted import ScriptedVLM
from tests.fakeqwen import tool_call

FIELDS = ["step_num", "action_timestamp", "action", "response", "reward", "done", "info",
          "screenshot_file"]


def _run(tmp_path, answers, *, osworld=True):
    env = FakeEnv(screen=(640, 400), screenshot=Image.new("RGB", (640, 400), (240, 240, 240)))
    out = tmp_path / "run"
    policy = QwenPolicy(ScriptedVLM(answers), "computer_use")
    trajectory = run_episode(env, policy, "Write hi", recorder=RunRecorder(out, osworld=osworld))
    return trajectory, out


def test_each_executed_action_is_one_line_under_the_answer_it_came_from(tmp_path):
    two_calls = tool_call(action="left_click", coordinate=[100, 50]) + "\n" + \
        tool_call(action="type", text="hi")
    answers = [two_calls, tool_call(action="key", keys=["ctrl", "s"]),
               tool_call(action="terminate", status="success")]
    trajectory, out = _run(tmp_path, answers)
    assert trajectory.status == "success"
    lines = [json.loads(line) for line in (out / "traj.jsonl").read_text().splitlines()]
    assert [list(line) for line in lines] == [FIELDS] * 4
    click = trajectory.steps[0].action.at
    assert [line["action"] for line in lines] == [
        f"pyautogui.click({round(click.x)}, {round(click.y)})", "pyautogui.typewrite('hi')",
        "pyautogui.hotkey('ctrl', 's')", "DONE"]
    assert [line["step_num"] for line in lines] == [1, 1, 2, 3]  # one per model answer
    assert [line["response"] for line in lines] == [two_calls, two_calls, *answers[1:]]
    assert [(line["done"], line["info"], line["reward"]) for line in lines] == \
        [(False, {}, 0)] * 3 + [(True, {"done": True}, 0)]
    for line in lines:
        assert len(line["action_timestamp"]) == len("20261204@235959") and \
            line["action_timestamp"][8] == "@"
        assert (out / line["screenshot_file"]).is_file()
    # The screen after an action is the next look at it; DONE names its own.
    shots = [s.screenshot for s in load_run(out).steps]
    assert [line["screenshot_file"] for line in lines] == [shots[2], shots[2], shots[3], shots[3]]


def test_a_failed_task_ends_with_fail(tmp_path):
    _, out = _run(tmp_path, [tool_call(action="terminate", status="failure")])
    (line,) = [json.loads(line) for line in (out / "traj.jsonl").read_text().splitlines()]
    assert (line["action"], line["done"], line["info"]) == ("FAIL", True, {"fail": True})


def test_runs_of_other_screens_have_only_our_record(tmp_path):
    _, out = _run(tmp_path, [tool_call(action="terminate", status="success")], osworld=False)
    assert (out / "trajectory.jsonl").is_file() and not (out / "traj.jsonl").exists()
