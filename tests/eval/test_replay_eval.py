"""``eval --replay``: an oracle eval of the android and web suites, replayed as a user does it.

- Replayed without model options, each instance recorded for seed 0 ends as it ended when it
  was recorded, and nothing asks a model.
- Replayed on seed 1 (``--replay-seed 0``), where the tasks' data and the web pages' layout
  differ, an instance whose recording no longer fits stops with ``diverged`` at the first
  step that does not fit; every step before it acted on the very element it acted on when
  recorded (the loop notes the element under each point as it acts), so nothing was clicked
  blindly.
- With the fake Qwen server, the model takes over where the replay diverged and the run
  finishes; the instances that still fit never ask it (requests counted at the server).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qvl_agent.agent.trajectory import load_run
from qvl_agent.envs.actions import Click, Swipe
from qvl_agent.eval.config import run_dir_name
from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call

pytestmark = pytest.mark.slow

SUITES = {
    "web": [],
    # Each worker drives its own phone; the phones mostly wait (a dump waits for the screen
    # to be idle for a second), so three share two cores well.
    "android": ["--device", "sim", "--workers", "3"],
}
# The task each suite hands to the fake model on seed 1, and how the model solves it.
TAKEOVER = {"web": "web/sign-in", "android": "android/contact-number-question"}


def _rows(out: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return {row["instance"]: row for row in rows}


def _eval(*args: str) -> None:
    result = run_cli("eval", *args, timeout=900)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]


@pytest.fixture(scope="module", params=[pytest.param("web", marks=pytest.mark.browser),
                                        pytest.param("android", marks=pytest.mark.android)])
def suite(request) -> str:
    return request.param


@pytest.fixture(scope="module")
def recorded(suite, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp(f"recorded-{suite}") / "eval"
    _eval("--suite", suite, "--policy", "oracle", "--out", str(out), *SUITES[suite])
    return out


@pytest.fixture(scope="module")
def replayed(suite, recorded, tmp_path_factory) -> Path:
    """Seed 0 replays its own recording; seed 1 replays seed 0's. No model options."""
    out = tmp_path_factory.mktemp(f"replayed-{suite}") / "eval"
    _eval("--suite", suite, "--replay", str(recorded), "--replay-seed", "0", "--seeds", "2",
          "--out", str(out), *SUITES[suite])
    return out


def test_a_replay_without_model_options_ends_every_instance_as_recorded(suite, recorded, replayed):
    before, after = _rows(recorded), _rows(replayed)
    assert before and all(row["outcome"] == "success" for row in before.values())
    for instance, row in before.items():
        again = after[instance]
        assert (again["outcome"], again["status"], again["steps"], again["answer"]) == \
            (row["outcome"], row["status"], row["steps"], row["answer"]), instance
        run = load_run((replayed / again["report"]).parent)
        assert run.meta.replay_of == str((recorded / "runs" / run_dir_name(row["task"], 0)).resolve())
        assert run.meta.model == "replay"
        assert run.meta.stats == {"replayed": row["steps"], "replanned": 0, "model_calls": 0}
        assert all(step.replay.source == "replayed" and step.raw is None for step in run.steps)
    config = json.loads((replayed / "eval.json").read_text())
    assert config["policy"]["kind"] == "replay" and not config["policy"]["model"]["endpoint"]
    assert config["env"] == json.loads((recorded / "eval.json").read_text())["env"]


def test_the_web_suites_osworld_format_runs_leave_osworld_records(suite, recorded):
    """Its tasks are OSWorld-format JSON: each run has OSWorld's traj.jsonl and result.txt too;
    the phone suite's tasks are Python tasks on a phone, and have only ours."""
    for row in _rows(recorded).values():
        run_dir = recorded / "runs" / run_dir_name(row["task"], 0)
        if suite == "android":
            assert not (run_dir / "traj.jsonl").exists() and not (run_dir / "result.txt").exists()
            continue
        assert (run_dir / "result.txt").read_text() == f"{float(row['score'])}\n"
        lines = [json.loads(line) for line in (run_dir / "traj.jsonl").read_text().splitlines()]
        acted = [s for s in load_run(run_dir).steps if s.action is not None and s.error is None]
        assert len(lines) == len(acted) > 0, row["task"]
        assert [line["step_num"] for line in lines] == list(range(1, len(acted) + 1))
        assert all((run_dir / line["screenshot_file"]).is_file() for line in lines)


def _pressed(step):
    return isinstance(step.action, (Click, Swipe)) or step.target is not None


