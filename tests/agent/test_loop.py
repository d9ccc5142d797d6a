"""run_episode with a recording FakeEnv and a scripted model."""

import json

import pytest
from PIL import Image

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import QwenPolicy, ScriptedPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.trajectory import load_run
from qvl_agent.envs.actions import Click, Point, Terminate, TypeText
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import EnvDisconnectedError
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.model.scripted import ScriptedVLM
from tests.fakeqwen import tool_call

# FakeEnv default: 1280x720 screen; frame 1288x728 at default pixel limits.
CLICK = tool_call(action="left_click", coordinate=[644, 364])
DONE = tool_call(action="terminate", status="success")


def run(answers, env=None, tmp_path=None, **kwargs):
    env = env or FakeEnv()
    policy = QwenPolicy(ScriptedVLM(answers), "computer_use", **kwargs.pop("policy", {}))
    recorder = RunRecorder(tmp_path / "run") if tmp_path else None
    trajectory = run_episode(env, policy, "press the button", recorder=recorder, **kwargs)
    return trajectory, env, policy


def test_click_then_terminate(tmp_path):
    trajectory, env, _ = run([CLICK, DONE], tmp_path=tmp_path)
    assert trajectory.status == "success" and trajectory.succeeded
    assert env.executed == [Click(at=Point(x=644 * 1280 / 1288, y=364 * 720 / 728))]
    assert [s.index for s in trajectory.steps] == [1, 2]
    assert trajectory.steps[0].frame == (1288, 728) and trajectory.steps[0].screen.width == 1280


def test_answer_ends_the_episode_with_the_answer():
    trajectory, env, _ = run([tool_call("mobile_use", action="answer", text="42")],
                             env=FakeEnv(kind=EnvKind.android))
    assert trajectory.status == "answered" and trajectory.meta.answer == "42"
    assert env.executed == []


def test_malformed_answers_are_recorded_fed_back_and_forgiven_when_followed_by_a_good_one():
    answers = ["no idea", tool_call(action="left_click", coordinate=[5000, 1]), CLICK, DONE]
    trajectory, env, policy = run(answers)
    assert trajectory.status == "success"
    first, second = trajectory.steps[:2]
    assert first.error_kind == "ActionParseError" and first.raw == "no idea"
    assert second.error_kind == "ActionRejectedError" and "outside the screen" in second.error
    assert len(env.executed) == 1  # the off-screen click never reached the screen
    requests = policy.backend.requests
    assert "could not be executed" in requests[1][-1]["content"][-1]["text"]
    assert "outside the screen" in requests[2][-1]["content"][-1]["text"]
    assert "could not be executed" not in json.dumps(requests[3][-1]["content"][0])
    # The bad answers are not listed as operations done; the click is.
    progress = requests[3][-1]["content"][0]["text"]
    assert progress.count("Step ") == 1 and '"left_click"' in progress


def test_too_many_bad_answers_in_a_row_stop_the_run():
    trajectory, env, _ = run(["x", "y", "z", DONE], max_model_errors=3)
    assert trajectory.status == "model_errors" and len(trajectory.steps) == 3
    assert "3 unusable answers in a row" in trajectory.meta.message


def test_unsupported_actions_are_model_errors_not_crashes():
    env = FakeEnv(supported={Click})
    swipe = tool_call("mobile_use", action="swipe", coordinate=[1, 1], coordinate2=[5, 5])
    trajectory, env, _ = run([swipe, DONE], env=env)
    assert trajectory.steps[0].error_kind == "UnsupportedActionError"
    assert env.executed == [] and trajectory.status == "success"


def test_step_budget():
    trajectory, env, _ = run([CLICK] * 5, max_steps=3)
    assert trajectory.status == "budget" and len(env.executed) == 3
    assert trajectory.meta.budget == "max_steps" and "3 actions done" in trajectory.meta.message


class Flaky(FakeEnv):
    def __init__(self, fail_at):
        super().__init__()
        self.fail_at = fail_at

    def observe(self):
        if self.observations + 1 == self.fail_at:
            raise EnvDisconnectedError("device offline")
        return super().observe()


def test_env_failure_ends_the_run_but_keeps_everything(tmp_path):
    trajectory, _, _ = run([CLICK, CLICK, CLICK], env=Flaky(fail_at=3), tmp_path=tmp_path)
    assert trajectory.status == "error" and trajectory.meta.message == "device offline"
    saved = load_run(tmp_path / "run")
    assert saved.meta.status == "error" and len(saved.steps) == 2
    assert (tmp_path / "run" / "step_002.png").is_file()
    assert "device offline" in (tmp_path / "run" / "report.html").read_text()


def test_ctrl_c_stops_cleanly_and_writes_the_report(tmp_path):
    def answer(messages):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return CLICK
    calls = []
    policy = QwenPolicy(ScriptedVLM(answer), "computer_use")
    trajectory = run_episode(FakeEnv(), policy, "g", recorder=RunRecorder(tmp_path / "run"))
    assert trajectory.status == "interrupted" and len(trajectory.steps) == 2
    assert load_run(tmp_path / "run").meta.status == "interrupted"
    assert "Step 2" in (tmp_path / "run" / "report.html").read_text()


