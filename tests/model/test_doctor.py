"""`qvl-agent doctor` against the fake server: a good one passes, a bad one gets its fix."""

import re

import pytest

from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, tool_call

pytestmark = [pytest.mark.slow]  # each runs the CLI in a fresh process


def answer(request):
    return tool_call(action="left_click", coordinate=[10, 10])


def test_doctor_passes_against_a_matching_server():
    with FakeQwen(answer) as server:
        result = run_cli("doctor", "--endpoint", server.url, "--history-images", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for name in ("reachable", "served model", "image tokens at 1932x1092", "3 images per request",
                 "generation settings", "latency of one step"):
        assert any(line.startswith("ok") and name in line for line in lines), name
    assert "Qwen2.5-VL-7B-Instruct" in result.stdout and "repetition_penalty 1.05" in result.stdout
    assert "6 of 6 checks passed" in result.stdout
    assert server.requests[0].body["repetition_penalty"] == 1.05


def test_doctor_names_the_fix_for_a_server_that_shrinks_and_limits_images():
    with FakeQwen(answer, max_pixels=int(1316 * 728 * 0.87 ** 2), max_images=1) as server:
        result = run_cli("doctor", "--endpoint", server.url, "--max-pixels", "1003520",
                         "--history-images", "4")
    assert result.returncode == 1
    out = result.stdout
    assert re.search(r"FAIL +image tokens at 1316x728", out)
    assert "--mm-processor-kwargs '{\"max_pixels\": 958048}'" in out  # 1316*728
    assert "SGLANG_IMAGE_MAX_PIXELS=958048" in out
    assert re.search(r"FAIL +5 images per request", out)
    assert "--limit-mm-per-prompt '{\"image\": 5}'" in out
    assert "Traceback" not in result.stderr


def test_doctor_against_nothing_says_start_the_server():
    result = run_cli("doctor", "--endpoint", "http://127.0.0.1:9/v1")
    assert result.returncode == 1
    assert "FAIL  reachable" in result.stdout and "start the server" in result.stdout


def test_doctor_tells_a_different_rendering_from_a_resize():
    with FakeQwen(answer, extra_prompt_tokens=-9) as server:
        result = run_cli("doctor", "--endpoint", server.url)
    assert result.returncode == 1
    row = next(line for line in result.stdout.splitlines() if "image tokens at" in line)
    assert row.startswith("FAIL") and "renders the prompt differently" in row
    assert "resizes" not in result.stdout and "--max-pixels" not in result.stdout
