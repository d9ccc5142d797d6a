"""benchmarks/gpu_step.py runs on the CPU with the tiny config, so it never rots."""

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.model, pytest.mark.slow]

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "gpu_step.py"


def test_the_step_benchmark_prints_a_row_per_variant_and_limit():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--size", "tiny", "--device", "cpu", "--runs", "1",
         "--warmup", "0", "--answer-tokens", "4", "--variants", "none,prefix-cache",
         "--max-pixels", "200704,401408"],
        capture_output=True, text=True, timeout=600, cwd=SCRIPT.parents[1])
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line.split() for line in result.stdout.splitlines() if line.strip().startswith(("200704", "401408"))]
    assert [(row[0], row[1], row[3]) for row in rows] == [
        ("200704", "588x336", "none"), ("200704", "588x336", "prefix-cache"),
        ("401408", "840x448", "none"), ("401408", "840x448", "prefix-cache")]
    assert rows[0][-3] == "1.00x"
    assert "transformers' own vision encoder at 588x336" in result.stdout
