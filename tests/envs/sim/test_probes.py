"""The virtual phone probed through the real ``adb`` binary, as a person types the commands,
on each profile: outputs, streams and exit codes as real phones give them.

One phone per profile for the whole module (started on first use, steady uiautomator and
instant timing: other modules cover the timing and the failures).
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.android

ROOT = Path(__file__).resolve().parents[3]
PROFILES = ("android-9", "android-11", "android-14", "samsung-11")
PNG = b"\x89PNG\r\n\x1a\n"
PIXEL_DISPLAY = "4619827259835644672"


class Phone:
    def __init__(self, profile: str, process: subprocess.Popen[str], serial: str) -> None:
        self.profile, self.process, self.serial = profile, process, serial

    def adb(self, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(["adb", "-s", self.serial, *args], capture_output=True,
                              input=stdin, timeout=60)

    def sh(self, command: str) -> subprocess.CompletedProcess[bytes]:
        """``adb shell COMMAND``: the shell protocol, stdout and stderr apart."""
        return self.adb("shell", command)

    def out(self, command: str) -> str:
        result = self.sh(command)
        assert result.returncode == 0, (command, result)
        return result.stdout.decode()


@pytest.fixture(scope="module")
def phones() -> Iterator[dict[str, Phone]]:
    subprocess.run(["adb", "start-server"], capture_output=True, timeout=60, check=True)
    started: dict[str, Phone] = {}

    class Lazy(dict):
        def __missing__(self, profile: str) -> Phone:
            process = subprocess.Popen(
                [sys.executable, "-m", "qvl_agent.envs.sim", "--profile", profile,
                 "--no-animations", "--steady"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
            line = process.stdout.readline() if process.stdout else ""
            serial = re.fullmatch(r"qvl-sim listening on (\S+)\n", line).group(1)
            subprocess.run(["adb", "connect", serial], capture_output=True, timeout=30)
            subprocess.run(["adb", "-s", serial, "wait-for-device"], timeout=30)
            self[profile] = started[profile] = Phone(profile, process, serial)
            return self[profile]

    yield Lazy()
    for phone in started.values():
        subprocess.run(["adb", "disconnect", phone.serial], capture_output=True, timeout=30)
        phone.process.terminate()
        phone.process.wait(10)


def black(png: bytes) -> bool:
    return Image.open(io.BytesIO(png)).convert("L").getbbox() is None


@pytest.mark.parametrize("profile", PROFILES)
def test_sleep_lock_and_wake_as_a_person_probes_them(phones, profile):
    phone = phones[profile]
    assert phone.sh("input keyevent KEYCODE_POWER").returncode == 0
    power = phone.out("dumpsys power | grep -E 'mWakefulness=|Display Power'")
    assert power == "  mWakefulness=Asleep\nDisplay Power: state=OFF\n"
    focus = phone.out("dumpsys window windows | grep mCurrentFocus").strip()
    expected = {"android-9": "StatusBar}", "android-14": "mCurrentFocus=null"}.get(
        profile, "NotificationShade}")
    assert focus.endswith(expected), focus
    frame = phone.adb("exec-out", "screencap -p").stdout
    assert black(frame[frame.find(PNG):])
    dump = phone.sh("uiautomator dump")
    assert (dump.returncode, dump.stdout, dump.stderr) == (
        0, b"", b"ERROR: null root node returned by UiTestAutomationBridge.\n")
    phone.out("input keyevent KEYCODE_WAKEUP")
    assert "showing=true" in phone.out("dumpsys window policy")
    phone.out("input swipe 360 1300 360 500 200")
    assert "      showing=false" in phone.out("dumpsys window policy")
    phone.out("svc power stayon true")
    assert phone.out("dumpsys power | grep mStayOn=") == "  mStayOn=true\n"
    phone.out("svc power stayon false")


@pytest.mark.parametrize("profile", PROFILES)
def test_screencap_streams_and_display_ids(phones, profile):
    phone = phones[profile]
    shell = phone.sh("screencap -p")                     # shell v2: the streams stay apart
    assert shell.returncode == 0 and shell.stdout.startswith(PNG)
    raw = phone.adb("exec-out", "screencap -p").stdout   # exec: one socket for both
    if profile == "android-14":
        assert shell.stderr.startswith(b"[Warning] Multiple displays were found")
        assert raw.startswith(b"[Warning] Multiple displays") and raw.endswith(shell.stdout)
        assert phone.sh(f"screencap -p -d {PIXEL_DISPLAY}").stderr == b""
        ids = phone.out("dumpsys SurfaceFlinger --display-id")
        assert ids.startswith(f"Display {PIXEL_DISPLAY} (HWC display 0): port=0")
        assert len(ids.splitlines()) == 2
        for bad, message in (("0", b"Failed to take screenshot. Status: -2\n"),
                             ("abc", b"Invalid display ID: Out of range [0, 2^64).\n")):
            result = phone.sh(f"screencap -p -d {bad}")
            assert (result.returncode, result.stdout, result.stderr) == (1, b"", message)
    else:
        assert shell.stderr == b"" and raw == shell.stdout
    if profile == "android-9":
        result = phone.sh("screencap -p -d 1")
        assert (result.returncode, result.stderr) == (1, b"Unable to get handle for display 1\n")
        assert "(HWC display" not in phone.out("dumpsys SurfaceFlinger --display-id")
    if profile in ("android-11", "samsung-11"):
        assert phone.sh("screencap -p -d 0").stdout.startswith(PNG)     # a layer stack
        result = phone.sh("screencap -p -d 7")
        assert (result.returncode, result.stdout, result.stderr) == (1, b"", b"")
    displays = phone.out("dumpsys window displays")
    assert displays.startswith("WINDOW MANAGER DISPLAY CONTENTS (dumpsys window displays)\n"
                               "  Display: mDisplayId=0")
    assert "WINDOW MANAGER WINDOWS" not in displays and "Window #" not in displays


@pytest.mark.parametrize("profile", PROFILES)
def test_input_drops_what_is_off_screen_and_fails_on_text_as_each_release(phones, profile):
    phone = phones[profile]
    for command in ("input tap -10 -10", "input tap 5000 5000", "input swipe -1 5 300 300"):
        result = phone.sh(command)
        assert (result.returncode, result.stdout, result.stderr) == (0, b"", b"")
    result = phone.sh("input text 'café'")
    if profile == "android-9":
        assert (result.returncode, result.stderr) == (137, b"Killed\n")
        assert "java.lang.NullPointerException" in phone.out("logcat -d -b crash")
    elif profile == "android-14":
        assert result.returncode == 255
        assert result.stderr.startswith(b"\nException occurred while executing 'text':\n"
                                        b"java.lang.NullPointerException: Attempt to get "
                                        b"length of null array\n\tat com.android.server.input.")
    else:
        assert result.returncode == 1
        assert result.stderr.startswith(b"java.lang.NullPointerException: Attempt to get length"
                                        b" of null array\n\tat com.android.commands.input.Input")


def test_keycombination_applies_its_modifiers_on_14(phones):
    phone = phones["android-14"]
    phone.out("pm clear com.qvl.notes; monkey -p com.qvl.notes 1")
    dump = phone.adb("exec-out", "uiautomator dump /dev/tty").stdout.decode()
    x, y = _centre(dump, 'resource-id="com.qvl.notes:id/fab"')
    phone.out(f"input tap {x} {y}")
    dump = phone.adb("exec-out", "uiautomator dump /dev/tty").stdout.decode()
    x, y = _centre(dump, 'resource-id="com.qvl.notes:id/title"')
    phone.out(f"input tap {x} {y}; input text draft")
    phone.out("input keycombination KEYCODE_CTRL_LEFT KEYCODE_A; input text final")
    phone.out("input keycombination KEYCODE_SHIFT_LEFT KEYCODE_1")
    dump = phone.adb("exec-out", "uiautomator dump /dev/tty").stdout.decode()
    assert re.search(r'text="final!" resource-id="com.qvl.notes:id/title"', dump)


def _centre(dump: str, marker: str) -> tuple[int, int]:
    node = next(n for n in dump.split("<node") if marker in n)
    left, top, right, bottom = map(int, re.search(
        r'bounds="\[(\d+),(\d+)\]\[(\d+),(\d+)\]"', node).groups())
    return (left + right) // 2, (top + bottom) // 2


@pytest.mark.parametrize("profile", PROFILES)
def test_radios_wifi_commands_and_bluetooth_in_airplane_mode(phones, profile):
    phone = phones[profile]
    wifi = phone.sh("cmd wifi status")
    if profile == "android-9":
        assert wifi.returncode == 255 and wifi.stderr.startswith(
            b"Security exception: Uid 2000 does not have access to wifi commands\n")
    else:
        assert wifi.returncode == 0 and wifi.stdout.startswith(b"Wifi is ")
    phone.out("svc bluetooth enable; cmd connectivity airplane-mode enable")
    assert phone.out("settings get global bluetooth_on") == "2\n"
    phone.out("cmd connectivity airplane-mode disable")
    assert phone.out("settings get global bluetooth_on") == "1\n"


@pytest.mark.parametrize("profile", PROFILES)
def test_toybox_tools(phones, profile):
    phone = phones[profile]
    assert re.fullmatch(r"\d{10}\n", phone.out("date +%s"))
    phone.out("am start -a android.settings.SETTINGS")
    ps = phone.out("ps -A")
    assert ps.startswith("USER ") and re.search(r"^system\s+1261 .* system_server$", ps, re.M)
    pid = phone.out("pidof com.android.settings").strip()
    assert re.search(rf"\s{pid}\s.* com\.android\.settings$", ps, re.M)
    assert phone.sh("pidof no.such.app").returncode == 1
    assert phone.out("getprop ro.build.fingerprint | cut -d/ -f1") == phone.out(
        "getprop ro.product.brand")
    assert phone.out("echo hello | sed 's/l/L/g'") == "heLLo\n"
    assert phone.out("echo abcdef | head -c 3") == "abc"
    phone.out("uiautomator dump")
    assert phone.out("find /sdcard -name '*.xml'") == "/sdcard/window_dump.xml\n"
    assert "START u0 {act=android.settings.SETTINGS} from uid 2000" in phone.out("logcat -d")


@pytest.mark.parametrize("profile", PROFILES)
def test_adb_pull_push_and_ls_go_through_the_sync_service(phones, profile, tmp_path):
    phone = phones[profile]
    phone.out("uiautomator dump")
    pulled = phone.adb("pull", "/sdcard/window_dump.xml", str(tmp_path / "d.xml"))
    assert pulled.returncode == 0, pulled
    assert (tmp_path / "d.xml").read_bytes() == phone.sh("cat /sdcard/window_dump.xml").stdout
    missing = phone.adb("pull", "/sdcard/nope.xml", str(tmp_path / "n.xml"))
    assert missing.returncode == 1 and b"does not exist" in missing.stdout + missing.stderr
    (tmp_path / "up.txt").write_bytes(b"from the host\n" * 5000)
    pushed = phone.adb("push", str(tmp_path / "up.txt"), "/sdcard/Download/up.txt")
    assert pushed.returncode == 0, pushed
    assert phone.sh("cat /sdcard/Download/up.txt").stdout == b"from the host\n" * 5000
    assert phone.adb("push", str(tmp_path / "up.txt"), "/system/up.txt").returncode == 1
    listing = phone.adb("ls", "/sdcard").stdout.decode()
    assert re.search(r"^000041f9 00001000 [0-9a-f]{8} Download$", listing, re.M)
    assert re.search(r"^000081b0 [0-9a-f]{8} [0-9a-f]{8} window_dump\.xml$", listing, re.M)


@pytest.mark.parametrize(("profile", "mine", "not_mine"), [
    ("android-14", "com.google.android.contacts", "com.android.contacts"),
    ("samsung-11", "com.samsung.android.app.contacts", "com.android.contacts")])
def test_each_vendor_ships_its_own_packages(phones, profile, mine, not_mine):
    phone = phones[profile]
    listed = phone.out("pm list packages").split()
    assert f"package:{mine}" in listed and f"package:{not_mine}" not in listed
    if profile == "samsung-11":
        cleared = phone.sh("pm clear com.samsung.android.providers.contacts")
        assert (cleared.returncode, cleared.stderr) == (1, b"Failed\n")
