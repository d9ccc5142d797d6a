"""Hostile scripts are refused at once with one line (issue 22, point 9): an alias bomb, an
alias inside itself, a huge or deeply nested file, and huge values quoted in messages."""

from __future__ import annotations

import pytest

from qvl_agent.agent.rpa.script import ScriptProblems, load_script
from qvl_agent.agent.rpa.yamldoc import MAX_BYTES, MAX_VALUES
from qvl_agent.envs.errors import ConfigError
from tests.conftest import run_cli

# Nine levels of nine aliases: 9**9 (387 million) strings once expanded.
BOMB = "web: {url: http://x}\nlol: &a [" + ",".join(['"lollollollollol"'] * 9) + "]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi")) + "tasks: []\n"


def write(tmp_path, text: str, name: str = "script.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_545_byte_alias_bomb_is_one_line_from_the_cli(tmp_path):
    path = write(tmp_path, BOMB)
    assert 540 <= path.stat().st_size <= 550
    result = run_cli("rpa", "--dry-run", str(path))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {path}:7: the YAML's aliases expand to more than {MAX_VALUES:,} values (an alias "
        "bomb?); write the values out"]


@pytest.mark.parametrize("text", ["web: &w {url: http://x, again: *w}\ntasks: []\n",
                                  "a: &a [*a]\n", "tasks: &t [{name: t, flow: *t}]\n"])
def test_an_alias_inside_itself_is_refused(tmp_path, text):
    with pytest.raises(ConfigError, match=r":1: a YAML alias is used inside the value it names"):
        load_script(write(tmp_path, text))


def test_a_50_mb_script_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("wb") as f:
        f.truncate(50_000_000)  # sparse: stat says 50 MB, nothing is written
    with pytest.raises(ConfigError) as caught:
        load_script(path)
    assert str(caught.value) == (f"{path}: the script is 50.0 MB; scripts may be at most "
                                 f"{MAX_BYTES // 1_000_000} MB (is this the right file?)")


def test_deep_nesting_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="nest"):
        load_script(write(tmp_path, "a: " + "[" * 50_000 + "]" * 50_000 + "\n"))
    with pytest.raises(ConfigError, match="nested more than 64 levels"):
        load_script(write(tmp_path, "a: " + "[" * 100 + "]" * 100 + "\n"))


def test_huge_values_are_cut_in_messages(tmp_path):
    key = "aiTapp" + "x" * 1000  # YAML's longest plain key
    path = write(tmp_path, f"web: {{url: http://x}}\ntasks:\n  - name: t\n    flow:\n"
                           f"      - {key}: go\n      - aiInput: a\n        value: ${{{'V' * 100_000}}}\n"
                           f"  - name: {'n' * 300_000}\n    flow:\n      - aiTap: y\n        colour: {'z' * 100_000}\n")
    with pytest.raises(ScriptProblems) as caught:
        load_script(path)
    problems = caught.value.problems
    assert len(problems) == 3
    assert all(len(p) < len(str(path)) + 300 for p in problems), [len(p) for p in problems]
    assert "is not defined" in problems[0] and "(100,000 characters)" in problems[0]
    assert "(1,006 characters)" in problems[1] and "unknown step" in problems[1]
    assert "'colour' is not an option of aiTap" in problems[2]


def test_a_file_with_thousands_of_mistakes_shows_the_first_fifty(tmp_path):
    path = write(tmp_path, "web: {url: http://x}\ntasks:\n  - name: t\n    flow:\n"
                 + "      - aiTapp: a\n" * 500)
    result = run_cli("rpa", str(path))
    lines = result.stderr.splitlines()
    assert result.returncode == 2 and len(lines) == 51
    assert lines[0].startswith(f"error: {path}:5: ") and lines[-1] == "error: ... and 450 more problems"
