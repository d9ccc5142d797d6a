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


# js-yaml 4.1's JSON schema, which Midscene parses scripts with (values from node + js-yaml).
JS_YAML = {"yes": "yes", "no": "no", "on": "on", "off": "off", "Yes": "Yes", "True": True,
           "TRUE": True, "False": False, "null": None, "~": None, "": None, "60_000": 60000,
           "1_000.5": 1000.5, "0x1F": 31, "0o17": 15, "0b101": 5, "012": 12, "+12": 12, "-7": -7,
           "1e3": 1000, "3.": 3, ".5": 0.5, "1_": "1_", "_1": "_1", "2024-01-01": "2024-01-01",
           "12:30": "12:30", "0x_": "0x_", "1__0": 10, "1e": "1e", "=": "=", "0.1.2": "0.1.2"}


def test_values_are_typed_as_midscenes_parser_types_them(tmp_path):
    from qvl_agent.agent.rpa.yamldoc import parse_yaml

    for text, expected in JS_YAML.items():
        value = parse_yaml(f"v: {text}", "t").data["v"]
        assert value == expected and isinstance(value, bool) == isinstance(expected, bool), text
    path = write(tmp_path, """
        android: {deviceId: 123456}
        tasks:
          - name: t
            flow:
              - aiTap: yes
              - aiWaitFor: on
                timeout: 60_000
              - sleep: "500"
        """)
    script = load_script(path)
    tap, wait, sleep = (step for _, step in script.steps())
    assert script.android.deviceId == "123456" and tap.locate.prompt == "yes"
    assert (wait.prompt, wait.timeout, sleep.ms) == ("on", 60000, 500)


@pytest.mark.parametrize("head, screen", [
    ("page: {url: http://x}", "web"), ("browser: {url: http://x}", "web"),
    ("target: {url: http://x}", "web"), ("web: {url: http://x, mode: browser}", "web"),
    ("android: {}", "android"), ("android:", "android"), ("computer: {}", "computer"),
])
def test_every_screen_section_and_alias(tmp_path, head, screen):
    script = load_script(write(tmp_path, head + "\ntasks:\n  - name: t\n    flow:\n      - sleep: 1\n"))
    assert script.screen == screen
    if screen == "web":
        assert (script.web.viewportWidth, script.web.viewportHeight) == (1440, 800)  # Midscene's


@pytest.mark.parametrize("head, message", [
    ("interface: {module: ./dist/device.js}", "interface: loads a JavaScript device module, which "
     "cannot run in Python; use web:, android: or computer:"),
    ("ios: {launch: x}", "ios: drives an iPhone through WebDriverAgent"),
    ("harmony: {}", "harmony: drives a HarmonyOS device"),
    ("target: {bridgeMode: currentTab}", "target.bridgeMode: currentTab drives the tab open in your Chrome"),
    ("web: {url: http://x, serve: ./nowhere}", "web.serve: no folder './nowhere'"),
    ("web: {url: http://x, mode: tab}", "web.mode: is page or browser"),
])
def test_screens_that_cannot_run_here_are_one_line(tmp_path, head, message):
    path = write(tmp_path, head + "\ntasks:\n  - name: t\n    flow:\n      - sleep: 1\n")
    with pytest.raises(ConfigError) as caught:
        load_script(path, base=tmp_path)
    assert str(caught.value).startswith(f"{path}:1: {message}")


def test_serve_finds_its_folder_from_the_working_directory_or_the_script(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "scripts" / "public").mkdir(parents=True)
    text = "web: {serve: ./site, url: index.html}\ntasks:\n  - name: t\n    flow:\n      - sleep: 1\n"
    here = tmp_path / "scripts" / "a.yaml"
    here.write_text(text)
    assert load_script(here, base=tmp_path).web.serve == str((tmp_path / "site").resolve())  # Midscene's
    here.write_text(text.replace("./site", "./public"))
    assert load_script(here, base=tmp_path).web.serve == str((tmp_path / "scripts" / "public").resolve())
    here.write_text(text.replace("index.html", "http://elsewhere/"))
    with pytest.raises(ConfigError, match="with serve:, url: is a path in the served folder"):
        load_script(here, base=tmp_path)


