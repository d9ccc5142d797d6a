"""`qvl-agent rpa` on the virtual phone, targets found in uiautomator's hierarchy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qvl_agent.agent.trajectory import load_run
from tests.conftest import run_cli

pytestmark = [pytest.mark.android, pytest.mark.slow]

EXAMPLES = Path(__file__).parents[3] / "examples" / "rpa"


def test_wifi_script_taps_the_row_and_the_cache_checks_pixels_on_replay(tmp_path):
    cache = tmp_path / "cache"
    first = run_cli("rpa", str(EXAMPLES / "phone_wifi.yaml"), "--grounder", "uia",
                    "--out", str(tmp_path / "r1"), "--cache-dir", str(cache))
    assert first.returncode == 0, first.stdout + first.stderr
    tap, _, wifi, wait = load_run(tmp_path / "r1").steps
    assert tap.action.kind == "click" and tap.extras["grounder"] == "uia"
    assert 0 <= tap.action.at.x <= 1080 and 200 <= tap.action.at.y <= 500  # the first row
    assert wifi.extras["grounder"] == "uia"                 # "Wi-Fi" found as "Wi\u2011Fi"
    assert wait.error is None and wait.extras["grounder"] == "uia"
    assert "patch:" in (cache / "phone-wifi.cache.yaml").read_text()  # no XPath on a phone

    # Waiting for "On" before tapping must fail (Wi-Fi starts off on a fresh phone); with
    # continueOnError the next task still runs, and finds Wi-Fi through the cache.
    example = (EXAMPLES / "phone_wifi.yaml").read_text()
    head, tasks = example.split("tasks:\n")
    script = tmp_path / "phone.yaml"
    script.write_text(head + "tasks:\n  - name: too early\n    continueOnError: true\n"
                      "    flow:\n      - aiWaitFor: the text \"On\"\n        timeout: 1000\n" + tasks)
    second = run_cli("rpa", str(script), "--grounder", "uia", "--out", str(tmp_path / "r2"),
                     "--cache-dir", str(cache))
    assert second.returncode == 1
    assert second.stdout.splitlines()[:2] == ["FAILED: too early", "passed: turn on Wi-Fi"]
    assert f"task 'too early', step 1 (aiWaitFor: the text \"On\", {script}:16)" in second.stderr
    meta = json.loads((tmp_path / "r2" / "meta.json").read_text())
    assert meta["stats"] == {"model_calls": 0, "locate_calls": 0, "cache_hits": 3, "cache_misses": 0}
    assert meta["status"] == "failure"


PHONE_STEPS = """\
android:
  deviceId: s4ey59ytbitot4yp      # a Midscene test phone's serial: --device replaces it
  launch: com.android.settings
  autoDismissKeyboard: true
tasks:
  - name: adb and apps
    flow:
      - runAdbShell: getprop ro.build.version.sdk
        name: sdk
      - AndroidHomeButton: null
      - launch: Settings
      - terminate: com.android.settings
  - name: a web page
    flow:
      - launch: https://example.com/
"""


def test_adb_launch_and_terminate_steps_on_the_virtual_phone_given_by_device(tmp_path):
    script = tmp_path / "phone.yaml"
    script.write_text(PHONE_STEPS)
    result = run_cli("rpa", str(script), "--device", "sim", "--grounder", "uia",
                     "--out", str(tmp_path / "run"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stdout.splitlines()[:2] == ["passed: adb and apps", "FAILED: a web page"]
    # A URL opens with a VIEW intent; the virtual phone has no browser to take it.
    assert "the phone could not open 'https://example.com/'" in result.stderr
    assert "act=android.intent.action.VIEW dat=https://example.com/" in result.stderr
    assert "ignored: android.autoDismissKeyboard" in result.stderr
    outputs = json.loads((tmp_path / "run" / "outputs.json").read_text())
    assert outputs["sdk"].strip().isdigit()
    steps = load_run(tmp_path / "run").steps
    assert steps[1].action.kind == "system_button" and steps[1].action.button == "home"
    # Each step's screen is seen before it acts: launch: opened Settings, home left it,
    # launch Settings opened it again, terminate stopped it. (The home screen is the
    # profile's own launcher: `sim` is a Pixel, with Google's.)
    apps = [s.extras["app"] for s in steps]
    home = apps[2]
    assert "launcher" in home
    assert apps == ["com.android.settings", "com.android.settings", home, "com.android.settings", home]
