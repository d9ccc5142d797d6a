"""The README's Python API example, as a user runs it: ``examples/python_api.py``, a script
that uses only names the README documents, on a local page and on the virtual phone, with
the fake Qwen server as its model."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from qvl_agent.agent.trajectory import load_run
from tests.envs.sim.driver import Driver
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call
from tests.pages import PageServer

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "python_api.py"
VIEWPORT = (1280, 720)  # the browser's default
NAME_BOX, SUBMIT = (250, 120), (580, 425)  # CSS centres in form.html


def python_api_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## Python API")
    return readme[start:readme.index("\n## ", start + 1)]


def test_the_example_uses_only_names_the_readme_documents():
    source = EXAMPLE.read_text(encoding="utf-8")
    assert not re.search(r"^\s*from qvl_agent", source, re.M)  # only `import qvl_agent`
    used = set(re.findall(r"qvl_agent\.(\w+)", source))
    assert used >= {"Agent", "open_env", "Step"}
    section = python_api_section()
    for name in used:
        assert f"qvl_agent.{name}" in section or f"`{name}`" in section, name
    # ... and what it reads off a step and a result is documented there too
    for attribute in ("observation", "raw", "action", "usage", "status", "steps", "run_dir"):
        assert f"`{attribute}`" in section or f".{attribute}" in section, attribute


def run_example(*args: str, timeout: float = 240) -> tuple[list[dict], dict, str]:
    done = subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    return lines[:-1], lines[-1], done.stderr


@pytest.mark.browser
@pytest.mark.slow
def test_the_example_fills_a_form_on_a_local_page(tmp_path):
    def qwen(request: QwenRequest) -> str:
        script = [
            lambda: tool_call(action="left_click", coordinate=request.to_frame(*NAME_BOX, VIEWPORT)),
            # one answer, two calls: each is a step the hooks see
            lambda: tool_call(action="type", text="hello world") + "\n"
            + tool_call(action="left_click", coordinate=request.to_frame(*SUBMIT, VIEWPORT)),
            lambda: tool_call(action="terminate", status="success"),
        ]
        return script[request.index]()

    with PageServer() as pages, FakeQwen(qwen) as server:
        steps, result, _ = run_example("fill in the form and submit it", "--endpoint", server.url,
                                       "--url", pages.url("form.html"), "--out", str(tmp_path / "run"))
        clicks = [e["target"] for e in pages.of_type("click", count=2)]
        typed = [e["value"] for e in pages.of_type("change")]
        asked = [server.prompt_tokens(r) for r in server.requests]

    assert clicks == ["name", "submit"] and typed == ["hello world"]
    assert result["status"] == "done" and result["succeeded"] and result["steps"] == 4
    # The hooks saw every step: started and ended, with the screen, the answer, the action.
    assert result["started"] == [1, 2, 3, 4] == [s["step"] for s in steps]
    assert [s["action"]["kind"] for s in steps] == ["click", "type", "click", "terminate"]
    assert all(s["screen"] == "1280x720" and s["error"] is None for s in steps)
    assert steps[0]["answer"] == tool_call(action="left_click",
                                           coordinate=server.requests[0].to_frame(*NAME_BOX, VIEWPORT))
    assert steps[2]["tokens"] == 0  # the answer's second call: its tokens are on step 2
    assert result["usage"]["prompt_tokens"] == sum(asked) and result["usage"]["model_calls"] == 3
    run = load_run(result["run_dir"])  # the same run directory as `qvl-agent run` writes
    assert run.meta.status == "success" and len(run.steps) == 4
    assert Path(result["report"]).is_file()


@pytest.mark.android
@pytest.mark.slow
def test_the_example_turns_on_wifi_on_the_virtual_phone(tmp_path):
    from qvl_agent.envs.sim import Phone

    # Where to tap, page by page (a Pixel's Settings: Network & internet > Internet > Wi-Fi),
    # read off a phone of the same build.
    driver = Driver(Phone().shell)
    driver.sh("monkey -p com.android.settings -c android.intent.category.LAUNCHER 1")
    taps = []
    for label in ("Network & internet", "Internet", "Wi\u2011Fi"):
        taps.append(driver.center(text=label))
        driver.tap(text=label)
    out = tmp_path / "run"
    wifi: list[str] = []

    def qwen(request: QwenRequest) -> str:
        if request.index == 0:
            return tool_call("mobile_use", action="open", text="Settings")
        if request.index <= len(taps):
            return tool_call("mobile_use", action="click",
                             coordinate=request.to_frame(*taps[request.index - 1], (1080, 2400)))
        # asked of the phone itself over adb, as a user would, before the agent says it is done
        serial = json.loads((out / "trajectory.jsonl").read_text().splitlines()[0])["extras"]["serial"]
        wifi.append(subprocess.run(["adb", "-s", serial, "shell", "settings", "get", "global",
                                    "wifi_on"], capture_output=True, text=True, timeout=30).stdout.strip())
        return tool_call("mobile_use", action="terminate", status="success")

    with FakeQwen(qwen) as server:
        steps, result, _ = run_example("turn on wifi", "--endpoint", server.url, "--device", "sim",
                                       "--out", str(out))
    assert wifi == ["1"]
    assert result["status"] == "done" and result["started"] == [1, 2, 3, 4, 5]
    assert [s["action"]["kind"] for s in steps] == ["open_app", "click", "click", "click",
                                                    "terminate"]
    assert all(s["screen"] == "1080x2400" for s in steps)
    assert {r.tool for r in server.requests} == {"mobile_use"}
    assert all(s["image_tokens"] == (1092 // 28) * (2408 // 28) for s in steps)


def test_every_public_name_says_what_it_is():
    import inspect

    import qvl_agent

    undocumented = []
    for name in qvl_agent.__all__:
        value = getattr(qvl_agent, name)
        if inspect.isclass(value) and not value.__dict__.get("__doc__"):
            undocumented.append(name)
        elif inspect.isfunction(value) and not value.__doc__:
            undocumented.append(name)
    for cls, methods in ((qvl_agent.Agent, ("run", "ground")), (qvl_agent.Env, (
            "observe", "screenshot", "execute", "supports", "close"))):
        undocumented += [f"{cls.__name__}.{m}" for m in methods if not getattr(cls, m).__doc__]
    assert undocumented == []
    section = python_api_section()
    for name in ("Agent", "RunResult", "Step", "Usage", "StopRun", "GroundingResult", "Located",
                 "open_env", "ConfigError", "QvlError", "UnsupportedActionError"):
        assert f"qvl_agent.{name}" in section, name
