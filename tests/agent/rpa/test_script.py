"""Script validation: every problem is one line naming the file, the line and the key,
before anything opens."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from qvl_agent.agent.rpa.script import Input, KeyboardPress, Query, Scroll, Tap, WaitFor, load_script
from qvl_agent.envs.errors import ConfigError
from tests.conftest import run_cli

EXAMPLES = Path(__file__).parents[3] / "examples" / "rpa"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "script.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


GOOD = """
web:
  url: http://127.0.0.1:1/${PAGE}
agent:
  cache: {id: flow, strategy: read-only}
tasks:
  - name: one
    continueOnError: true
    flow:
      - aiTap: the Login button
      - aiInput: the Username field
        value: ${USER_NAME}
      - aiKeyboardPress: Control+A
      - aiScroll:
        direction: up
        distance: 300
      - aiWaitFor: the dashboard is shown
        timeout: 2000
      - aiQuery: "{a: string}[], rows"
        name: rows
        schema: {type: array}
      - sleep: 100
"""


def test_a_good_script_becomes_typed_steps_with_their_lines(tmp_path, monkeypatch):
    monkeypatch.setenv("USER_NAME", "from-env")
    monkeypatch.setenv("PAGE", "env.html")
    script = load_script(write(tmp_path, GOOD), {"PAGE": "var.html"})  # --var wins over env
    assert script.screen == "web" and script.web.url == "http://127.0.0.1:1/var.html"
    assert script.agent.cache.id == "flow" and script.agent.cache.strategy == "read-only"
    steps = [step for _, step in script.steps()]
    assert [type(s) for s in steps[:6]] == [Tap, Input, KeyboardPress, Scroll, WaitFor, Query]
    assert [s.line for s in steps] == [9, 10, 12, 13, 16, 18, 21]
    assert steps[1].value == "from-env" and steps[1].locate.prompt == "the Username field"
    assert steps[3].locate is None and steps[3].direction == "up" and steps[3].distance == 300
    assert steps[5].schema_ == {"type": "array"} and steps[5].name == "rows"
    assert script.tasks[0].continueOnError is True


def test_midscene_forms_older_aiinput_and_cache_true(tmp_path):
    path = write(tmp_path, """
        web: {url: http://x}
        agent: {cache: true}
        tasks:
          - name: t
            flow:
              - aiInput: Headphones
                locate: the search box
        """)
    script = load_script(path)
    step = script.tasks[0].flow[0]
    assert (step.locate.prompt, step.value) == ("the search box", "Headphones")
    assert script.cache.id == "script" and script.cache.strategy == "read-write"  # the file's name


@pytest.mark.parametrize("flow, line, words", [
    ("      - aiTapp: the Login button\n", 7, ["tasks[0].flow[0].aiTapp", "unknown step 'aiTapp'",
                                               "did you mean aiTap?"]),
    ("      - aiInput: the Username field\n", 7, ["aiInput needs value:"]),
    ("      - aiTap: the Login button\n        valeu: x\n", 8, ["valeu", "is not an option of aiTap"]),
    ("      - aiTap: the Login button\n        deepLocat: true\n", 8, ["did you mean deepLocate?"]),
    ("      - aiWaitFor: ready\n        timeout: soon\n", 8, ["timeout", "integer"]),
    ("      - aiTap: a\n        aiInput: b\n", 7, ["one action per step"]),
    ("      - aiInput: the Name field\n        value: ${NOPE}\n", 8, ["${NOPE} is not defined",
                                                                  "--var NOPE=VALUE"]),
])
def test_mistakes_name_the_line_and_key(tmp_path, flow, line, words):
    path = write(tmp_path, "web:\n  url: http://x\ntasks:\n  - name: t\n    flow:\n\n" + flow)
    with pytest.raises(ConfigError) as caught:
        load_script(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: "), message
    for word in words:
        assert word in message


@pytest.mark.parametrize("head, words", [
    ("web: {url: http://x}\nandroid: {deviceId: sim}\n", ["give one screen", "web, android"]),
    ("web: {url: http://x}\ntarget: {url: http://y}\n", ["give one screen", "web, target"]),
    ("", ["give the screen: web:"]),
    ("tasks_: []\nweb: {url: http://x}\n", ["tasks_", "unknown key; did you mean tasks?"]),
    ("web: {url: http://x, viewportWidht: 9}\n", ["web.viewportWidht", "unknown key"]),
    ("agent: {cache: {id: x, strategy: sometimes}}\nweb: {url: http://x}\n", ["agent.cache.strategy"]),
])
def test_section_mistakes(tmp_path, head, words):
    path = write(tmp_path, head + "tasks:\n  - name: t\n    flow:\n      - sleep: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_script(path)
    for word in words:
        assert word in str(caught.value)


def test_every_example_script_is_valid():
    variables = {"BASE_URL": "http://127.0.0.1:1", "LAYOUT": "1", "USER_NAME": "a", "PASSWORD": "b",
                 "NAME": "n", "OUT_FILE": "/tmp/f"}
    names = sorted(p.name for p in EXAMPLES.glob("*.yaml"))
    assert names == ["canvas_ocr.yaml", "desktop_ocr.yaml", "extract.yaml", "login.yaml",
                     "phone_wifi.yaml"]
    for path in EXAMPLES.glob("*.yaml"):
        assert load_script(path, variables).tasks


def test_the_cli_refuses_a_typo_before_opening_anything(tmp_path):
    path = write(tmp_path, "web:\n  url: http://127.0.0.1:9/\ntasks:\n  - name: t\n    flow:\n"
                           "      - aiTap: Log in\n      - aiTapp: Log out\n")
    out = tmp_path / "run"
    result = run_cli("rpa", str(path), "--out", str(out), "--grounder", "dom")
    assert result.returncode == 2
    assert result.stderr.strip() == (f"error: {path}:7: tasks[0].flow[1].aiTapp: unknown step "
                                     "'aiTapp'; did you mean aiTap?")
    assert not out.exists()  # no run was started


def test_the_cli_refuses_model_steps_without_a_model(tmp_path):
    out = tmp_path / "run"
    result = run_cli("rpa", str(EXAMPLES / "login.yaml"), "--grounder", "dom", "--out", str(out),
                     "--var", "BASE_URL=http://127.0.0.1:9", "--var", "LAYOUT=1",
                     "--var", "USER_NAME=a", "--var", "PASSWORD=b")
    assert result.returncode == 2
    line = next(n for n, text in enumerate((EXAMPLES / "login.yaml").read_text().splitlines(), 1)
                if "- aiQuery:" in text)
    assert f"login.yaml:{line}: 'aiQuery: " in result.stderr
    assert "needs the model; give --model or --endpoint" in result.stderr
    assert not out.exists()