def test_a_bug_is_raised_after_the_report_is_written(tmp_path):
    def broken(observation, history):
        raise ZeroDivisionError("oops")

    with pytest.raises(ZeroDivisionError):
        run_episode(FakeEnv(), ScriptedPolicy(broken), "g", recorder=RunRecorder(tmp_path / "run"))
    meta = load_run(tmp_path / "run").meta
    assert meta.status == "error" and "ZeroDivisionError: oops" in meta.message
    assert (tmp_path / "run" / "report.html").is_file()


def test_history_images_come_back_as_real_turns():
    shots = [Image.new("RGB", (1280, 720), (i * 40, 0, 0)) for i in range(4)]
    env = FakeEnv(screenshot=lambda executed: shots[len(executed)])
    trajectory, _, policy = run([CLICK, CLICK, CLICK, DONE], env=env, policy={"history_images": 2})
    last = policy.backend.requests[-1]
    assert [m["role"] for m in last] == ["system", "user", "assistant", "user", "assistant", "user"]
    images = [p["image"].getpixel((0, 0))[0] for m in last if m["role"] == "user"
              for p in m["content"] if p["type"] == "image"]
    assert images == [40, 80, 120]  # steps 2 and 3, then the current screen
    assert last[2]["content"] == CLICK


def test_scripted_policy_plays_a_list_and_says_when_it_runs_out(tmp_path):
    env = FakeEnv()
    policy = ScriptedPolicy([TypeText(text="hi")], name="oracle")
    trajectory = run_episode(env, policy, "g")
    assert env.executed == [TypeText(text="hi")]
    assert trajectory.status == "error" and "no action left after 1 step" in trajectory.meta.message
    trajectory = run_episode(FakeEnv(), ScriptedPolicy([Terminate(status="failure")]), "g")
    assert trajectory.status == "failure"


def test_run_directory_and_report(tmp_path):
    swipe = tool_call(action="left_click_drag", coordinate=[100, 100])
    run([CLICK, "<script>alert(1)</script>", swipe, DONE], tmp_path=tmp_path)
    run_dir = tmp_path / "run"
    lines = (run_dir / "trajectory.jsonl").read_text().splitlines()
    assert [json.loads(line)["index"] for line in lines] == [1, 2, 3, 4]
    assert sorted(p.name for p in run_dir.glob("step_*.png")) == [f"step_00{i}.png" for i in range(1, 5)]
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "success" and meta["steps"] == 4
    page = (run_dir / "report.html").read_text()
    for i in range(1, 5):
        assert f"id='step-{i}'" in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<circle" in page and "marker-end" in page  # the click and the drag are drawn
    assert "src='step_001.png'" in page  # the run folder's own PNGs, not a second copy


def test_a_run_directory_is_never_mixed_with_another_run(tmp_path):
    from qvl_agent.envs.errors import ConfigError

    run([CLICK, DONE], tmp_path=tmp_path)
    with pytest.raises(ConfigError, match="already holds a run; choose another --out"):
        RunRecorder(tmp_path / "run")
    recorder = RunRecorder(tmp_path / "run", replace=True)  # an eval instance run again
    trajectory = run_episode(FakeEnv(), ScriptedPolicy([Terminate(status="failure")]), "again",
                             recorder=recorder)
    saved = load_run(tmp_path / "run")
    assert saved.meta.goal == "again" and [s.index for s in saved.steps] == [1]
    assert trajectory.status == "failure"


def test_a_model_call_that_fails_is_recorded_on_its_step(tmp_path):
    """The server goes down after step 1: step 2 is in trajectory.jsonl with the screenshot
    the model was shown and the error, not only in meta.json."""
    from qvl_agent.model.openai_backend import OpenAIBackend
    from tests.fakeqwen import FakeQwen

    def respond(request):
        server.failures = [503] * 10  # down from now on
        return CLICK

    with FakeQwen(respond) as server:
        policy = QwenPolicy(OpenAIBackend(server.url, model="m", max_retries=1), "computer_use")
        trajectory = run_episode(FakeEnv(), policy, "press the button",
                                 recorder=RunRecorder(tmp_path / "run"))
    assert trajectory.status == "error" and "failed with 503" in trajectory.meta.message
    lines = [json.loads(line) for line in (tmp_path / "run" / "trajectory.jsonl").read_text().splitlines()]
    assert [line["index"] for line in lines] == [1, 2]
    assert lines[0]["error"] is None and lines[0]["action"]["kind"] == "click"
    failed = lines[1]
    assert failed["error_kind"] == "ModelUnavailableError" and "failed with 503" in failed["error"]
    assert failed["action"] is None and (tmp_path / "run" / failed["screenshot"]).is_file()
    assert load_run(tmp_path / "run").steps[1].error == failed["error"]
