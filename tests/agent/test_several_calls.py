"""Every tool call of an answer runs; loops end as stuck; truncated answers say so."""

from PIL import Image

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.envs.actions import Click, KeyPress, Point, TypeText, Wait
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.model.scripted import ScriptedVLM
from tests.fakeqwen import FakeQwen, tool_call

# FakeEnv: 1280x720 screen, frame 1288x728.
AT = Point(x=644 * 1280 / 1288, y=364 * 720 / 728)
CLICK = tool_call(action="left_click", coordinate=[644, 364])
TYPE = tool_call(action="type", text="hello")
ENTER = tool_call(action="key", keys=["enter"])
DONE = tool_call(action="terminate", status="success")


def run(answers, env=None, **kwargs):
    env = env or FakeEnv()
    policy = QwenPolicy(ScriptedVLM(answers), "computer_use")
    return run_episode(env, policy, "fill the form", **kwargs), env, policy


def test_three_calls_in_one_answer_run_in_order_and_each_is_recorded():
    trajectory, env, policy = run(["Thought: all at once.\n" + CLICK + "\n" + TYPE + "\n" + ENTER, DONE])
    assert env.executed == [Click(at=AT), TypeText(text="hello"), KeyPress(keys=["enter"])]
    assert trajectory.status == "success"
    steps = trajectory.steps
    assert [s.call_index for s in steps] == [0, 1, 2, 0]
    assert [s.action.kind for s in steps] == ["click", "type", "key", "terminate"]
    assert steps[0].raw.startswith("Thought") and steps[1].raw is None  # one answer, one raw
    # The next request lists all three as done, in order.
    progress = policy.backend.requests[1][-1]["content"][0]["text"]
    assert progress.index('"left_click"') < progress.index('"type"') < progress.index('"key"')


def test_the_same_call_twice_in_one_answer_runs_twice():
    down = tool_call(action="key", keys=["down"])
    trajectory, env, _ = run(["Thought: down, down.\n" + down + "\n" + down, DONE])
    assert env.executed == [KeyPress(keys=["down"]), KeyPress(keys=["down"])]
    assert [s.call_index for s in trajectory.steps] == [0, 1, 0]


def test_an_answer_of_several_calls_repeated_on_a_still_screen_is_no_loop():
    # Click then type, five times: the click never comes right after itself, so the repeat
    # count starts again after each answer's further calls and nothing is called stuck.
    trajectory, env, _ = run([CLICK + TYPE] * 5 + [DONE], max_steps=20)
    assert trajectory.status == "success" and len(env.executed) == 10
    assert not any(step.warning for step in trajectory.steps)


def test_terminate_among_the_calls_ends_the_episode_where_it_stands():
    trajectory, env, _ = run([CLICK + DONE + TYPE])
    assert trajectory.status == "success"
    assert env.executed == [Click(at=AT)]  # the call after terminate never ran
    assert len(trajectory.steps) == 2


def test_an_unusable_call_stops_the_rest_and_is_fed_back():
    off_screen = tool_call(action="left_click", coordinate=[5000, 10])
    trajectory, env, policy = run([CLICK + off_screen + TYPE, DONE])
    assert env.executed == [Click(at=AT)]
    assert trajectory.steps[1].error_kind == "ActionRejectedError"
    assert "outside the screen" in policy.backend.requests[1][-1]["content"][-1]["text"]
    assert trajectory.status == "success"


def test_a_looping_model_is_told_then_ends_stuck():
    trajectory, env, policy = run([CLICK] * 10, max_steps=10)
    assert trajectory.status == "stuck" and "4 times" in trajectory.meta.message
    assert len(trajectory.steps) == 4 and len(env.executed) == 4
    assert trajectory.steps[2].warning and "3 times" in trajectory.steps[2].warning
    told = policy.backend.requests[3][-1]["content"][-1]["text"]
    assert "did not change" in told  # the fourth request carried the warning


def test_the_same_click_on_a_changing_screen_is_not_a_loop():
    def screen(executed):  # the screen shows how many clicks landed
        shade = min(255, 20 * len(executed))
        return Image.new("RGB", (1280, 720), (shade, shade, shade))

    trajectory, env, _ = run([CLICK] * 6 + [DONE], env=FakeEnv(screenshot=screen), max_steps=10)
    assert trajectory.status == "success" and len(env.executed) == 6


def test_a_model_that_changes_course_after_the_warning_goes_on():
    trajectory, env, _ = run([CLICK, CLICK, CLICK, TYPE, DONE], max_steps=10)
    assert trajectory.status == "success"
    assert env.executed[-1] == TypeText(text="hello")


def test_wait_without_time_waits_the_default():
    trajectory, env, _ = run([tool_call(action="wait"), DONE])
    assert env.executed == [Wait(seconds=2.0)]


def test_a_truncated_answer_is_recorded_as_truncated_and_fed_back():
    long = "Thought: " + "I am thinking it over " * 40 + CLICK

    def respond(request):
        return long if request.index == 0 else DONE

    with FakeQwen(respond) as server:
        from qvl_agent.model.openai_backend import OpenAIBackend

        policy = QwenPolicy(OpenAIBackend(server.url), "computer_use", max_new_tokens=32)
        env = FakeEnv()
        trajectory = run_episode(env, policy, "press it")
    first = trajectory.steps[0]
    assert first.error_kind == "AnswerTruncatedError" and "32 new tokens" in first.error
    assert env.executed == [] and trajectory.status == "success"
    assert "cut off" in server.requests[1].texts[-1]


def test_the_report_shows_each_call_and_the_stuck_ending(tmp_path):
    from qvl_agent.agent.recorder import RunRecorder

    env = FakeEnv()
    policy = QwenPolicy(ScriptedVLM([CLICK + TYPE] + [CLICK] * 6), "computer_use")
    trajectory = run_episode(env, policy, "fill the form", max_steps=8,
                             recorder=RunRecorder(tmp_path / "run"))
    assert trajectory.status == "stuck"
    page = (tmp_path / "run" / "report.html").read_text()
    assert "call 2 of the answer above" in page and "no new screenshot" in page
    assert "told the model" in page and "did not change" in page and "stuck" in page
