"""A full disk under ``run`` and ``eval``, the way it was found: ``--out`` on a 2 MB tmpfs.

The run stops at the first file that does not fit, says which and how much it needs, and
every file already written stays whole: meta.json says how the run ended (never
``running``), each trajectory and results line parses, each screenshot a trajectory line
names is a whole PNG, and no temporary file is left. ``--resume`` finishes the eval once
there is room.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import run_cli
from tests.eval.suites import lines
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call
from tests.pages import PageServer

pytestmark = [pytest.mark.browser, pytest.mark.slow,
              pytest.mark.skipif(os.geteuid() != 0, reason="mounting a 2 MB tmpfs needs root")]


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB tmpfs (as a user's nearly full disk is, small enough to fill in a test)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(mount: Path, leave: int) -> Path:
    """Ballast that leaves about ``leave`` bytes free."""
    stats = os.statvfs(mount)
    ballast = mount / "ballast"
    ballast.write_bytes(b"\1" * max(0, stats.f_bavail * stats.f_frsize - leave))
    return ballast


def _whole(folder: Path) -> None:
    """What a user needs of a stopped run: every file whole, no temporary file left."""
    leftovers = [p.name for p in folder.rglob("*") if p.name.endswith(".tmp") or p.name == ".qvl-reserve"]
    assert leftovers == []


def test_run_stops_at_once_on_a_full_disk_and_leaves_every_file_whole(small_disk):
    _fill(small_disk, 150_000)
    out = small_disk / "run"

    def respond(request: QwenRequest) -> str:  # clicks somewhere new every step, for ever
        return tool_call(action="left_click", coordinate=request.to_frame(
            20 + 7 * request.index % 900, 300, (1000, 600)))

    with PageServer() as pages, FakeQwen(respond) as qwen:
        result = run_cli("run", "click around", "--env", "browser", "--url", pages.url("form.html"),
                         "--viewport", "1000x600", "--endpoint", qwen.url, "--max-steps", "60",
                         "--out", str(out), timeout=300)
        asked = len(qwen.requests)
    assert result.returncode == 2, result.stdout + result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("error")]
    assert len(error) == 1 and error[0].startswith("error: no space left for "), result.stderr
    assert f"are free on {small_disk}" in error[0] and "it needs" in error[0]
    assert "the run stopped after" in error[0] and "internal error" not in result.stderr
    meta = json.loads((out / "meta.json").read_text())
    assert meta["status"] == "error" and meta["message"].startswith("no space left for ")
    steps = [json.loads(line) for line in (out / "trajectory.jsonl").read_text().splitlines()]
    assert 0 < len(steps) < 60 and meta["steps"] >= len(steps)
    assert asked <= len(steps) + 1  # it stopped at once, not 22 steps later
    for step in steps:
        with Image.open(out / step["screenshot"]) as png:
            png.load()  # whole PNGs only
    _whole(out)


def test_eval_stops_on_a_full_disk_keeps_results_whole_and_resumes(small_disk, tmp_path):
    # About 1 MB free: the 18 instances take about 1.9 MB (their reports show the run
    # folders' PNGs, no second copy of each screenshot), so the disk fills half-way.
    _fill(small_disk, 1_000_000)
    out = small_disk / "eval"
    result = run_cli("eval", "--suite", "web", "--policy", "oracle", "--seeds", "3",
                     "--out", str(out), timeout=600)
    assert result.returncode == 2, result.stdout + result.stderr
    said = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(said) == 1 and "no space left for " in said[0] and "it needs" in said[0]
    assert "--resume" in said[0] and "internal error" not in result.stderr
    rows = lines(out)  # every line parses
    assert 0 < len(rows) < 18
    assert not [r for r in rows if r["status"] == "crashed"]
    assert (out / "summary.md").is_file()
    for row in rows:
        if row["outcome"] != "error":
            assert json.loads((out / Path(row["report"]).parent / "meta.json").read_text())["status"] != "running"
    _whole(out)
    # Room again (as a user would make it): --resume finishes, the stopped instances included.
    moved = tmp_path / "moved"
    subprocess.run(["cp", "-a", str(out), str(moved)], check=True)
    again = run_cli("eval", "--suite", "web", "--policy", "oracle", "--seeds", "3",
                    "--out", str(moved), "--resume", timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    rows = lines(moved)
    assert len(rows) == 18 and all(r["outcome"] == "success" for r in rows)
