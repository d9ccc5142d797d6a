"""Script steps on a recording FakeEnv, with a scripted model: what each step does on the
screen, where the model's frame pixels land, and what the pixel cache trusts on replay."""

from __future__ import annotations

import json

import pytest
from PIL import Image, ImageDraw

from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.rpa.cache import TaskCache
from qvl_agent.agent.rpa.grounders import QwenGrounder
from qvl_agent.agent.rpa.locator import CountingBackend, Locator, Stats
from qvl_agent.agent.rpa.player import Player, StepFailure
from qvl_agent.agent.rpa.script import (
    Ai, Assert, KeyboardPress, LocateParam, Number, Query, Scroll, Sleep, String, Tap, Task,
)
from qvl_agent.agent.trajectory import RunMeta, load_run
from qvl_agent.envs.actions import Click, KeyPress, Point, Swipe, Terminate
from qvl_agent.envs.actions import Scroll as ScrollAction
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.model.frame import Frame
from qvl_agent.model.scripted import ScriptedVLM

SCREEN = (1280, 720)


def screenshot(button_at: tuple[int, int], scale: float = 2.0) -> Image.Image:
    """A HiDPI screenshot (device pixels) with a dark button at ``button_at`` (screen units)."""
    image = Image.new("RGB", (round(SCREEN[0] * scale), round(SCREEN[1] * scale)), "white")
    x, y = button_at
    ImageDraw.Draw(image).rectangle([(x - 40) * scale, (y - 15) * scale, (x + 40) * scale,
                                     (y + 15) * scale], fill=(20, 60, 160))
    return image


def frame_box(center: tuple[int, int]) -> str:
    """The model's answer for a button at ``center`` (screen units), in frame pixels."""
    frame = Frame.for_image((SCREEN[0] * 2, SCREEN[1] * 2), SCREEN)
    fx, fy = frame.to_frame(Point(x=center[0], y=center[1]))
    return json.dumps([{"bbox_2d": [round(fx - 20), round(fy - 8), round(fx + 20), round(fy + 8)]}])


def player(tmp_path, env, answers, *, cache=None, name="run"):
    stats = Stats()
    backend = CountingBackend(ScriptedVLM(answers), stats)
    grounder = QwenGrounder(backend, on_call=lambda: setattr(stats, "locate_calls",
                                                             stats.locate_calls + 1))
    locator = Locator(env, [grounder], cache, stats, browser=False)
    return Player(env, locator, backend, RunRecorder(tmp_path / name), stats, {}), stats


TASK = Task(name="t", flow=[Sleep(ms=0)])


def test_a_tap_lands_where_the_model_pointed_and_the_pixel_cache_checks_it(tmp_path):
    env = FakeEnv(SCREEN, scale=2.0, screenshot=screenshot((300, 200)))
    cache = TaskCache(tmp_path / "cache", "pixels")
    play, stats = player(tmp_path, env, [frame_box((300, 200))], cache=cache)
    play.play(TASK, Tap(locate=LocateParam(prompt="the blue button"), line=4))
    click, = env.executed
    assert click.at.x == pytest.approx(300, abs=2) and click.at.y == pytest.approx(200, abs=2)
    assert stats.locate_calls == 1 and stats.cache_misses == 1

    # Same screen: the stored patch still matches, so no model call (the script has none left).
    again = TaskCache(tmp_path / "cache", "pixels")
    play2, stats2 = player(tmp_path, env, [], cache=again, name="run2")
    play2.play(TASK, Tap(locate=LocateParam(prompt="the blue button"), line=4))
    assert stats2.model_calls == 0 and stats2.cache_hits == 1
    assert env.executed[-1].at.x == pytest.approx(click.at.x, abs=0.1)
    assert env.executed[-1].at.y == pytest.approx(click.at.y, abs=0.1)

    # The button moved: the patch no longer matches, the model is asked and the entry replaced.
    moved = FakeEnv(SCREEN, scale=2.0, screenshot=screenshot((900, 500)))
    third = TaskCache(tmp_path / "cache", "pixels")
    play3, stats3 = player(tmp_path, moved, [frame_box((900, 500))], cache=third, name="run3")
    play3.play(TASK, Tap(locate=LocateParam(prompt="the blue button"), line=4))
    assert moved.executed[0].at.x == pytest.approx(900, abs=2)
    assert (stats3.cache_hits, stats3.cache_misses, stats3.locate_calls) == (0, 1, 1)
    assert TaskCache(tmp_path / "cache", "pixels").entries[0].cache.point[0] == pytest.approx(900, abs=2)


def test_keys_scrolls_and_swipes(tmp_path):
    env = FakeEnv(SCREEN)
    play, _ = player(tmp_path, env, [])
    play.play(TASK, KeyboardPress(keyName="Control+A", line=1))
    play.play(TASK, Scroll(direction="down", line=2))
    play.play(TASK, Scroll(direction="up", distance=120, line=3))
    assert env.executed == [KeyPress(keys=["ctrl", "a"]), ScrollAction(dy=504), ScrollAction(dy=-120)]
    phone = FakeEnv((1080, 2400), kind=EnvKind.android,
                    supported={Click, Swipe, KeyPress})  # a phone scrolls by swiping
    play, _ = player(tmp_path, phone, [], name="phone")
    play.play(TASK, Scroll(direction="down", line=1))
    swipe, = phone.executed
    assert swipe.start.y > swipe.end.y  # the finger moves up to scroll down


