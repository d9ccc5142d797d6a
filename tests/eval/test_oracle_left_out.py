"""`--policy oracle` on MiniWoB: the pages without an oracle are left out, and the user is told."""

import pytest

from tests.conftest import run_cli

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_pages_without_an_oracle_are_counted_and_the_header_keeps_its_path_whole(tmp_path):
    out = tmp_path / ("a-folder-name-long-enough-that-an-80-column-console-would-wrap-it" * 2) / "run"
    result = run_cli("eval", "--suite", "miniwob", "--policy", "oracle",
                     "--tasks", "^miniwob/(click-button|book-flight)$", "--out", str(out))
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == f"eval: suite miniwob (browser), policy oracle, 1 instance, 1 worker -> {out}"
    assert lines[1] == ("eval: --policy oracle: 1 of 2 tasks have no oracle and are left out: "
                        "miniwob/book-flight")
    assert f"results: {out / 'results.jsonl'}" in result.stdout.splitlines()
