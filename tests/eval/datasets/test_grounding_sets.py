"""Grounding sets from our own screens: written in ScreenSpot-v2's layout, scored end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qvl_agent.eval.bench.command import run_screenspot
from qvl_agent.eval.bench.screenspot_data import load_screenspot
from qvl_agent.eval.datasets.grounding import build_grounding
from qvl_agent.model.openai_backend import OpenAIBackend
from tests.conftest import run_cli
from tests.eval.bench.sets import CentreAnswerer, v2_to_pro
from tests.fakeqwen import FakeQwen


def _score(folder: Path, out: Path, shifted: set[str] = frozenset()) -> tuple[dict, dict[str, bool]]:
    with FakeQwen(CentreAnswerer(folder, shifted)) as server:
        summary = run_screenspot(data=folder, out=out, model_options={},
                                 backend_factory=lambda: OpenAIBackend(server.url, max_pixels=401408),
                                 concurrency=2)
    assert not server.violations
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return summary, {r["id"]: r["hit"] for r in rows}


@pytest.mark.android
@pytest.mark.slow
def test_android_sim_set_scores_100_and_a_shifted_subset_its_complement(tmp_path):
    folder = tmp_path / "sim"
    result = run_cli("dataset", "grounding", "--from", "android-sim", "--out", str(folder),
                     "--n", "14", "--seed", "3")
    assert result.returncode == 0, result.stderr
    assert "wrote 14 records" in result.stdout
    assert "dataset: starting the screen (the virtual phone)" in result.stderr.splitlines()
    assert "dataset: home: " in result.stderr  # each screen as it is captured
    layout, samples = load_screenspot(folder)
    assert layout == "v2" and len(samples) == 14
    assert {s.split for s in samples} == {"mobile"}
    records = json.loads((folder / "screenspot_mobile_v2.json").read_text())
    assert all(r["data_source"].startswith("android-sim/") for r in records)
    summary, _ = _score(folder, tmp_path / "all")
    assert (summary["accuracy"], summary["n"]) == (1.0, 14)
    shifted = {s.instruction for s in samples[::3]}  # every sample with such a label moves
    summary, hits = _score(folder, tmp_path / "shifted", shifted)
    expected_misses = {s.id for s in samples if s.instruction in shifted}
    assert {i for i, hit in hits.items() if not hit} == expected_misses
    assert summary["hits"] == 14 - len(expected_misses) > 0
    # The same records in ScreenSpot-Pro's layout (x1, y1, x2, y2) score the same.
    pro = v2_to_pro(folder, tmp_path / "pro")
    pro_summary, pro_hits = _score(pro, tmp_path / "pro-out", shifted)
    assert pro_hits == hits and pro_summary["hits"] == summary["hits"]


@pytest.mark.browser
@pytest.mark.slow
def test_miniwob_set_boxes_are_in_screenshot_pixels(tmp_path):
    made = build_grounding("miniwob", tmp_path / "web", seed=1,
                           pages=("login-user", "click-button", "click-tab", "enter-text"))
    assert made["records"] >= 8 and made["images"] == 4
    layout, samples = load_screenspot(tmp_path / "web")
    assert layout == "v2" and {s.split for s in samples} == {"web"}
    login = [s for s in samples if "login-user" in s.image.name]
    assert {"Username", "Password", "Login"} <= {s.instruction for s in login}
    # MiniWoB is shown at device scale 3: the screenshot is 480x630 for a 160x210 page, and
    # the Login button's box is in those pixels, below the two fields.
    button = next(s for s in login if s.instruction == "Login")
    assert button.box[3] > 450 and button.box[2] <= 480
    summary, _ = _score(tmp_path / "web", tmp_path / "out")
    assert summary["accuracy"] == 1.0