def test_another_layout_stops_at_the_first_step_that_no_longer_fits(suite, recorded, replayed):
    rows = _rows(replayed)
    diverged = []
    for instance, row in rows.items():
        if row["seed"] != 1:
            continue
        run = load_run((replayed / row["report"]).parent)
        recording = load_run(recorded / "runs" / run_dir_name(row["task"], 0))
        recorded_steps = {s.index: s for s in recording.steps}
        if row["status"] != "diverged":
            # It still fitted all the way: the seed changed nothing that the run relied on.
            assert row["outcome"] == "success", instance
            continue
        diverged.append(row["task"])
        *before, last = run.steps
        assert run.meta.message.startswith(f"step {last.index}: "), run.meta.message
        assert last.action is None and last.replay.source == "diverged"
        assert last.replay.recorded == recorded_steps[last.replay.recorded_step].action
        for step in before:
            assert step.replay.source == "replayed"
            original = recorded_steps[step.replay.recorded_step]
            assert step.action.kind == original.action.kind
            if original.target is not None:  # the element it acted on now is the recorded one
                assert step.target is not None, (instance, step.index)
                assert (step.target.name, step.target.role, step.target.id) == \
                    (original.target.name, original.target.role, original.target.id), instance
        assert row["outcome"] == "failure"  # a replay that stopped did not do the task
    if suite == "web":  # the pages laid out per seed: the login form and the settings list
        assert sorted(diverged) == ["web/dark-mode", "web/sign-in"]
        sign_in = load_run((replayed / rows["web/sign-in#1"]["report"]).parent)
        assert "is named 'email' now, it was named 'username'" in sign_in.meta.message
    else:  # another contact, flight, note or alarm: the data differs, not only the pixels
        assert len(diverged) >= 6, diverged
        question = load_run((replayed / rows["android/contact-number-question#1"]["report"]).parent)
        assert question.meta.message.startswith("step 2: the element under the point is ")


def _fake_model(suite: str):
    """The fake Qwen's answers where it takes over on seed 1 (it knows the task, as a model
    that reads the screen would): the web login form that asks for an email first, by
    keyboard; the contact question, by its answer."""
    from qvl_agent.tasks.android.contacts import ContactNumberQuestion

    number = ContactNumberQuestion.from_seed(1).params.number
    web = [tool_call(action="key", keys=["tab"]), tool_call(action="key", keys=["tab"]),
           tool_call(action="type", text="ada"), tool_call(action="key", keys=["tab"]),
           tool_call(action="type", text="correct horse"), tool_call(action="key", keys=["tab"]),
           tool_call(action="key", keys=["enter"]), tool_call(action="terminate", status="success")]

    def respond(request: QwenRequest) -> str:
        if suite == "android":
            return tool_call("mobile_use", action="answer", text=number)
        return web[min(request.index, len(web) - 1)]

    return respond


def test_with_a_model_it_takes_over_where_the_replay_diverged(suite, recorded, tmp_path):
    task = TAKEOVER[suite]
    out = tmp_path / "eval"
    with FakeQwen(_fake_model(suite)) as qwen:
        _eval("--suite", suite, "--replay", str(recorded), "--replay-seed", "0", "--seeds", "2",
              "--tasks", f"^{task}$", "--endpoint", qwen.url, "--out", str(out), *SUITES[suite])
    rows = _rows(out)
    same, other = rows[f"{task}#0"], rows[f"{task}#1"]
    same_run = load_run((out / same["report"]).parent)
    other_run = load_run((out / other["report"]).parent)
    # Seed 0 still fits: it never asked the model (counted at the server).
    assert same["outcome"] == "success" and same_run.meta.stats["model_calls"] == 0
    asked = {request.goal for request in qwen.requests}
    assert same["goal"] not in asked or same["goal"] == other["goal"]
    # Seed 1 diverged, and the model finished the task from there.
    assert other["outcome"] == "success", other
    sources = [step.replay.source for step in other_run.steps]
    first = sources.index("replanned")
    assert sources[:first] == ["replayed"] * first and set(sources[first:]) == {"replanned"}
    assert "no longer fits" in other_run.steps[first].replay.note
    assert len(qwen.requests) == other_run.meta.stats["model_calls"] == len(sources) - first
    assert all(request.goal == other["goal"] for request in qwen.requests)
    if suite == "android":  # the replayed step reads as the model's own earlier call
        assert first == 1 and '"action": "open"' in "\n".join(qwen.requests[0].texts)
