"""`qvl-agent rpa` on a managed Xvfb desktop, targets found by OCR."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from qvl_agent.agent.trajectory import load_run
from tests.conftest import run_cli

pytestmark = [pytest.mark.desktop, pytest.mark.slow]

EXAMPLES = Path(__file__).parents[3] / "examples" / "rpa"


def test_a_terminal_prompt_is_found_by_ocr_and_answered(tmp_path):
    answer = tmp_path / "name.txt"
    result = run_cli("rpa", str(EXAMPLES / "desktop_ocr.yaml"), "--grounder", "ocr",
                     "--var", "NAME=Ada Lovelace", "--var", f"OUT_FILE={answer}",
                     "--out", str(tmp_path / "run"))
    assert result.returncode == 0, result.stdout + result.stderr
    deadline = time.monotonic() + 10  # the program writes after Enter, on its own time
    while not answer.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert answer.read_text() == "Ada Lovelace"  # the typing reached the program's prompt
    run = load_run(tmp_path / "run")
    # The script's `display: virtual` is a plain Xvfb: the answer above is on this machine.
    assert run.meta.options["screen"] == {"kind": "desktop", "display": "virtual",
                                          "sandbox": False, "unsafe_host": False, "open": []}
    steps = run.steps
    assert [s.extras.get("grounder") for s in steps[:2]] == ["ocr", "ocr"]
    assert steps[1].action.kind == "click"
