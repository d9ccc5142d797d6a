"""The Python API's Agent: hooks, StopRun, budgets and usage, on a recording FakeEnv with the
fake Qwen server (which counts tokens as vLLM does)."""

import json
import time

import pytest
from PIL import Image

import qvl_agent
from qvl_agent.agent.trajectory import load_run
from qvl_agent.envs.fake import FakeEnv
from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, QwenRequest, _tokenizer, tool_call

SCREEN = (1280, 720)  # FakeEnv's; its frame is 1288x728
FRAME_TOKENS = (1288 // 28) * (728 // 28)
DONE = tool_call(action="terminate", status="success")


def click(request: QwenRequest, x: float = 100, y: float = 200) -> str:
    return tool_call(action="left_click", coordinate=request.to_frame(x, y, SCREEN))


def clicks_forever(request: QwenRequest) -> str:
    """A model that never finishes: a click somewhere new each time (so never 'stuck')."""
    return click(request, 10 + 10 * request.index, 20)


def script(*answers):
    """Answer by request number; after the script, terminate."""
    def respond(request: QwenRequest) -> str:
        return answers[request.index](request) if request.index < len(answers) else DONE
    return respond


def several(request: QwenRequest) -> str:
    """One answer with two calls: type, then press enter."""
    return (tool_call(action="type", text="hello") + "\n"
            + tool_call(action="key", keys=["enter"]))


def test_hooks_see_every_step_with_what_the_model_saw_said_did_and_cost(tmp_path):
    starts, ends, agent_ends, seen = [], [], [], []

    def on_start(step):
        starts.append((step.index, step.call_index, step.observation, step.action))

    with FakeQwen(script(click, several)) as qwen:
        agent = qvl_agent.Agent(endpoint=qwen.url, on_step_end=agent_ends.append)
        env = FakeEnv()
        result = agent.run("type hello in the box", env, out=tmp_path / "run",
                           on_step_start=on_start,
                           on_step_end=[ends.append, lambda step: seen.append(step.observation)])

    assert result.status == "done" and result.succeeded and result.outcome == "success"
    # Four steps: the click, the two calls of the second answer, the terminate.
    assert [s.index for s in ends] == [1, 2, 3, 4] and ends == result.steps
    assert agent_ends == ends  # hooks of the Agent and of the run both saw every step
    assert all(step.observation is None for step in result.steps)  # not kept after the hooks
    assert [(i, c, o, a) for i, c, o, a in starts] == [(1, 0, None, None), (2, 0, None, None),
                                                       (3, 1, None, None), (4, 0, None, None)]
    first, typed, pressed, done = ends
    first_seen, typed_seen, pressed_seen = seen[:3]
    assert first_seen.screenshot.size == SCREEN and first_seen.screen.width == 1280
    assert first.raw == click(qwen.requests[0]) and first.action.kind == "click"
    assert typed.action.kind == "type" and pressed.action.kind == "key"
    assert pressed.call_index == 1 and pressed_seen is typed_seen is not first_seen
    assert [a.kind for a in env.executed] == ["click", "type", "key"]
    # Usage: what the server counted, the frame's image tokens, the screen's time.
    for step, request in zip([first, typed, done], qwen.requests, strict=True):
        usage = step.usage
        assert usage.model_calls == 1
        assert usage.prompt_tokens == qwen.prompt_tokens(request)
        assert usage.image_tokens == FRAME_TOKENS
        assert usage.completion_tokens == len(_tokenizer().encode(step.raw).ids) + 1
        assert usage.model_s > 0 and usage.screen_s > 0 and usage.wall_s >= usage.model_s
    assert pressed.usage.tokens == 0 and pressed.usage.model_calls == 0  # the answer's 2nd call
    assert result.usage.model_calls == 3 == len(qwen.requests)
    assert result.usage.prompt_tokens == sum(qwen.prompt_tokens(r) for r in qwen.requests)
    assert result.usage.completion_tokens == sum(s.usage.completion_tokens for s in ends)
    # The run directory says the same: meta.json's totals, the report's usage line.
    meta = json.loads((tmp_path / "run" / "meta.json").read_text())
    assert meta["usage"] == result.usage.model_dump() and meta["status"] == "success"
    assert result.report.is_file() and f"{result.usage.prompt_tokens} prompt tokens" in \
        result.report.read_text()


def test_stop_run_in_a_hook_ends_the_run_cleanly(tmp_path):
    def enough(step):
        if step.index == 2:
            raise qvl_agent.StopRun("seen enough")

    with FakeQwen(clicks_forever) as qwen:
        env = FakeEnv()
        result = qvl_agent.Agent(endpoint=qwen.url).run("click around", env, out=tmp_path / "run",
                                                       on_step_end=enough)
    assert (result.status, result.outcome, result.message) == ("stopped", "stopped", "seen enough")
    assert len(result.steps) == 2 and len(env.executed) == 2 and len(qwen.requests) == 2
    run = load_run(tmp_path / "run")  # the trajectory and report are complete
    assert run.meta.status == "stopped" and len(run.steps) == 2 and run.meta.usage is not None
    assert (tmp_path / "run" / "step_002.png").is_file()
    assert "seen enough" in (tmp_path / "run" / "report.html").read_text()


@pytest.mark.parametrize("kind", ["on_step_start", "on_step_end"])
def test_a_hook_that_raises_ends_the_run_with_an_error_naming_it(tmp_path, kind):
    def broken_hook(step):
        if step.index == 2:
            raise ValueError("no such field")

    with FakeQwen(clicks_forever) as qwen:
        result = qvl_agent.Agent(endpoint=qwen.url).run("click around", FakeEnv(),
                                                       out=tmp_path / "run", **{kind: broken_hook})
    assert result.status == "error" and result.outcome == "error"
    assert f"the {kind} hook" in result.message and "broken_hook" in result.message
    assert "ValueError" in result.message and "no such field" in result.message
    assert load_run(tmp_path / "run").meta.status == "error"
    assert (tmp_path / "run" / "report.html").is_file()


def test_max_steps_counts_each_call_of_an_answer(tmp_path):
    def three_clicks(request):
        return "\n".join(click(request, x, 50) for x in (10, 20, 30))

    with FakeQwen(three_clicks) as qwen:
        env = FakeEnv()
        result = qvl_agent.Agent(endpoint=qwen.url).run("click", env, max_steps=2,
                                                       out=tmp_path / "run")
    assert (result.status, result.budget) == ("budget", "max_steps")
    assert result.message == "max_steps: 2 actions done, the budget is 2"
    assert [round(a.at.x) for a in env.executed] == [10, 20]  # the third call never ran
    assert len(qwen.requests) == 1
    assert load_run(tmp_path / "run").meta.budget == "max_steps"


def test_unusable_answers_do_not_count_as_steps(tmp_path):
    with FakeQwen(script(lambda r: "no idea", click, lambda r: "still no idea", clicks_forever)) as qwen:
        env = FakeEnv()
        result = qvl_agent.Agent(endpoint=qwen.url).run("click", env, max_steps=2,
                                                       out=tmp_path / "run")
    assert (result.status, result.budget) == ("budget", "max_steps")
    assert len(result.steps) == 4 and len(env.executed) == 2


def test_max_tokens_ends_the_run_after_the_answer_that_reaches_it(tmp_path):
    with FakeQwen(clicks_forever) as qwen:
        agent = qvl_agent.Agent(endpoint=qwen.url)
        one = agent.run("click", FakeEnv(), max_steps=1, out=tmp_path / "one")
        env = FakeEnv()
        result = agent.run("click", env, max_tokens=one.usage.tokens + 1, out=tmp_path / "two")
    assert (result.status, result.budget) == ("budget", "max_tokens")
    assert len(env.executed) == 2  # the second answer crossed the line, and was carried out
    assert result.usage.tokens > one.usage.tokens + 1
    assert result.message == (f"max_tokens: {result.usage.tokens} tokens used, the budget is "
                              f"{one.usage.tokens + 1}")


def test_max_seconds_ends_the_run(tmp_path):
    with FakeQwen(clicks_forever) as qwen:
        result = qvl_agent.Agent(endpoint=qwen.url).run(
            "click", FakeEnv(), max_seconds=0.3, max_steps=50, out=tmp_path / "run",
            on_step_end=lambda step: time.sleep(0.2))
    assert (result.status, result.budget) == ("budget", "max_seconds")
    assert result.message.startswith("max_seconds: ") and "the budget is 0.3 s" in result.message
    # Only the clock could end it: the model never finishes and 50 actions were allowed.
    assert 1 <= len(result.steps) < 50 and result.usage.wall_s >= 0.3


@pytest.mark.slow  # starts qvl-agent in a fresh process
def test_bad_options_are_the_same_one_line_errors_as_the_cli(tmp_path):
    with FakeQwen(clicks_forever) as qwen:
        with pytest.raises(qvl_agent.ConfigError) as bad_model:
            qvl_agent.Agent(endpoint=qwen.url, history_images=11)
        agent = qvl_agent.Agent(endpoint=qwen.url)
        with pytest.raises(qvl_agent.ConfigError) as bad_budget:
            agent.run("click", FakeEnv(), max_tokens=0, out=tmp_path / "run")
        cli_model = run_cli("run", "click", "--endpoint", qwen.url, "--history-images", "11")
        cli_budget = run_cli("run", "click", "--endpoint", qwen.url, "--max-tokens", "0")
    assert cli_model.returncode == 2 and cli_model.stderr == f"error: {bad_model.value}\n"
    assert cli_budget.returncode == 2 and cli_budget.stderr == f"error: {bad_budget.value}\n"
    assert "--max-tokens" in str(bad_budget.value) and not (tmp_path / "run").exists()


@pytest.mark.slow  # starts qvl-agent in a fresh process
def test_ground_answers_as_the_cli_does(tmp_path):
    picture = Image.new("RGB", (1000, 500), "white")
    picture.save(tmp_path / "shot.png")

    def grounder(request):  # a box from a quarter to half the frame
        w, h = request.frame or request.image.size
        return json.dumps([{"bbox_2d": [w // 4, h // 4, w // 2, h // 2], "label": "Submit"}])

    with FakeQwen(grounder) as qwen:
        found = qvl_agent.Agent(endpoint=qwen.url).ground(tmp_path / "shot.png", "the Submit button")
        cli = run_cli("ground", str(tmp_path / "shot.png"), "the Submit button",
                      "--endpoint", qwen.url)
    assert cli.returncode == 0, cli.stderr
    items = json.loads(cli.stdout)["items"]
    assert [{"label": i.label, "point": [round(i.point.x, 1), round(i.point.y, 1)],
             "box": [round(v, 1) for v in i.box]} for i in found.items] == items
    # In the image's pixels: the frame's quarter-to-half box, mapped back.
    assert found.box == (250.0, 125.0, 500.0, 250.0) and found.point == qvl_agent.Point(x=375, y=187.5)


def test_the_local_model_counts_its_own_tokens(tmp_path, tiny_checkpoint):
    agent = qvl_agent.Agent(str(tiny_checkpoint), max_pixels=200704, max_new_tokens=16,
                            torch_device="cpu")
    result = agent.run("press the button", FakeEnv(), max_steps=2, out=tmp_path / "run")
    asked = [s for s in result.steps if s.call_index == 0]
    assert asked, result.message
    # A random model answers nonsense; what it cost is counted all the same. 1280x720 at
    # 200704 pixels is a 588x336 frame: 21 x 12 blocks of 28 pixels.
    for step in asked:
        usage = step.usage
        assert usage.model_calls == 1 and usage.image_tokens == 21 * 12
        assert usage.prompt_tokens > usage.image_tokens and 0 < usage.completion_tokens <= 16
    assert result.usage.tokens == sum(s.usage.tokens for s in result.steps)


def test_secrets_and_confirm_as_run_takes_them(tmp_path):
    """``secrets=`` as ``--secret``, ``confirm=`` as ``--confirm risky`` asks at the terminal."""
    def types_the_pin(request):
        return tool_call(action="type", text="<secret:PIN>")

    asked = []

    def confirm(step):
        asked.append((step.action.kind, step.confirmation.reason, step.action))
        return len(asked) != 2  # yes to the secret, no to the first terminate

    with FakeQwen(script(types_the_pin, lambda r: DONE, lambda r: DONE)) as qwen:
        env = FakeEnv()
        result = qvl_agent.Agent(endpoint=qwen.url).run(
            "type <secret:PIN> in the box", env, out=tmp_path / "run",
            secrets={"PIN": "4711-0815"}, confirm=confirm)
    assert result.status == "done" and result.succeeded, result.message
    assert [(kind, reason) for kind, reason, _ in asked] == [
        ("type", "it types a secret"), ("terminate", "it ends the task"),
        ("terminate", "it ends the task")]
    assert asked[0][2].text == "<secret:PIN>"  # the person sees the placeholder
    assert [a.text for a in env.executed] == ["4711-0815"]  # the screen gets the value
    assert [s.confirmation.answer for s in result.steps] == ["yes", "no", "yes"]
    assert "4711-0815" not in json.dumps([r.body for r in qwen.requests])
    for path in (tmp_path / "run").iterdir():
        if path.suffix in (".json", ".jsonl", ".html"):
            assert "4711-0815" not in path.read_text(), path


def test_stop_run_from_confirm_stops_the_run(tmp_path):
    def not_today(step):
        raise qvl_agent.StopRun("not today")

    with FakeQwen(lambda request: DONE) as qwen:
        agent = qvl_agent.Agent(endpoint=qwen.url)
        with pytest.raises(qvl_agent.ConfigError, match="confirm= or oversight="):
            agent.run("finish", FakeEnv(), confirm=not_today, out=tmp_path / "both",
                      oversight=qvl_agent.Oversight(confirm=not_today))
        result = agent.run("finish", FakeEnv(), confirm=not_today, out=tmp_path / "run")
    assert (result.status, result.outcome, result.message) == ("stopped", "interrupted", "not today")
    assert not result.succeeded and result.steps[0].confirmation.answer == "stop"
    assert not (tmp_path / "both").exists()
    run = load_run(tmp_path / "run")  # complete: the asked step and the report
    assert run.meta.status == "interrupted" and len(run.steps) == 1
    assert "not today" in (tmp_path / "run" / "report.html").read_text()
