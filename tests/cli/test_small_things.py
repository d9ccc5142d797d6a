"""What a new user trips on, in small: one error prefix, help that fits, YAML that says what to fix."""

import re

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # each case starts qvl-agent in a fresh process


def test_usage_errors_and_our_errors_share_one_prefix():
    usage = run_cli("run", "a goal", "--no-such-option", timeout=60)
    ours = run_cli("run", "a goal", "--max-steps", "0", timeout=60)
    assert usage.returncode == ours.returncode == 2
    assert usage.stderr.splitlines()[-1] == "error: No such option: --no-such-option"
    assert ours.stderr.splitlines() == ["error: --max-steps 0: must be at least 1"]
    assert "Error:" not in usage.stderr + ours.stderr


@pytest.mark.parametrize("command", [["run"], ["eval"], ["bench", "androidcontrol"], ["rpa"]])
def test_help_into_a_pipe_cuts_no_option_list(command):
    result = run_cli(*command, "--help", timeout=60)
    assert result.returncode == 0
    assert "…" not in result.stdout
    assert re.search(r"'sim\[:android-9\|[a-z0-9|-]+\]'", result.stdout) or command != ["run"]


def test_a_yaml_indentation_mistake_says_what_to_fix(tmp_path):
    script = tmp_path / "flow.yaml"
    script.write_text("web:\n  url: http://127.0.0.1:9/\ntasks:\n  - name: log in\n    flow:\n"
                      "      - aiTap: the Log in button\n     - sleep: 100\n")
    result = run_cli("rpa", str(script), timeout=60)
    assert result.returncode == 2
    [line] = result.stderr.splitlines()  # PyYAML's own words sit in the middle, in brackets
    assert line.startswith(f"error: {script}:7: the indentation does not line up '     - sleep: 100' (YAML: ")
    assert line.endswith("); indent each list item (- ...) and each key exactly as far as the ones "
                         "beside it, and further than the key they belong to, with spaces")
    script.write_text("web:\n\turl: http://127.0.0.1:9/\n")
    tab = run_cli("rpa", str(script), timeout=60)
    assert "a tab in the indentation" in tab.stderr and "replace the tab with spaces" in tab.stderr
