"""ScreenSpot: the three published layouts, the score against a fake Qwen, resume, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qvl_agent.envs.errors import ActionParseError, ConfigError
from qvl_agent.eval.bench.command import run_screenspot
from qvl_agent.eval.bench.screenspot import read_point
from qvl_agent.eval.bench.screenspot_data import load_screenspot
from qvl_agent.model.openai_backend import OpenAIBackend
from tests.conftest import run_cli
from tests.eval.bench.sets import CentreAnswerer, records, write_pro, write_v2
from tests.fakeqwen import FakeQwen, tool_call

# Frames well below the screenshots' sizes, so a point not mapped back to the image misses.
SMALL = 100352
SHIFTED = {"the logo", "open wifi settings", "add an alarm", "the Timer tab", "close the window"}


@pytest.fixture(scope="module")
def sets(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("screenspot")
    return {"v1": write_v2(root / "v1", v1=True), "v2": write_v2(root / "v2"),
            "pro": write_pro(root / "pro")}


def _run(folder: Path, out: Path, server: FakeQwen, **options) -> dict:
    return run_screenspot(data=folder, out=out, model_options={"endpoint": server.url},
                          backend_factory=lambda: OpenAIBackend(server.url, max_pixels=SMALL), **options)


def _raws(out: Path) -> list[str]:
    return [json.loads(line)["raw"] for line in (out / "results.jsonl").read_text().splitlines()]


def _hits(out: Path) -> dict[str, bool]:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return {row["instruction"]: row["hit"] for row in rows}


def test_all_three_layouts_read_to_the_same_boxes(sets):
    read = {}
    for name, folder in sets.items():
        layout, samples = load_screenspot(folder)
        assert layout == name
        read[name] = sorted((s.instruction, s.box, s.ui_type) for s in samples)
    expected = sorted((r["instruction"], tuple(map(float, r["box"])), r["ui_type"]) for r in records())
    assert read["v1"] == read["v2"] == read["pro"] == expected


def test_box_centres_score_100_and_a_shifted_subset_scores_its_complement(sets, tmp_path):
    with FakeQwen(CentreAnswerer(sets["v2"])) as server:
        summary = _run(sets["v2"], tmp_path / "all", server, concurrency=4)
    assert (summary["accuracy"], summary["n"], summary["unparseable"]) == (1.0, 20, 0)
    assert not server.violations
    assert not (tmp_path / "all" / "misses.html").exists()

    with FakeQwen(CentreAnswerer(sets["v2"], SHIFTED)) as server:
        summary = _run(sets["v2"], tmp_path / "shifted", server, concurrency=3)
    hits = _hits(tmp_path / "shifted")
    assert {i for i, hit in hits.items() if not hit} == SHIFTED
    assert summary["hits"] == 20 - len(SHIFTED)
    assert summary["breakdown"]["split"]["desktop"] == {
        "accuracy": 0.75, "n": 4, "hits": 3, "ci95": summary["breakdown"]["split"]["desktop"]["ci95"],
        "unparseable": 0}
    misses = (tmp_path / "shifted" / "misses.html").read_text()
    assert misses.count("<figure") == len(SHIFTED) and "the Timer tab" in misses


def test_pro_and_v2_layouts_of_the_same_records_score_the_same(sets, tmp_path):
    with FakeQwen(CentreAnswerer(sets["v2"], SHIFTED)) as server:
        v2 = _run(sets["v2"], tmp_path / "v2", server)
        pro = _run(sets["pro"], tmp_path / "pro", server)
    assert _hits(tmp_path / "v2") == _hits(tmp_path / "pro")
    assert (v2["hits"], v2["n"]) == (pro["hits"], pro["n"]) == (15, 20)
    assert set(pro["breakdown"]) >= {"split", "ui_type", "platform", "application", "group"}
    assert pro["breakdown"]["group"]["Office"]["hits"] == 3


def test_a_4_number_coordinate_counts_as_its_boxs_centre(sets, tmp_path):
    # Each answer is a box around the element whose corners are all off it: read as the box's
    # top-left corner (or any corner), every sample would miss.
    with FakeQwen(CentreAnswerer(sets["v2"], SHIFTED, box=True)) as server:
        summary = _run(sets["v2"], tmp_path / "box", server)
    assert all(len(json.loads(r.split("\n")[1])["arguments"]["coordinate"]) == 4
               for r in _raws(tmp_path / "box"))
    assert {i for i, hit in _hits(tmp_path / "box").items() if not hit} == SHIFTED
    assert (summary["hits"], summary["unparseable"]) == (15, 0)


def test_read_point_takes_a_click_or_a_boxs_centre():
    assert read_point(tool_call(action="left_click", coordinate=[10, 20]), "computer_use") == (10, 20)
    assert read_point(tool_call(action="left_click", coordinate=[10, 20, 30, 60]),
                      "computer_use") == (20, 40)
    # The first call with a usable coordinate; bools and 3 numbers are not coordinates.
    answer = (tool_call(action="key", keys=["a"]) + tool_call(action="left_click", coordinate=[1, 2, 3])
              + tool_call(action="left_click", coordinate=[True, 2])
              + tool_call(action="left_click", coordinate=[7.5, 8]))
    assert read_point(answer, "computer_use") == (7.5, 8)
    assert read_point('{"bbox_2d": [0, 10, 20, 30]}', "grounding") == (10, 20)
    with pytest.raises(ActionParseError, match="'coordinate' of 2 or 4 numbers"):
        read_point(tool_call(action="left_click", coordinate=[1, 2, 3]), "computer_use")
    long = tool_call(action="type", text="y" * 200)
    with pytest.raises(ActionParseError) as caught:  # a long answer is shown cut at 120
        read_point(long, "computer_use")
    assert str(caught.value).endswith(f"numbers in {long[:120]!r}")


def test_grounding_prompt_reads_point_2d(sets, tmp_path):
    with FakeQwen(CentreAnswerer(sets["v1"], {"the logo"}, prompt="grounding")) as server:
        summary = _run(sets["v1"], tmp_path / "g", server, prompt="grounding", splits=["web"])
    assert (summary["hits"], summary["n"]) == (7, 8)
    assert all("Locate" in r.texts[-1] and r.frame is None for r in server.requests)


def test_unparseable_answers_are_counted_apart(sets, tmp_path):
    with FakeQwen(lambda request: "I cannot see it.") as server:
        summary = _run(sets["v2"], tmp_path / "u", server, limit=5)
    assert (summary["hits"], summary["n"], summary["unparseable"]) == (0, 5, 5)


def test_resume_runs_only_the_missing_samples_and_refuses_other_options(sets, tmp_path):
    out = tmp_path / "r"
    with FakeQwen(CentreAnswerer(sets["v2"])) as server:
        _run(sets["v2"], out, server)
    lines = (out / "results.jsonl").read_text().splitlines()
    (out / "results.jsonl").write_text("\n".join(lines[:16]) + "\n" + lines[16][:30])  # a cut line
    with FakeQwen(CentreAnswerer(sets["v2"])) as server:
        summary = _run(sets["v2"], out, server, resume=True)
        assert len(server.requests) == 4
        with pytest.raises(ConfigError, match="different options"):
            _run(sets["v2"], out, server, resume=True, prompt="grounding")
        with pytest.raises(ConfigError, match="already has results"):
            _run(sets["v2"], out, server)
    ids = [json.loads(line)["id"] for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(ids) == len(set(ids)) == 20 and summary["accuracy"] == 1.0


def _write(path: Path, value) -> None:
    path.write_text(json.dumps(value))


def test_bad_data_is_one_clear_error_naming_file_and_record(sets, tmp_path):
    with pytest.raises(ConfigError, match="not a ScreenSpot folder"):
        load_screenspot(tmp_path)
    bad = write_v2(tmp_path / "missing")
    rows = json.loads((bad / "screenspot_web_v2.json").read_text())
    del rows[2]["instruction"]
    _write(bad / "screenspot_web_v2.json", rows)
    with pytest.raises(ConfigError, match=r"screenspot_web_v2.json, record 2: missing field\(s\) instruction"):
        load_screenspot(bad)
    outside = write_pro(tmp_path / "outside")
    path = outside / "annotations" / "desk_desktop.json"
    rows = json.loads(path.read_text())
    rows[1]["bbox"] = [10, 5, 1200, 30]
    _write(path, rows)
    with pytest.raises(ConfigError, match=r"desk_desktop.json, record 1: bbox .* outside the image \(1000x600\)"):
        load_screenspot(outside)
    wide = write_v2(tmp_path / "wide")
    rows = json.loads((wide / "screenspot_mobile_v2.json").read_text())
    rows[5]["bbox"] = [300, 20, 200, 44]  # x + w = 500 on a 360-pixel-wide phone
    _write(wide / "screenspot_mobile_v2.json", rows)
    with pytest.raises(ConfigError, match=r"screenspot_mobile_v2.json, record 5: bbox .* outside its image clock.png \(400x700\)"):
        load_screenspot(wide)
    rows[5]["img_filename"] = "gone.png"
    _write(wide / "screenspot_mobile_v2.json", rows)
    with pytest.raises(ConfigError, match=r"screenspot_mobile_v2.json, record 5: image .*gone.png not found"):
        load_screenspot(wide)
    with pytest.raises(ConfigError, match="--split tablet"):
        load_screenspot(sets["v2"], ["tablet"])


@pytest.mark.slow
def test_cli_bench_screenspot_against_a_server(sets, tmp_path):
    with FakeQwen(CentreAnswerer(sets["v2"], SHIFTED)) as server:
        result = run_cli("bench", "screenspot", "--data", str(sets["pro"]), "--endpoint", server.url,
                         "--served-model", "my-qwen", "--concurrency", "4",
                         "--out", str(tmp_path / "cli"))
    assert result.returncode == 0, result.stderr
    assert {request.body["model"] for request in server.requests} == {"my-qwen"}
    assert "accuracy 75.0% (15/20" in result.stdout
    summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert (summary["accuracy"], summary["n"]) == (0.75, 20)
    assert "| android | 62.5 | 5 / 8 |" in (tmp_path / "cli" / "summary.md").read_text()
    bad = run_cli("bench", "screenspot", "--data", str(tmp_path), "--endpoint", server.url)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --data") and "Traceback" not in bad.stderr


@pytest.mark.slow
@pytest.mark.model
def test_tiny_checkpoint_runs_a_20_sample_set_through_model_dir(sets, tiny_checkpoint, tmp_path):
    result = run_cli("bench", "screenspot", "--data", str(sets["v2"]), "--model", str(tiny_checkpoint),
                     "--max-new-tokens", "8", "--max-pixels", "50176", "--out", str(tmp_path / "tiny"))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in (tmp_path / "tiny" / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 20 and all(isinstance(r["raw"], str) for r in rows)
    # Whatever a random model says, each row is scored from what was parsed out of it.
    assert all(r["hit"] is False or r["parsed"] for r in rows)
    assert all(r["frame"][0] * r["frame"][1] <= 50176 for r in rows)
    summary = json.loads((tmp_path / "tiny" / "summary.json").read_text())
    assert summary["n"] == 20 and summary["hits"] == sum(r["hit"] for r in rows)
    assert summary["unparseable"] == sum(not r["parsed"] for r in rows)


def test_concurrency_n_keeps_exactly_n_requests_in_flight(sets, tmp_path):
    import threading

    answer = CentreAnswerer(sets["v2"])
    first_four = threading.Barrier(4, timeout=20)  # passes only when 4 requests are open at once
    lock = threading.Lock()
    state = {"open": 0, "most": 0, "seen": 0}

    def respond(request):
        with lock:
            state["open"] += 1
            state["most"] = max(state["most"], state["open"])
            state["seen"] += 1
            first = state["seen"] <= 4
        try:
            if first:
                first_four.wait()
            return answer(request)
        finally:
            with lock:
                state["open"] -= 1

    with FakeQwen(respond) as server:
        summary = _run(sets["v2"], tmp_path / "c", server, concurrency=4)
    assert summary["accuracy"] == 1.0 and state["most"] == 4


def test_a_server_that_dies_mid_run_loses_nothing_and_resume_finishes(sets, tmp_path):
    from qvl_agent.envs.errors import ModelUnavailableError

    answer = CentreAnswerer(sets["v2"])

    def dies_after_five(request):
        if request.index >= 5:
            raise ConnectionAbortedError("the GPU server went away")
        return answer(request)

    out = tmp_path / "dies"
    with FakeQwen(dies_after_five) as server:
        with pytest.raises(ModelUnavailableError, match="cannot reach the model server"):
            run_screenspot(data=sets["v2"], out=out, model_options={},
                           backend_factory=lambda: OpenAIBackend(server.url, max_retries=1,
                                                                 max_pixels=SMALL))
    kept = (out / "results.jsonl").read_text().splitlines()
    assert len(kept) == 5 and all(json.loads(line)["hit"] for line in kept)
    with FakeQwen(answer) as server:
        summary = _run(sets["v2"], out, server, resume=True)
        assert len(server.requests) == 15
    assert (summary["n"], summary["accuracy"]) == (20, 1.0)


@pytest.mark.parametrize("root, limits", [(True, {"max_pixels": SMALL}),
                                          (False, {"min_pixels": 4_000_000})])
def test_a_row_holds_the_sample_the_answer_and_its_point_in_image_pixels(sets, root, limits):
    from PIL import Image

    from qvl_agent.eval.bench.screenspot import predict_sample
    from qvl_agent.model.frame import Frame

    _, samples = load_screenspot(sets["pro"])
    sample = next(s for s in samples if s.instruction == "add an alarm")
    with Image.open(sample.image) as image:
        size = image.size
    frame = Frame.for_image(Image.new("RGB", size), size, **limits)  # the backend's limits
    assert frame.size != size  # so a point left in frame pixels would be off
    centre = sample.center
    # A pixel off the centre's: a point in image pixels with more than two decimals.
    fx, fy = (round(centre[0] * frame.width / size[0]) + 1,
              round(centre[1] * frame.height / size[1]) + 1)
    answer = "Thought: the bell.\n" + tool_call(action="left_click", coordinate=[fx, fy])
    with FakeQwen(lambda request: answer) as server:
        row = predict_sample(OpenAIBackend(server.url, **limits), sample, "computer_use",
                             root=sets["pro"] if root else None)
    request = server.requests[0]
    assert request.image.size == request.frame == frame.size and request.texts[-1] == "add an alarm"
    assert request.body["max_tokens"] == 128
    x, y = fx * size[0] / frame.width, fy * size[1] / frame.height
    assert row == {
        "id": "clock_mobile/0", "record_id": "clock_0", "split": "clock_mobile",
        "instruction": "add an alarm",
        "image": "images/clock/clock.png" if root else str(sample.image),
        "image_size": list(size), "frame": list(frame.size), "box": [170.0, 600.0, 230.0, 660.0],
        "ui_type": "icon", "platform": "android", "application": "clock", "group": "Dev",
        "data_source": None, "raw": answer, "model_s": row["model_s"],
        "parsed": True, "error": None, "point_frame": [fx, fy],
        "point": [round(x, 2), round(y, 2)], "hit": True,
    }
    assert isinstance(row["model_s"], float) and row["model_s"] == round(row["model_s"], 3) > 0


def test_the_chat_of_a_sample_is_the_published_one_for_either_prompt():
    from PIL import Image

    from qvl_agent.eval.bench.screenspot import screenspot_messages
    from qvl_agent.model.prompts import system_prompt

    image = Image.new("RGB", (1316, 728))
    assert screenspot_messages(image, "the logo", "computer_use") == [
        {"role": "system", "content": system_prompt("computer_use", 1316, 728)},
        {"role": "user", "content": [{"type": "image", "image": image},
                                     {"type": "text", "text": "the logo"}]}]
    assert screenspot_messages(image, "the logo", "grounding") == [
        {"role": "user", "content": [
            {"type": "image", "image": image},
            {"type": "text", "text": "Locate the logo in the image, output its bbox coordinates "
                                     "using JSON format."}]}]


def test_an_unparseable_answer_is_a_row_with_the_reason_and_no_point(sets):
    from qvl_agent.eval.bench.screenspot import predict_sample

    _, samples = load_screenspot(sets["v2"])
    with FakeQwen(lambda request: "I cannot see it.") as server:
        row = predict_sample(OpenAIBackend(server.url, max_pixels=SMALL), samples[0], "computer_use")
    assert row["raw"] == "I cannot see it." and row["instruction"] == samples[0].instruction
    assert {key: row[key] for key in ("parsed", "error", "point_frame", "point", "hit")} == {
        "parsed": False, "point_frame": None, "point": None, "hit": False,
        "error": "no tool call found in 'I cannot see it.'. Answer with exactly one tool call: "
                 '<tool_call> {"name": "<tool>", "arguments": {"action": ...}} </tool_call>'}
    assert set(row) == {  # the same columns as a parsed answer's row
        "id", "record_id", "split", "instruction", "image", "image_size", "frame", "box",
        "ui_type", "platform", "application", "group", "data_source", "raw", "model_s",
        "parsed", "error", "point_frame", "point", "hit"}
