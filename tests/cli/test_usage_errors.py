"""Mistakes on the command line are the user's: click's usage message and exit 2, no bug report."""

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.slow  # each case starts qvl-agent in a fresh process


@pytest.mark.parametrize("args,message", [
    (["no-such-command"], "No such command 'no-such-command'"),
    (["run", "a goal", "--no-such-option"], "No such option: --no-such-option"),
    (["run", "a goal", "--env", "toaster"], "Invalid value for '--env'"),
    (["eval"], "Missing option '--suite'"),
    (["run", "a goal", "--model", "m", "--endpoint", "http://127.0.0.1:9/v1"],
     "give --model or --endpoint, not both"),
])
def test_usage_errors_show_usage_and_exit_2(args, message):
    result = run_cli(*args, timeout=60)
    assert result.returncode == 2, result
    assert message in result.stderr
    assert "Usage: qvl-agent" in result.stderr
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


def test_a_bare_command_shows_help():
    result = run_cli(timeout=60)
    assert "Usage: qvl-agent" in result.stdout + result.stderr
    assert "run" in result.stdout and "eval" in result.stdout
