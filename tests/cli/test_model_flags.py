"""The model flags are declared once: every command that asks the model offers the same ones,
refuses the same mistakes with the same line, and hands them on as one ModelOptions."""

from __future__ import annotations

import sys

import pytest
import typer

from qvl_agent.cli.main import app, main
from qvl_agent.cli.model_flags import AGENT_FLAGS, BACKEND_FLAGS, SERVER_FLAGS

# command -> (the arguments it needs besides the model flags, the model flags it offers)
COMMANDS = {
    "run": (["run", "a goal"], AGENT_FLAGS),
    "eval": (["eval", "--suite", "web"], AGENT_FLAGS),
    "ground": (["ground", "shot.png", "the OK button"], BACKEND_FLAGS),
    "rpa": (["rpa", "script.yaml"], BACKEND_FLAGS),
    "bench screenspot": (["bench", "screenspot", "--data", "data"], BACKEND_FLAGS),
    "bench androidcontrol": (["bench", "androidcontrol", "--data", "data"], BACKEND_FLAGS),
    "doctor": (["doctor", "--endpoint", "http://127.0.0.1:9/v1"], SERVER_FLAGS),
}


def _options(path: str) -> dict[str, tuple]:
    """The options of the command at ``path`` (``"bench screenspot"``), as click sees them."""
    command = typer.main.get_command(app)
    for name in path.split():
        command = command.commands[name]  # type: ignore[attr-defined]
    return {p.name: (tuple(p.opts), p.help, p.default) for p in command.params}


def _cli(capsys, *args: str) -> tuple[int, str]:
    """``qvl-agent ARGS`` through the real entry point, in this process."""
    saved = sys.argv
    sys.argv = ["qvl-agent", *args]
    try:
        with pytest.raises(SystemExit) as exited:
            main()
    finally:
        sys.argv = saved
    return exited.value.code, capsys.readouterr().err


def test_every_command_offers_the_same_declaration_of_each_model_flag():
    declared = {path: _options(path) for path in COMMANDS}
    for path, (_, flags) in COMMANDS.items():
        assert set(flags) <= set(declared[path]), path
        for flag in flags:
            assert declared[path][flag] == declared["run"][flag], (path, flag)
    assert set(AGENT_FLAGS) - set(declared["ground"]) == {
        "history_images", "prompt", "answer_action", "max_new_tokens", "speedup"}


@pytest.mark.parametrize("path", [p for p in COMMANDS if p != "doctor"])
def test_model_with_endpoint_is_the_same_usage_error_everywhere(capsys, path):
    args, _ = COMMANDS[path]
    code, err = _cli(capsys, *args, "--model", "m", "--endpoint", "http://127.0.0.1:9/v1")
    assert code == 2
    assert "give --model or --endpoint, not both" in err and "Usage: qvl-agent" in err


@pytest.mark.parametrize("path", ["run", "eval"])
def test_a_bad_model_option_is_one_line_naming_its_flag(capsys, path):
    args, _ = COMMANDS[path]
    code, err = _cli(capsys, *args, "--history-images", "11", "--endpoint", "http://127.0.0.1:9/v1")
    assert (code, err) == (2, "error: --history-images 11: must be at most 10\n")
    code, err = _cli(capsys, *args, "--speedup", "compile", "--endpoint", "http://127.0.0.1:9/v1")
    assert code == 2 and err.startswith("error: --speedup applies to --model (local weights) only")
