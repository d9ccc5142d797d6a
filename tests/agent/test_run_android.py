"""`qvl-agent run "turn on wifi" --env android --device sim` against the fake Qwen server."""

import json
import re
import subprocess

import pytest

from qvl_agent.agent.trajectory import load_run
from qvl_agent.envs.sim import Phone
from tests.conftest import run_cli
from tests.fakeqwen import FakeQwen, QwenRequest, tool_call
from tests.envs.sim.driver import Driver

pytestmark = [pytest.mark.android, pytest.mark.slow]

SCREEN = (1080, 2400)


def wifi_path() -> list[tuple[int, int]]:
    """Where to tap, page by page, to reach the Wi-Fi switch (a Pixel's Settings: Network &
    internet > Internet > Wi\u2011Fi), read off a phone of the same build."""
    driver = Driver(Phone().shell)
    driver.sh("monkey -p com.android.settings -c android.intent.category.LAUNCHER 1")
    centres = []
    for label in ("Network & internet", "Internet", "Wi\u2011Fi"):
        centres.append(driver.center(text=label))
        driver.tap(text=label)
    return centres


def sim_serials() -> list[str]:
    devices = subprocess.run(["adb", "devices"], capture_output=True, text=True).stdout
    return re.findall(r"^(127\.0\.0\.1:\d+)\s+\S+$", devices, re.M)


def test_turn_on_wifi_on_the_virtual_phone(tmp_path):
    taps = wifi_path()
    seen: dict[str, str] = {}
    out = tmp_path / "run"

    def qwen(request: QwenRequest) -> str:
        if request.index == 0:
            return tool_call("mobile_use", action="open", text="Settings")
        if request.index == 1:
            # The phone this run started (others' tests may have phones of their own): its
            # serial is in the step the run has just recorded.
            first = json.loads((out / "trajectory.jsonl").read_text().splitlines()[0])
            seen["serial"] = first["extras"]["serial"]
            seen["before"] = _wifi(seen["serial"])
        if request.index <= len(taps):
            return tool_call("mobile_use", action="click",
                             coordinate=request.to_frame(*taps[request.index - 1], SCREEN))
        seen["after"] = _wifi(seen["serial"])  # asked of the device itself, as a user would
        return tool_call("mobile_use", action="terminate", status="success")

    with FakeQwen(qwen) as server:
        result = run_cli("run", "turn on wifi", "--env", "android", "--device", "sim",
                         "--endpoint", server.url, "--out", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("success:")
    assert re.fullmatch(r"127\.0\.0\.1:\d+", seen.pop("serial"))
    assert seen == {"before": "0", "after": "1"}
    assert {r.frame for r in server.requests} == {(1092, 2408)} and not server.violations
    assert all(r.tool == "mobile_use" for r in server.requests)
    run = load_run(out)
    assert [s.action.kind for s in run.steps] == ["open_app", "click", "click", "click",
                                                  "terminate"]
    serial = run.steps[0].extras["serial"]
    assert "Step 2: click" in (out / "report.html").read_text()
    assert serial not in sim_serials()  # the toolkit stopped and disconnected its phone


def _wifi(serial: str) -> str:
    return subprocess.run(["adb", "-s", serial, "shell", "settings", "get", "global", "wifi_on"],
                          capture_output=True, text=True, timeout=30).stdout.strip()