def test_each_screen_section_is_the_spec_open_env_opens(tmp_path):
    """The script's screen options travel in the EnvSpec (envs.spec validates them); the
    browser gets Midscene's 1440x800 unless the script says otherwise."""
    from qvl_agent.agent.rpa.screens import screen_spec
    from qvl_agent.envs.spec import AndroidSpec, BrowserSpec, DesktopSpec

    (tmp_path / "site").mkdir()
    (tmp_path / "cookies.json").write_text("[]")
    flow = "\ntasks:\n  - name: t\n    flow:\n      - sleep: 1\n"
    web = ("web: {serve: ./site, url: index.html, userAgent: qvl/1, cookie: ./cookies.json,\n"
           "      extraHTTPHeaders: {X-Token: t}, acceptInsecureCerts: true}")
    spec = screen_spec(load_script(write(tmp_path, web + flow), base=tmp_path), headed=True)
    assert spec == BrowserSpec(url="index.html", serve=str((tmp_path / "site").resolve()),
                               viewport=(1440, 800), headed=True, user_agent="qvl/1",
                               extra_http_headers={"X-Token": "t"},
                               cookie_file=str((tmp_path / "cookies.json").resolve()),
                               ignore_https_errors=True)
    android = load_script(write(tmp_path, "android: {deviceId: abc, launch: https://x.org/}" + flow),
                          device="sim:android-9")
    assert screen_spec(android) == AndroidSpec(device="sim:android-9", launch="https://x.org/")
    computer = load_script(write(tmp_path, "computer: {display: virtual, launch: xterm}" + flow))
    assert screen_spec(computer) == DesktopSpec(display="virtual", sandbox=False)  # launched once open


def test_what_the_screen_spec_refuses_is_a_dry_run_problem(tmp_path):
    path = write(tmp_path, "web: {url: http://x, extraHTTPHeaders: {Bad Name: x}}\n"
                           "tasks:\n  - name: t\n    flow:\n      - sleep: 1\n")
    result = run_cli("rpa", "--dry-run", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert (f"error: {path}: web: --extra-http-headers: 'Bad Name' is not an HTTP header name"
            in result.stderr)
    result = run_cli("rpa", "--dry-run", str(write(tmp_path, "android: {}\ntasks:\n  - name: t\n"
                                                              "    flow:\n      - sleep: 1\n")),
                     "--device", "sim:android-99")
    assert result.returncode == 2 and "--device sim:android-99: no virtual phone profile" in result.stderr


@pytest.mark.parametrize("agent, cache", [
    ("cache: true", ("script", "read-write")),
    ("cache: true\n  strategy: read-only", ("script", "read-only")),  # the older form
    ("cache: {id: mine}", ("mine", "read-write")),
    ("cache: {strategy: write-only}", ("script", "write-only")),
    ("cache: false", None),
])
def test_every_cache_form(tmp_path, agent, cache):
    script = load_script(write(tmp_path, f"web: {{url: http://x}}\nagent:\n  {agent}\n"
                                         "tasks:\n  - name: t\n    flow:\n      - sleep: 1\n"))
    assert (None if script.cache is None else (script.cache.id, script.cache.strategy)) == cache


def test_agent_options_are_read_and_the_rest_noted(tmp_path):
    path = write(tmp_path, """
        web: {url: http://x}
        agent:
          testId: checkout
          groupName: E2E
          groupDescription: the checkout
          generateReport: true
          reportFileName: checkout-report
          replanningCycleLimit: 30
          aiActionContext: accept cookies
        tasks:
          - name: t
            flow:
              - sleep: 1
        """)
    agent = load_script(path).agent
    assert (agent.testId, agent.groupName, agent.reportFileName, agent.replanningCycleLimit,
            agent.aiActContext) == ("checkout", "E2E", "checkout-report", 30, "accept cookies")
    assert load_script(path).ignored == [
        f"ignored: agent.generateReport (the run directory and its report.html are always "
        f"written); {path} line 6"]
