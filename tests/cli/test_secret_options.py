"""`--secret`, `--secrets-file` and `--confirm` mistakes: one line, before any screen starts,
and never the value."""

from __future__ import annotations

from tests.conftest import run_cli

VALUE = "never-print-me-42"


def test_secret_option_mistakes_are_one_line_without_the_value(tmp_path):
    unset = run_cli("run", "sign in", "--secret", "NOT_SET_HERE", "--out", str(tmp_path / "a"))
    assert unset.returncode == 2 and unset.stderr.splitlines() == [
        "error: --secret NOT_SET_HERE: the environment variable QVL_SECRET_NOT_SET_HERE is not "
        "set; export it, or write --secret NOT_SET_HERE=VALUE"]

    shared = tmp_path / "secrets.env"
    shared.write_text(f"PASSWORD={VALUE}\n")
    shared.chmod(0o644)
    refused = run_cli("rpa", "script.yaml", "--secrets-file", str(shared))
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1
    assert "others may read it (mode -rw-r--r--); run `chmod 600" in refused.stderr

    shared.chmod(0o600)
    twice = run_cli("run", "sign in", "--secrets-file", str(shared), "--secret", f"PASSWORD={VALUE}")
    assert twice.returncode == 2
    assert twice.stderr == "error: the secret PASSWORD is given twice; keep one\n"
    for result in (unset, refused, twice):
        assert VALUE not in result.stdout + result.stderr and not (tmp_path / "a").exists()


def test_confirm_needs_a_terminal_to_ask_at(tmp_path):
    result = run_cli("run", "sign in", "--confirm", "risky", "--out", str(tmp_path / "r"))
    assert result.returncode == 2 and not (tmp_path / "r").exists()
    assert result.stderr == ("error: --confirm risky asks the person at the terminal, and stdin is "
                             "not a terminal; run it in one, or use --confirm never\n")
