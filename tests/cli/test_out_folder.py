"""An --out that cannot be written is the user's: one line naming it, exit 2, nothing started."""

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # each case starts qvl-agent in a fresh process


@pytest.mark.parametrize("command", [
    ["eval", "--suite", "android", "--device", "sim", "--policy", "oracle"],
    ["run", "a goal", "--env", "browser", "--endpoint", "http://127.0.0.1:9/v1"],
    ["bench", "screenspot", "--data", ".", "--endpoint", "http://127.0.0.1:9/v1"],
])
def test_an_out_under_a_file_is_one_line_before_anything_starts(tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "run"
    result = run_cli(*command, "--out", str(out), timeout=120)
    assert result.returncode == 2, result
    assert result.stdout == ""  # no header, no step: nothing started
    assert result.stderr.splitlines() == [
        f"error: cannot write to --out {out}: not a directory; give a folder you can write to"]


def test_an_out_in_a_place_nobody_may_write(tmp_path):
    result = run_cli("eval", "--suite", "android", "--device", "sim", "--policy", "oracle",
                     "--out", "/proc/qvl-agent-test/run", timeout=120)
    assert result.returncode == 2
    assert result.stderr.startswith("error: cannot write to --out /proc/qvl-agent-test/run: ")
    assert "internal error" not in result.stderr and len(result.stderr.splitlines()) == 1