def test_questions_are_type_checked_and_a_failed_assert_says_why(tmp_path):
    env = FakeEnv(SCREEN)
    play, stats = player(tmp_path, env, ['{"result": 3}', '{"result": "Acme"}', '{"result": "three"}',
                                         '{"pass": false, "thought": "no table"}'])
    play.play(TASK, Number(prompt="how many rows?", name="rows", line=1))
    play.play(TASK, String(prompt="the customer?", line=2))
    with pytest.raises(StepFailure, match="does not match its schema.*'three' is not of type 'number'"):
        play.play(TASK, Number(prompt="how many rows?", line=3))
    with pytest.raises(StepFailure, match="^login failed$"):
        play.play(TASK, Assert(prompt="a table is shown", errorMessage="login failed", line=4))
    assert play.outputs == {"rows": 3, "aiString_2": "Acme"}
    assert stats.model_calls == 4 and stats.locate_calls == 0


def test_a_query_answer_must_fit_the_demand_and_the_schema(tmp_path):
    schema = {"type": "array", "items": {"type": "object", "required": ["total"],
                                         "properties": {"total": {"type": "number"}}}}
    good = '[{"invoice": "INV-001", "total": 120.5}]'
    answers = [good, '[{"invoice": "INV-001", "total": "$120.50"}]', '{"invoice": "INV-001"}']
    play, _ = player(tmp_path, FakeEnv(SCREEN), answers)
    play.play(TASK, Query(prompt="every invoice row", schema=schema, name="rows", line=1))
    with pytest.raises(StepFailure, match=r"schema at 0/total: '\$120.50' is not of type 'number'"):
        play.play(TASK, Query(prompt="every invoice row", schema=schema, line=2))
    with pytest.raises(StepFailure, match="is not of type 'array'"):  # the demand's own shape
        play.play(TASK, Query(prompt="{invoice: string}[], every row", line=3))
    assert play.outputs == {"rows": [{"invoice": "INV-001", "total": 120.5}]}


def test_an_ai_step_runs_the_agent_loop_and_its_steps_join_the_run(tmp_path):
    env = FakeEnv(SCREEN)
    frame = Frame.for_image((SCREEN[0], SCREEN[1]), SCREEN)
    x, y = frame.to_frame(Point(x=640, y=360))
    click = {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [round(x), round(y)]}}
    done = {"name": "computer_use", "arguments": {"action": "terminate", "status": "success"}}
    answers = [f"<tool_call>\n{json.dumps(click)}\n</tool_call>",
               f"<tool_call>\n{json.dumps(done)}\n</tool_call>"]
    play, stats = player(tmp_path, env, answers)
    play.play(TASK, Sleep(ms=0, line=1))
    play.play(TASK, Ai(prompt="press the middle", line=2))
    play.recorder.finish(RunMeta(goal="g", env="browser", tool="computer_use", model="m",
                                 started_at="now"))
    assert env.executed == [Click(at=Point(x=640, y=360))]
    steps = load_run(tmp_path / "run").steps
    assert [s.index for s in steps] == [1, 2, 3]
    assert [s.extras["rpa"] for s in steps] == ["sleep: 0 ms", "ai: press the middle", "ai: press the middle"]
    assert isinstance(steps[2].action, Terminate)
    assert stats.model_calls == 2


class _Stub:
    def __init__(self, name, found):
        self.name, self.found, self.asked = name, found, 0

    def find(self, env, observation, prompt):
        self.asked += 1
        return self.found


def test_auto_asks_the_model_only_when_the_exact_grounders_find_nothing(tmp_path):
    from qvl_agent.agent.rpa.grounders import Target
    from qvl_agent.agent.rpa.runner import _grounders
    from qvl_agent.agent.rpa.script import load_script

    web = tmp_path / "web.yaml"
    web.write_text("web: {url: http://x}\ntasks:\n  - name: t\n    flow:\n      - sleep: 1\n")
    phone = tmp_path / "phone.yaml"
    phone.write_text("android: {deviceId: sim}\ntasks:\n  - name: t\n    flow:\n      - sleep: 1\n")
    names = lambda path, backend: [g.name for g in _grounders("auto", load_script(path), backend, Stats())]  # noqa: E731
    assert names(web, object()) == ["dom", "ocr", "qwen"]
    assert names(web, None) == ["dom", "ocr"]
    assert names(phone, object()) == ["uia", "ocr", "qwen"]

    found = Target(point=Point(x=5, y=6), grounder="ocr")
    dom, ocr, qwen = _Stub("dom", None), _Stub("ocr", found), _Stub("qwen", None)
    locator = Locator(FakeEnv(SCREEN), [dom, ocr, qwen], None, Stats(), browser=False)
    target, state = locator.locate(LocateParam(prompt="the thing"), FakeEnv(SCREEN).observe())
    assert target is found and state is None and (dom.asked, ocr.asked, qwen.asked) == (1, 1, 0)
