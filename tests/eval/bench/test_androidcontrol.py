"""AndroidControl: episodes from oracle runs on the virtual phone, both published layouts,
the two tap rules, and the TFRecord reader on files written in Google's framing."""

from __future__ import annotations

import gzip
import json
import math
import re
from pathlib import Path

import pytest

from qvl_agent.envs.errors import ConfigError
from qvl_agent.eval.bench.androidcontrol_data import read_episodes
from qvl_agent.eval.bench.command import run_androidcontrol
from qvl_agent.eval.bench.tfrecord import crc32c, make_example, parse_example, read_records, write_records
from qvl_agent.model.openai_backend import OpenAIBackend
from tests.conftest import run_cli
from tests.eval.bench.control_sets import GoldAnswerer, episodes, write_tfrecord_copy
from tests.fakeqwen import FakeQwen

TASKS = "toggle-wifi|add-contact|set-alarm|open-app"
SMALL = 401408  # 512 image tokens: a phone screenshot's frame of 532x1204, quick to send


# -- the TFRecord reader, on files written here in the same framing ------------------------

def test_crc32c_matches_the_standard_check_value():
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


def test_records_and_examples_round_trip_gzipped_and_plain(tmp_path):
    examples = [make_example({"goal": ["Turn on Wi-Fi"], "episode_id": [7], "w": [1080, 1080],
                              "screenshots": [b"\x89PNG\x00\xff", b"second"]}), b"", b"x" * 70_000]
    for gzipped in (True, False):
        path = write_records(tmp_path / f"shard-{gzipped}", examples, gzipped=gzipped)
        assert (path.read_bytes()[:2] == b"\x1f\x8b") is gzipped
        assert list(read_records(path)) == examples
    parsed = parse_example(examples[0])
    assert parsed == {"goal": [b"Turn on Wi-Fi"], "episode_id": [7], "w": [1080, 1080],
                      "screenshots": [b"\x89PNG\x00\xff", b"second"]}


def test_a_cut_or_corrupt_shard_is_an_error_naming_file_and_record(tmp_path):
    path = write_records(tmp_path / "plain", [b"first", b"second record"], gzipped=False)
    data = path.read_bytes()
    (tmp_path / "cut").write_bytes(data[:-3])
    with pytest.raises(ConfigError, match=r"cut: record 1 is cut off"):
        list(read_records(tmp_path / "cut"))
    flipped = bytearray(data)
    flipped[len(data) - 6] ^= 0x01  # a byte of the second record's data
    (tmp_path / "flipped").write_bytes(bytes(flipped))
    with pytest.raises(ConfigError, match=r"flipped: record 1 has a bad data checksum"):
        list(read_records(tmp_path / "flipped"))
    (tmp_path / "junk.gz").write_bytes(gzip.compress(b"not a tfrecord file at all"))
    with pytest.raises(ConfigError, match="bad length checksum"):
        list(read_records(tmp_path / "junk.gz"))


# -- episodes from the virtual phone ------------------------------------------------------

