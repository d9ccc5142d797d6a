"""``qvl-agent replay`` on a real page, as a user runs it: a run recorded with the fake Qwen
server is replayed without it, stopped where a redesign no longer fits, followed where the
form only moved, finished by the model where it is given, and exported as a Midscene script
that ``qvl-agent rpa`` runs from its seeded cache."""

import json
import re

import pytest
import yaml

from qvl_agent.agent.trajectory import load_run
from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call
from tests.pages import PageServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

GOAL = "sign up as hello world"
VIEWPORT = (1000, 600)
NAME = (250, 120)  # CSS centre of #name in signup.html
SUBMIT = (580, 425)  # #submit, layout 1
SUBMIT_REDESIGNED = (880, 425)  # #submit, layout 2 (Cancel took its place)


def _answers(*script):
    def respond(request: QwenRequest) -> str:
        kind, *rest = script[request.index]
        if kind == "click":
            return tool_call(action="left_click", coordinate=request.to_frame(*rest[0], VIEWPORT))
        if kind == "type":
            return tool_call(action="type", text=rest[0])
        return tool_call(action="terminate", status="success")
    return respond


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    out = tmp_path_factory.mktemp("recorded") / "run"
    with PageServer() as pages, FakeQwen(_answers(("click", NAME), ("type", "hello world"),
                                                  ("click", SUBMIT), ("done",))) as qwen:
        result = run_cli("run", GOAL, "--env", "browser", "--url", pages.url("signup.html?layout=1"),
                         "--viewport", "1000x600", "--endpoint", qwen.url, "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(qwen.requests) == 4
    return out


def _replay(recorded, tmp_path, layout, *extra):
    out = tmp_path / "replayed"
    with PageServer() as pages:
        result = run_cli("replay", str(recorded), "--url", pages.url(f"signup.html?layout={layout}"),
                         "--out", str(out), *extra)
        pages.of_type("click", count=2, wait=2.0)
        events = list(pages.events)
    return result, out, events


def _clicks(events):
    return [e["target"] for e in events if e["type"] == "click"]


def test_a_replay_repeats_the_run_without_the_model(recorded, tmp_path):
    result, out, events = _replay(recorded, tmp_path, 1)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("success: the agent finished the task (terminate: success) after 4 step(s)")
    assert "replayed 4, re-planned by the model 0, model calls 0" in result.stdout
    assert _clicks(events) == ["name", "submit"]
    assert [e["value"] for e in events if e["type"] == "change"] == ["hello world"]
    run = load_run(out)
    assert run.meta.replay_of == str(recorded.resolve()) and run.meta.goal == GOAL
    assert [s.replay.source for s in run.steps] == ["replayed"] * 4
    assert all(s.raw is None for s in run.steps)  # nothing was asked of a model
    page = (out / "report.html").read_text()
    assert page.count(">replayed</span>") == 4 and f"replay of</b> {recorded.resolve()}" in page


def test_a_redesign_stops_the_replay_where_it_no_longer_fits(recorded, tmp_path):
    result, out, events = _replay(recorded, tmp_path, 2)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.startswith("diverged: the replay stopped where the screen no longer fits")
    assert ("step 3: the element at /html[1]/body[1]/div[1]/button[1] is named 'cancel' now, "
            "it was named 'submit'") in result.stdout
    assert _clicks(events) == ["name"]  # Cancel, where Submit was, was never clicked
    run = load_run(out)
    assert run.meta.status == "diverged" and [s.replay.source for s in run.steps] == \
        ["replayed", "replayed", "diverged"]
    assert (out / run.steps[-1].screenshot).is_file() and (out / "report.html").is_file()


def test_a_form_that_only_moved_is_followed(recorded, tmp_path):
    result, out, events = _replay(recorded, tmp_path, 3)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _clicks(events) == ["name", "submit"]
    note = load_run(out).steps[0].replay.note
    moved = re.fullmatch(r"the element moved: \((\d+), (\d+)\) -> \((\d+), (\d+)\)", note)
    x1, y1, x2, y2 = map(int, moved.groups())
    assert abs(x2 - x1) <= 5 and 145 <= y2 - y1 <= 155  # the form is 150 px lower


def test_the_model_takes_over_where_the_replay_diverged(recorded, tmp_path):
    with FakeQwen(_answers(("click", SUBMIT_REDESIGNED), ("done",))) as qwen:
        result, out, events = _replay(recorded, tmp_path, 2, "--endpoint", qwen.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "replayed 2, re-planned by the model 2, model calls 2" in result.stdout
    assert _clicks(events) == ["name", "submit"]
    run = load_run(out)
    assert [s.replay.source for s in run.steps] == ["replayed", "replayed", "replanned", "replanned"]
    assert run.steps[2].replay.note.startswith("step 3 no longer fits: the element at ")
    assert len(qwen.requests) == 2 and {r.goal for r in qwen.requests} == {GOAL}
    # The model's history: the two replayed steps, as if it had made those calls itself.
    progress = "\n".join(qwen.requests[0].texts)
    assert '"action": "left_click"' in progress and '"text": "hello world"' in progress


def test_a_run_exported_as_a_midscene_script_runs_under_rpa(recorded, tmp_path):
    script, cache = tmp_path / "signup.yaml", tmp_path / "cache"
    exported = run_cli("replay", str(recorded), "--to-yaml", str(script), "--cache-dir", str(cache))
    assert exported.returncode == 0, exported.stdout + exported.stderr
    document = yaml.safe_load(script.read_text())
    assert document["tasks"][0]["flow"] == [
        {"aiInput": 'the "your name" field', "value": "hello world", "mode": "typeOnly"},
        {"aiTap": 'the "submit" button'}]
    entries = yaml.safe_load((cache / "signup.cache.yaml").read_text())["caches"]
    assert [e["prompt"] for e in entries] == ['the "your name" field', 'the "submit" button']
    clicked = load_run(recorded).steps[2].action.at  # the cache holds the recorded point
    assert entries[1]["cache"]["point"] == [round(clicked.x, 1), round(clicked.y, 1)]
    # The recorded page's server is gone: the script is pointed at a live one, as a user would.
    with PageServer() as pages:
        document["web"]["url"] = pages.url("signup.html?layout=1")
        script.write_text(yaml.safe_dump(document, sort_keys=False))
        result = run_cli("rpa", str(script), "--cache-dir", str(cache), "--out", str(tmp_path / "rpa"))
        pages.of_type("click", count=2, wait=2.0)
        events = list(pages.events)
    assert result.returncode == 0, result.stdout + result.stderr
    assert _clicks(events) == ["name", "submit"]
    assert [e["value"] for e in events if e["type"] == "change"] == ["hello world"]
    stats = json.loads((tmp_path / "rpa" / "meta.json").read_text())["stats"]
    assert stats == {"model_calls": 0, "locate_calls": 0, "cache_hits": 2, "cache_misses": 0}
