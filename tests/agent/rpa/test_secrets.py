"""`qvl-agent rpa --secret`: ${NAME} of a secret is typed into the page and recorded nowhere."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from qvl_agent.agent.trajectory import load_run
from tests.agent.rpa.fakes import responder
from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen
from tests.pages import PageServer

pytestmark = [pytest.mark.browser, pytest.mark.slow]

EXAMPLES = Path(__file__).parents[3] / "examples" / "rpa"
PASSWORD = "rpa-Pa55word-from-env"


def test_a_script_types_a_secret_from_the_environment_and_records_its_placeholder(tmp_path):
    out = tmp_path / "run"
    respond = responder(lambda asked: None, (1000, 700), query="[]", result=False)
    with PageServer(EXAMPLES / "site") as site, FakeQwen(respond) as qwen:
        result = run_cli("rpa", str(EXAMPLES / "login.yaml"), "--var",
                         f"BASE_URL={site.url('').rstrip('/')}", "--var", "LAYOUT=1",
                         "--var", "USER_NAME=alice", "--secret", "PASSWORD", "--grounder", "dom",
                         "--endpoint", qwen.url, "--out", str(out), "--cache-dir",
                         str(tmp_path / "cache"), env={"QVL_SECRET_PASSWORD": PASSWORD})
        logins = site.of_type("login")
        bodies = [json.dumps(r.body) for r in qwen.requests]
    assert result.returncode == 0, result.stdout + result.stderr
    assert [(e["user"], e["password"]) for e in logins] == [("alice", PASSWORD)]
    run = load_run(out)
    assert run.steps[1].extras["value"] == "<secret:PASSWORD>"
    assert run.steps[1].action.kind == "click"  # aiInput: the click into the field is recorded
    assert [s["name"] for s in run.meta.options["secrets"]] == ["PASSWORD"]
    found = subprocess.run(["grep", "-r", "-a", "-F", "-l", PASSWORD, str(out), str(tmp_path / "cache")],
                           capture_output=True, text=True)
    assert found.returncode == 1 and found.stdout == ""
    assert bodies and not [b for b in bodies if PASSWORD in b]  # the model was asked, never told
    assert PASSWORD not in result.stdout + result.stderr


def test_a_secret_and_a_var_of_the_same_name_are_refused(tmp_path):
    result = run_cli("rpa", str(EXAMPLES / "login.yaml"), "--var", "PASSWORD=x",
                     "--secret", "PASSWORD=y", "--out", str(tmp_path / "r"))
    assert result.returncode == 2
    assert result.stderr.startswith("error: PASSWORD is given both as --var and as a secret")


def test_a_page_read_back_by_javascript_keeps_the_placeholder_in_the_outputs(tmp_path):
    """The script's own javascript can read the field a secret was typed into; what it
    returns is an output like any other, and outputs.json keeps no value either."""
    script = tmp_path / "readback.yaml"
    script.write_text("web:\n  url: ${BASE_URL}/login.html?layout=1\n"
                      "tasks:\n  - name: type and read\n    flow:\n"
                      "      - aiInput: the Password field\n        value: ${PASSWORD}\n"
                      "      - javascript: document.getElementById('password').value\n"
                      "        name: typed\n")
    out = tmp_path / "run"
    with PageServer(EXAMPLES / "site") as site:
        result = run_cli("rpa", str(script), "--var", f"BASE_URL={site.url('').rstrip('/')}",
                         "--secret", "PASSWORD", "--grounder", "dom", "--out", str(out),
                         env={"QVL_SECRET_PASSWORD": PASSWORD})
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads((out / "outputs.json").read_text()) == {"typed": "<secret:PASSWORD>"}
    found = subprocess.run(["grep", "-r", "-a", "-F", "-l", PASSWORD, str(out)],
                           capture_output=True, text=True)
    assert found.returncode == 1 and found.stdout == ""


def test_a_dry_run_takes_a_secrets_name_as_defined(monkeypatch):
    monkeypatch.delenv("PASSWORD", raising=False)  # ${NAME} falls back to the environment
    args = ["rpa", "--dry-run", str(EXAMPLES / "login.yaml"), "--var", "BASE_URL=http://x",
            "--var", "LAYOUT=1", "--var", "USER_NAME=alice"]
    checked = run_cli(*args, "--secret", "PASSWORD=not-shown")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "not-shown" not in checked.stdout + checked.stderr
    missing = run_cli(*args)
    assert missing.returncode == 2 and "${PASSWORD} is not defined" in missing.stderr