@pytest.fixture(scope="module")
def control_set(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("androidcontrol")
    result = run_cli("dataset", "androidcontrol", "--suite", "android", "--policy", "oracle",
                     "--tasks", TASKS, "--out", str(root / "jsonl"), timeout=600)
    assert result.returncode == 0, result.stderr
    assert "wrote 4 episodes" in result.stdout
    # A minute of phone work says what it is doing as it goes.
    said = [line for line in result.stderr.splitlines() if line.startswith("dataset: ")]
    assert said[0] == "dataset: starting the screen (the virtual phone)"
    assert [re.sub(r"android/[\w-]+", "T", line) for line in said[1:]] == [
        f"dataset: [{i}/4] T#0: kept, " + line.rsplit(", ", 1)[1] for i, line in enumerate(said[1:], 1)]
    return {"jsonl": root / "jsonl", "tfrecord": write_tfrecord_copy(root / "jsonl", root / "tf")}


def _run(folder: Path, out: Path, server: FakeQwen, **options) -> dict:
    return run_androidcontrol(data=folder, out=out, model_options={"endpoint": server.url},
                              backend_factory=lambda: OpenAIBackend(server.url, max_pixels=SMALL),
                              **options)


def _rows(out: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return {row["id"]: row for row in rows}


@pytest.mark.android
@pytest.mark.slow
def test_oracle_episodes_hold_what_a_person_would_annotate(control_set):
    written = {e["episode_id"]: e for e in episodes(control_set["jsonl"])}
    contact = written["android_add-contact-0"]
    assert [a["action_type"] for a in contact["actions"]] == [
        "open_app", "click", "click", "input_text", "click", "input_text", "click"]
    assert contact["step_instructions"][1] == 'Click on "Create contact"'
    # Each tap's target element holds the tap, and is the one the instruction names.
    for e in written.values():
        for action, tree, target in zip(e["actions"], e["accessibility_trees"], e["targets"]):
            if action["action_type"] == "click":
                left, top, right, bottom = tree[target]["bounds"]
                assert left <= action["x"] <= right and top <= action["y"] <= bottom
    read = list(read_episodes(control_set["tfrecord"]))
    assert sorted(len(e.steps) for e in read) == sorted(len(e["actions"]) for e in written.values())
    assert read[0].steps[0].image().size == (1080, 2400)


@pytest.mark.android
@pytest.mark.slow
@pytest.mark.parametrize("level", ["high", "low"])
def test_gold_answers_score_100_at_both_levels(control_set, tmp_path, level):
    with FakeQwen(GoldAnswerer(control_set["jsonl"], level)) as server:
        summary = _run(control_set["jsonl"], tmp_path / level, server, level=level, concurrency=3)
    assert not server.violations
    steps = sum(len(e["actions"]) for e in episodes(control_set["jsonl"]))
    assert summary["n"] == steps and summary["episodes"] == 4
    for metric in ("type_accuracy", "step_success_box", "step_success_distance", "episode_success"):
        assert summary[metric]["accuracy"] == 1.0, metric
    goals = {r.goal for r in server.requests}
    if level == "low":
        assert 'Click on "Create contact"' in goals and "Turn off Wi-Fi." not in goals
    else:
        assert "Turn off Wi-Fi." in goals and 'Click on "Create contact"' not in goals


def _taps(folder: Path) -> list[tuple[str, int]]:
    return [(e["episode_id"], i) for e in episodes(folder)
            for i, a in enumerate(e["actions"]) if a["action_type"] == "click"]


@pytest.mark.android
@pytest.mark.slow
def test_moved_taps_score_exactly_the_complement_under_each_rule(control_set, tmp_path):
    taps = _taps(control_set["jsonl"])
    far, near = set(taps[0::3]), set(taps[1::3])
    with FakeQwen(GoldAnswerer(control_set["jsonl"], "high", far=far, near=near)) as server:
        summary = _run(control_set["jsonl"], tmp_path / "moved", server)
    rows = _rows(tmp_path / "moved")
    missed_box = {k for k, r in rows.items() if not r["hit_box"]}
    missed_distance = {k for k, r in rows.items() if not r["hit_distance"]}
    assert missed_box == {f"{e}/{i}" for e, i in far | near}
    assert missed_distance == {f"{e}/{i}" for e, i in far}
    assert summary["type_accuracy"]["accuracy"] == 1.0
    assert summary["step_success_box"]["hits"] == summary["n"] - len(far | near)
    assert summary["breakdown"]["gold_type"]["input_text"]["accuracy"] == 1.0


@pytest.mark.android
@pytest.mark.slow
def test_google_tfrecord_layout_scores_the_same_as_jsonl(control_set, tmp_path):
    taps = _taps(control_set["jsonl"])
    far, near = set(taps[0::2]), set(taps[1::4])
    with FakeQwen(GoldAnswerer(control_set["jsonl"], "low", far=far, near=near)) as server:
        from_jsonl = _run(control_set["jsonl"], tmp_path / "j", server, level="low")
        from_tf = _run(control_set["tfrecord"], tmp_path / "t", server, level="low")
    def outcomes(out: Path) -> list[tuple]:
        return sorted((r["goal"], r["step"], r["hit_box"], r["hit_distance"], r["type_match"])
                      for r in _rows(out).values())
    assert outcomes(tmp_path / "j") == outcomes(tmp_path / "t")
    for metric in ("type_accuracy", "step_success_box", "step_success_distance"):
        assert from_jsonl[metric] == from_tf[metric]
    assert from_tf["layout"] == "tfrecord" and from_tf["step_success_box"]["accuracy"] < 1.0


@pytest.mark.android
@pytest.mark.slow
def test_cli_bench_androidcontrol_on_tfrecord_shards_with_a_split(control_set, tmp_path):
    ids = sorted(str(e.episode_id) for e in read_episodes(control_set["tfrecord"]))
    (control_set["tfrecord"] / "splits.json").write_text(json.dumps({"test": ids[:2], "train": ids[2:]}))
    out = tmp_path / "cli"
    with FakeQwen(GoldAnswerer(control_set["jsonl"], "high")) as server:
        result = run_cli("bench", "androidcontrol", "--data", str(control_set["tfrecord"]),
                         "--split", "test", "--endpoint", server.url, "--concurrency", "2",
                         "--max-pixels", str(SMALL), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "of 2 episodes; type accuracy 100.0%" in result.stdout
    assert {json.loads(line)["episode_id"] for line in (out / "results.jsonl").read_text().splitlines()} \
        == set(ids[:2])
    assert "step success, tap within 14% of the screen (AITW): 100.0%" in (out / "summary.md").read_text()
    bad = run_cli("bench", "androidcontrol", "--data", str(control_set["tfrecord"]), "--split",
                  "dev", "--endpoint", server.url)
    assert bad.returncode == 2 and "--split dev" in bad.stderr and "Traceback" not in bad.stderr


# -- action mapping, table-driven ---------------------------------------------------------

@pytest.mark.parametrize("direction", ["up", "down", "left", "right"])
def test_a_scroll_survives_the_swipe_the_model_is_shown_and_back(direction):
    from qvl_agent.envs.actions import Point, Scroll
    from qvl_agent.eval.bench.androidcontrol import control_type, gold_action
    from qvl_agent.eval.datasets.androidcontrol import control_json

    swipe = gold_action({"action_type": "scroll", "direction": direction}, 1080, 2400)
    assert control_type(swipe) == ("scroll", {"direction": direction})
    assert control_json(swipe) == {"action_type": "scroll", "direction": direction}
    # "down" shows what is below: the finger moves up the screen.
    if direction == "down":
        assert swipe.end.y < swipe.start.y
    wheel = {"down": Scroll(dy=300), "up": Scroll(dy=-300), "right": Scroll(dx=300),
             "left": Scroll(dx=-300, at=Point(x=5, y=5))}[direction]
    assert control_type(wheel) == ("scroll", {"direction": direction})


def test_judge_compares_text_app_names_and_types_as_the_literature_does():
    from qvl_agent.envs.actions import Click, OpenApp, Point, SystemButton, TypeText
    from qvl_agent.eval.bench.androidcontrol import judge
    from qvl_agent.eval.bench.androidcontrol_data import ControlStep

    def step(action: dict) -> ControlStep:
        return ControlStep(index=0, screenshot=b"", width=1080, height=2400, elements=[],
                           action=action, instruction="")

    typed = step({"action_type": "input_text", "text": "Hello  World"})
    assert judge(typed, TypeText(text=" hello world "))["hit_box"]
    assert not judge(typed, TypeText(text="hello worlds"))["hit_box"]
    app = step({"action_type": "open_app", "app_name": "Google Maps"})
    assert judge(app, OpenApp(name="google maps"))["hit_distance"]
    assert not judge(app, OpenApp(name="Maps"))["hit_distance"]
    back = step({"action_type": "navigate_back"})
    assert judge(back, SystemButton(button="back"))["type_match"]
    wrong = judge(back, SystemButton(button="home"))
    assert (wrong["type_match"], wrong["pred_type"]) == (False, "navigate_home")
    tap = step({"action_type": "click", "x": 500, "y": 1000})
    nowhere = judge(tap, Click())  # computer_use's left_click without a coordinate
    assert (nowhere["type_match"], nowhere["hit_box"], nowhere["hit_distance"]) == (True, False, False)
    near = judge(tap, Click(at=Point(x=560, y=1200)))  # no tree: the box rule falls back
    assert near["hit_box"] and near["hit_distance"] and near["target"] is None


@pytest.mark.parametrize(("dx", "dy", "near"), [
    (200, 0, False),   # 0.185 of the width: far, though 200 px is 0.076 of the diagonal
    (150, 0, True),    # 0.139 of the width
    (160, 0, False),   # 0.148 of the width (0.067 of the height)
    (0, 320, True),    # 0.133 of the height (0.296 of the width)
    (0, 340, False),   # 0.142 of the height
    (-100, -250, True),  # hypot(0.093, 0.104) = 0.139: Euclidean, not the sum of the axes
    (-110, -260, False),  # hypot(0.102, 0.108) = 0.149
])
def test_the_14_percent_rule_normalises_each_axis_as_aitw_does(dx, dy, near):
    from qvl_agent.envs.actions import Click, LongPress, Point
    from qvl_agent.eval.bench.androidcontrol import judge
    from qvl_agent.eval.bench.androidcontrol_data import ControlStep

    gold = {"x": 540, "y": 1200}
    for kind, action in (("click", Click), ("long_press", LongPress)):
        step = ControlStep(index=0, screenshot=b"", width=1080, height=2400, elements=[],
                           action={"action_type": kind, **gold}, instruction="")
        row = judge(step, action(at=Point(x=540 + dx, y=1200 + dy)))
        assert (row["hit_distance"], row["hit_box"]) == (near, near)  # no tree: the box rule falls back
        assert row["distance"] == round(math.hypot(dx / 1080, dy / 2400), 4)


def test_a_tap_exactly_14_percent_away_matches():
    from qvl_agent.envs.actions import Click, Point
    from qvl_agent.eval.bench.androidcontrol import judge
    from qvl_agent.eval.bench.androidcontrol_data import ControlStep

    step = ControlStep(index=0, screenshot=b"", width=1000, height=2000, elements=[],
                       action={"action_type": "click", "x": 500, "y": 1000}, instruction="")
    assert judge(step, Click(at=Point(x=640, y=1000)))["hit_distance"]
    assert judge(step, Click(at=Point(x=500, y=1280)))["hit_distance"]
    assert not judge(step, Click(at=Point(x=641, y=1000)))["hit_distance"]


@pytest.mark.parametrize("gold", [
    {"action_type": "click", "x": 10, "y": 2000},
    {"action_type": "long_press", "x": 1070, "y": 5},
    {"action_type": "open_app", "app_name": "Clock"},
    {"action_type": "input_text", "text": "7:30 alarm"},
    {"action_type": "navigate_home"},
    {"action_type": "navigate_back"},
    {"action_type": "wait"},
])
def test_each_gold_action_reads_back_as_itself_and_matches_itself(gold):
    from qvl_agent.eval.bench.androidcontrol import control_type, gold_action, judge
    from qvl_agent.eval.bench.androidcontrol_data import ControlStep

    action = gold_action(gold, 1080, 2400)
    kind, args = control_type(action)
    assert {"action_type": kind, **args} == gold
    step = ControlStep(index=0, screenshot=b"", width=1080, height=2400, elements=[],
                       action=gold, instruction="")
    row = judge(step, action)
    assert (row["type_match"], row["hit_box"], row["hit_distance"]) == (True, True, True)
    assert (row["pred_type"], row["pred_args"]) == (kind, args)


def test_an_unknown_gold_action_is_a_config_error():
    from qvl_agent.eval.bench.androidcontrol import gold_action

    with pytest.raises(ConfigError, match="unknown AndroidControl action_type 'fling'"):
        gold_action({"action_type": "fling"}, 1080, 2400)


@pytest.mark.parametrize(("dx", "dy", "direction"), [
    (0, -10, "down"), (0, 10, "up"), (-10, 0, "right"), (10, 0, "left"),
    (5, -5, "down"), (-6, 5, "right"), (0, 0, "up"),  # equal axes: the vertical one
    (0.5, 0, "left"), (-0.5, 0.25, "right"),
])
def test_a_finger_movement_scrolls_against_itself_on_its_main_axis(dx, dy, direction):
    from qvl_agent.eval.bench.androidcontrol import scroll_direction

    assert scroll_direction(dx, dy) == direction


def _step(action: dict, elements=(), target=None):
    from qvl_agent.eval.bench.androidcontrol_data import ControlStep, UIElement

    return ControlStep(index=0, screenshot=b"", width=1080, height=2400, action=action,
                       elements=[UIElement(bounds=b) for b in elements], instruction="",
                       target=target)


def test_the_box_rule_uses_the_tapped_elements_box_on_both_axes():
    from qvl_agent.envs.actions import Click, Point
    from qvl_agent.eval.bench.androidcontrol import judge

    # The person tapped a wide, short button; a tap far along it is inside, one just below is not.
    step = _step({"action_type": "click", "x": 100, "y": 1000}, [(0, 950, 1080, 1050), (0, 0, 1080, 2400)])
    far_along = judge(step, Click(at=Point(x=1000, y=1040)))
    assert (far_along["hit_box"], far_along["hit_distance"]) == (True, False)
    assert far_along["target"] == [0, 950, 1080, 1050]
    below = judge(step, Click(at=Point(x=100, y=1060)))
    assert (below["hit_box"], below["hit_distance"]) == (False, True)
    beside = judge(_step({"action_type": "click", "x": 100, "y": 1000}, [(50, 0, 150, 2400)]),
                   Click(at=Point(x=160, y=1000)))
    assert (beside["hit_box"], beside["hit_distance"]) == (False, True)


def test_a_type_mismatch_and_a_wrong_scroll_miss_under_both_rules():
    from qvl_agent.envs.actions import Click, Point, TypeText
    from qvl_agent.eval.bench.androidcontrol import gold_action, judge

    wrong_type = judge(_step({"action_type": "click", "x": 5, "y": 5}), TypeText(text="a"))
    assert (wrong_type["type_match"], wrong_type["hit_box"], wrong_type["hit_distance"]) == \
        (False, False, False)
    scroll = _step({"action_type": "scroll", "direction": "Down"})
    right = judge(scroll, gold_action({"action_type": "scroll", "direction": "down"}, 1080, 2400))
    wrong = judge(scroll, gold_action({"action_type": "scroll", "direction": "up"}, 1080, 2400))
    assert (right["hit_box"], right["hit_distance"]) == (True, True)
    assert (wrong["type_match"], wrong["hit_box"], wrong["hit_distance"]) == (True, False, False)
    assert judge(scroll, Click(at=Point(x=1, y=1)))["pred_type"] == "click"


def test_a_gold_scroll_is_a_swipe_over_30_percent_through_the_centre():
    from qvl_agent.envs.actions import Point, Swipe, Wait
    from qvl_agent.eval.bench.androidcontrol import gold_action

    def swipe(direction):
        return gold_action({"action_type": "scroll", "direction": direction}, 1080, 2400)

    assert swipe("down") == Swipe(start=Point(x=540, y=1560), end=Point(x=540, y=840))
    assert swipe("up") == Swipe(start=Point(x=540, y=840), end=Point(x=540, y=1560))
    assert swipe("right") == Swipe(start=Point(x=702, y=1200), end=Point(x=378, y=1200))
    assert swipe("left") == Swipe(start=Point(x=378, y=1200), end=Point(x=702, y=1200))
    assert gold_action({"action_type": "wait"}, 1080, 2400) == Wait(seconds=2.0)


@pytest.mark.slow
def test_a_type_record_is_scored_and_a_bad_record_never_ends_the_run(control_set, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(control_set["jsonl"], data)
    records = episodes(data)
    contact = next(e for e in records if e["episode_id"] == "android_add-contact-0")
    typed = contact["actions"].index(next(a for a in contact["actions"] if a["action_type"] == "input_text"))
    # The documented combined action: tap the field, type, press enter.
    contact["actions"][typed] = {"action_type": "type", "text": contact["actions"][typed]["text"],
                                 "x": 540, "y": 800}
    other = next(e for e in records if e is not contact)
    other["actions"][-1] = {"action_type": "teleport", "to": "the moon"}  # no such action
    lines = [json.dumps(e) for e in records] + ['{"episode_id": "cut off in the mid']
    (data / "episodes.jsonl").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    with FakeQwen(GoldAnswerer(control_set["jsonl"], "high")) as server:
        result = run_cli("bench", "androidcontrol", "--data", str(data), "--endpoint", server.url,
                         "--max-pixels", str(SMALL), "--out", str(out))
    assert result.returncode == 0, result.stderr
    warning, = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warning.startswith("warning: skipped 1 step and 1 episode whose records could "
                              "not be scored (listed in summary.md); the first: ")
    assert "line 5: not JSON" in warning
    rows = _rows(out)
    assert f"{other['episode_id']}/{len(other['actions']) - 1}" not in rows
    scored = rows[f"android_add-contact-0/{typed}"]
    assert scored["gold_type"] == "type" and scored["type_match"] and scored["hit_box"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["skipped"]["steps"] == 1 and summary["skipped"]["episodes"] == 1
    assert "skipped, not scored: 1 step and 1 episode whose" in (out / "summary.md").read_text()
