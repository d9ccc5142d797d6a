"""``python -m qvl_agent.envs.sim`` driven by the real adb server, its CLI and adbutils."""

from __future__ import annotations

import io
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from adbutils import AdbClient, AdbDevice
from PIL import Image

from qvl_agent.envs.sim import ShellResult
from tests.envs.sim.driver import Driver

pytestmark = pytest.mark.android

ROOT = Path(__file__).resolve().parents[3]


def adb(*args: str, timeout: float = 20) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["adb", *args], capture_output=True, stdin=subprocess.DEVNULL,
                          timeout=timeout)


def start(*flags: str) -> tuple[subprocess.Popen[str], str]:
    """Start a phone process; return it and its serial once it printed its one line."""
    process = subprocess.Popen([sys.executable, "-m", "qvl_agent.envs.sim", "--no-animations",
                                "--profile", "android-9", *flags], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline() if process.stdout else ""
    match = re.fullmatch(r"qvl-sim listening on (127\.0\.0\.1:\d+)\n", line)
    assert match, (line, process.stderr.read() if process.stderr and process.poll() is not None
                   else "")
    return process, match.group(1)


def connect(serial: str) -> AdbDevice:
    assert f"connected to {serial}" in adb("connect", serial).stdout.decode()
    deadline = time.monotonic() + 10
    while f"{serial}\tdevice" not in adb("devices").stdout.decode():
        assert time.monotonic() < deadline, f"{serial} never became a device"
        time.sleep(0.05)
    return AdbClient(host="127.0.0.1", port=5037).device(serial)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[subprocess.Popen[str], AdbDevice]]:
    adb("start-server", timeout=30).check_returncode()
    process, serial = start()
    try:
        yield process, connect(serial)
    finally:
        adb("disconnect", serial)
        process.terminate()
        process.wait(10)


@pytest.fixture
def device(served) -> AdbDevice:
    device = served[1]
    for package in ("com.qvl.notes", "com.android.providers.contacts"):
        device.shell(["pm", "clear", package])
    device.shell("ime set com.android.inputmethod.latin/.LatinIME; input keyevent HOME")
    return device


def over_adb(device: AdbDevice) -> Driver:
    def run(command: str) -> ShellResult:
        result = device.shell2(command, timeout=20, encoding=None, v2=True)
        return ShellResult(result.returncode, result.stdout, result.stderr)
    return Driver(run)


def open_note_title(device: AdbDevice) -> Driver:
    device.app_start("com.qvl.notes")
    driver = over_adb(device)
    driver.tap(rid="com.qvl.notes:id/fab")
    driver.tap(rid="com.qvl.notes:id/title")
    return driver


def test_adbutils_reads_the_phone(device):
    assert device.window_size() == (1080, 2400)
    assert device.rotation() == 0
    assert device.getprop("ro.build.version.sdk") == "28"     # the android-9 profile
    device.app_start("com.android.deskclock")
    current = device.app_current()
    assert (current.package, current.activity) == ("com.android.deskclock",
                                                   "com.android.deskclock.DeskClock")
    assert "com.qvl.flights" in device.list_packages()


def test_exit_codes_survive_every_shell_flavour(device):
    assert device.shell2("nosuchtool", v2=True).returncode == 127
    v1 = device.shell2("nosuchtool", v2=False)
    assert v1.returncode == 127 and "inaccessible or not found" in v1.output
    assert adb("-s", device.serial, "shell", "nosuchtool").returncode == 127
    assert device.shell2("input tap 5 nope", v2=False).returncode == 255


def test_screencap_is_a_png_through_exec_and_shell(device):
    png = adb("-s", device.serial, "exec-out", "screencap -p").stdout
    image = Image.open(io.BytesIO(png))
    assert (image.format, image.size) == ("PNG", (1080, 2400))
    assert device.shell("screencap -p", encoding=None) == png
    assert device.screenshot().size == (1080, 2400)


def test_text_with_shell_characters_arrives_literally(device):
    driver = open_note_title(device)
    device.shell(["input", "text", "it's \"odd\"%s& x;y $HOME `id` | z"])
    assert driver.node(rid="com.qvl.notes:id/title").get("text") == (
        "it's \"odd\" & x;y $HOME `id` | z")


def test_adb_keyboard_types_unicode_only_when_selected(device):
    driver = open_note_title(device)
    broadcast = ["am", "broadcast", "-a", "ADB_INPUT_TEXT", "--es", "msg", "naïve → 東京"]
    assert device.shell(broadcast).endswith("Broadcast completed: result=0")
    assert driver.node(rid="com.qvl.notes:id/title").get("text") == "Title"
    refused = device.shell2("input text 'naïve'", v2=True)          # Android 9's input dies
    assert (refused.returncode, refused.stderr) == (137, "Killed\n")
    selected = device.shell2(["ime", "set", "com.android.adbkeyboard/.AdbIME"], v2=False)
    assert selected.returncode == 0
    time.sleep(0.5)         # the keyboard's service binds a moment after `ime set`
    device.shell(broadcast)
    assert driver.node(rid="com.qvl.notes:id/title").get("text") == "naïve → 東京"


def test_a_contact_tapped_in_over_adb_is_in_the_provider(device):
    driver = over_adb(device)
    device.app_start("com.android.contacts", ".activities.PeopleActivity")
    driver.tap(desc="Create contact")
    driver.fill("com.android.contacts:id/name_field", "Grace Hopper")
    driver.fill("com.android.contacts:id/phone_field", "555 0199")
    driver.tap(rid="com.android.contacts:id/save")
    assert driver.query("content://com.android.contacts/data/phones", "display_name:number") == [
        {"display_name": "Grace Hopper", "number": "555 0199"}]
    assert re.search(r"mCurrentFocus=Window\{\S+ u0 com\.android\.contacts/",
                     device.shell("dumpsys window windows"))


def test_a_phone_without_adb_keyboard_refuses_it_and_stops_on_sigterm():
    process, serial = start("--no-adb-keyboard", "--serialno", "bare-sim")
    try:
        device = connect(serial)
        assert device.prop.name == "qvl_sim"
        assert "com.android.adbkeyboard" not in device.list_packages()
        refused = device.shell2("ime set com.android.adbkeyboard/.AdbIME", v2=True)
        assert refused.returncode != 0 and "cannot be selected" in refused.stderr
    finally:
        adb("disconnect", serial)
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0
    assert process.stdout is not None and process.stdout.read() == ""
