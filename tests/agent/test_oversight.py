"""A person in the loop through the Python callables: confirm(step) -> bool, and pausing
with on_pause(step) -> advice | None (StopRun ends the run)."""

from __future__ import annotations

import json
import threading

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.oversight import Oversight, StopRun
from qvl_agent.agent.policy import QwenPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.trajectory import load_run
from qvl_agent.envs.actions import Click, Point, Terminate, TypeText
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.eval.sft import PromptOptions, export_sft
from qvl_agent.model.scripted import ScriptedVLM
from tests.fakeqwen import tool_call

CLICK = tool_call(action="left_click", coordinate=[644, 364])
DONE = tool_call(action="terminate", status="success")
SECRET = tool_call(action="type", text="<secret:PASSWORD>")


def _last_text(messages) -> str:
    return "\n".join(p["text"] for p in messages[-1]["content"] if p.get("type") == "text")


def _run(answers, oversight, tmp_path=None, **kw):
    env, backend = FakeEnv(), ScriptedVLM(answers)
    recorder = RunRecorder(tmp_path / "run") if tmp_path else None
    trajectory = run_episode(env, QwenPolicy(backend, "computer_use"), "sign in", recorder=recorder,
                             oversight=oversight, secrets={"PASSWORD": "hunter2hunter2"}, **kw)
    return trajectory, env, [_last_text(m) for m in backend.requests]


def test_risky_means_a_secret_a_risky_word_or_the_end():
    oversight = Oversight(confirm=lambda step: True, patterns=["sign in"])
    click = Click(at=Point(x=1, y=1))
    assert oversight.risk(TypeText(text="x"), secret=True, target=None) == "it types a secret"
    assert oversight.risk(Terminate(status="success"), secret=False, target=None) == "it ends the task"
    for text, word in [("Pay now", "Pay"), ("Payment details", "Pay"), ("DELETE account", "DELETE"),
                       ("Sign  in", "Sign  in"), ("Place order", "order"), ("Submit", "Submit")]:
        assert oversight.risk(click, secret=False, target=text) == f"its target says {word!r}"
    for text in ("Display", "Username", "Resend code", "Next", None):  # a word's start only
        assert oversight.risk(click, secret=False, target=text) is None
    assert Oversight(mode="never").risk(Terminate(status="success"), secret=True, target="Pay") is None
    assert Oversight(confirm=bool, mode="always").risk(click, secret=False, target=None)
    with pytest.raises(ConfigError, match="needs someone to ask: pass confirm="):
        Oversight(mode="risky")


def test_confirm_says_no_then_yes_and_the_model_hears_the_refusal(tmp_path):
    asked = []

    def confirm(step) -> bool:
        asked.append((step.index, step.action.kind, step.confirmation.reason, step.confirmation.screenshot))
        return len(asked) not in (1, 3)  # no to the first secret and to the first terminate

    trajectory, env, texts = _run([SECRET, SECRET, DONE, CLICK, DONE], Oversight(confirm=confirm),
                                  tmp_path, max_model_errors=1)
    assert asked == [(1, "type", "it types a secret", "step_001.png"),
                     (2, "type", "it types a secret", "step_002.png"),
                     (3, "terminate", "it ends the task", "step_003.png"),
                     (5, "terminate", "it ends the task", "step_005.png")]
    assert env.executed == [TypeText(text="hunter2hunter2"), Click(at=Point(x=644 * 1280 / 1288, y=364 * 720 / 728))]
    assert trajectory.status == "success"  # two refusals, max_model_errors=1: not the model's fault
    assert "The user refused your previous action" in texts[1]
    assert "The user refused your previous action" in texts[3]
    assert "refused" not in texts[2] and "refused" not in texts[4]
    run = load_run(tmp_path / "run")
    assert [s.confirmation.answer if s.confirmation else None for s in run.steps] == \
        ["no", "yes", "no", None, "yes"]
    assert run.steps[0].error_kind == "RefusedByUser" and run.steps[3].confirmation is None


def test_stop_at_a_question_ends_the_run_with_the_step_kept(tmp_path):
    def confirm(step) -> bool:
        raise StopRun("not today")

    trajectory, env, _ = _run([SECRET], Oversight(confirm=confirm), tmp_path)
    assert env.executed == [] and trajectory.status == "interrupted"
    assert trajectory.meta.message == "not today"
    run = load_run(tmp_path / "run")
    assert run.meta.status == "interrupted" and run.steps[0].confirmation.answer == "stop"


def test_a_pause_asked_from_another_thread_hands_the_run_to_the_person(tmp_path):
    turns = []

    def on_pause(step):
        turns.append(step.index)
        return ["  the button is green  ", None][len(turns) - 1]

    oversight = Oversight(mode="never", on_pause=on_pause)

    def on_step(step, trajectory):  # as a GUI's "pause" button would, from its own thread
        if step.index in (1, 4):
            thread = threading.Thread(target=oversight.request_pause)
            thread.start()
            thread.join()

    trajectory, env, texts = _run([CLICK, CLICK, CLICK, DONE], oversight, tmp_path, on_step=on_step)
    assert trajectory.status == "success" and len(env.executed) == 3
    assert turns == [2, 5]
    steps = trajectory.steps
    assert [(s.human.decision, s.human.advice) for s in steps if s.human] == \
        [("advice", "the button is green"), ("resume", None)]
    assert texts[1].endswith("The user says: the button is green")
    assert "The user says" not in texts[2] and "The user says" not in texts[3]
    # The export shows the advice where the model saw it.
    export_sft([tmp_path / "run"], tmp_path / "sft", validation=0,
               options=PromptOptions(min_pixels=3136, max_pixels=12845056))
    rows = [json.loads(line) for line in (tmp_path / "sft" / "train.jsonl").read_text().splitlines()]
    assert len(rows) == 4
    assert rows[1]["messages"][1]["content"][-1]["text"] == "\nThe user says: the button is green"


def test_stop_during_a_pause_is_recorded_as_the_persons_turn(tmp_path):
    def on_pause(step):
        raise StopRun

    oversight = Oversight(mode="never", on_pause=on_pause)
    oversight.request_pause()
    trajectory, env, _ = _run([CLICK], oversight, tmp_path)
    assert env.executed == [] and trajectory.status == "interrupted"
    run = load_run(tmp_path / "run")
    assert run.meta.message == "stopped by the user during a pause"
    assert run.steps[0].human.decision == "stop" and run.steps[0].action is None
