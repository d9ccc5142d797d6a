"""The screen's power and the lock screen, driven through the phone's shell with a clock the
test moves: the timeout, the lock delay, the power keys, stay-on, the PIN pad."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from qvl_agent.envs.sim import Phone, PhoneConfig
from qvl_agent.envs.sim.power import Power
from tests.envs.sim.driver import Driver


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def phone_with_clock(profile: str = "android-14", pin: str | None = None) -> tuple[Phone, Clock]:
    phone = Phone(PhoneConfig(profile=profile, animations=False, flaky=False))
    clock = Clock()
    phone.power = Power(phone.settings, pin=pin, clock=clock)
    return phone, clock


def sh(phone: Phone, line: str) -> str:
    result = phone.shell(line)
    assert result.exit_code == 0, (line, result)
    return result.stdout.decode()


def state(phone: Phone) -> tuple[str, str, str]:
    """(wakefulness, keyguard showing, the focused window) as dumpsys prints them."""
    power = re.search(r"mWakefulness=(\w+)", sh(phone, "dumpsys power")).group(1)
    policy = re.search(r"^\s+showing=(\w+)", sh(phone, "dumpsys window policy"), re.M).group(1)
    focus = re.search(r"mCurrentFocus=(.*)", sh(phone, "dumpsys window windows")).group(1)
    return power, policy, focus


def test_the_screen_goes_off_after_the_timeout_and_locks_5_s_later():
    phone, clock = phone_with_clock()
    assert sh(phone, "settings get system screen_off_timeout") == "30000\n"   # a Pixel's
    sh(phone, "settings put system screen_off_timeout 15000")
    clock.now += 14.9
    assert state(phone)[:2] == ("Awake", "false")
    clock.now += 0.2
    asleep, showing, focus = state(phone)
    assert (asleep, showing) == ("Asleep", "false") and "nexuslauncher" in focus
    clock.now += 5.0                # KEYGUARD_LOCK_AFTER_DELAY_DEFAULT
    assert state(phone) == ("Asleep", "true", "null")      # 12+: no window has the focus


def test_a_timeout_below_the_minimum_is_the_minimum_and_a_touch_restarts_it():
    phone, clock = phone_with_clock("android-9")
    sh(phone, "settings put system screen_off_timeout 1000")
    clock.now += 9.0
    x, y = Driver(phone.shell).center(desc="Notes")
    sh(phone, f"input tap {x} {y}")                         # user activity
    clock.now += 9.0
    assert state(phone)[0] == "Awake"                       # 10 s from the tap, not 1 s
    clock.now += 1.5
    assert state(phone)[0] == "Asleep"


def test_waking_within_the_lock_delay_finds_the_phone_unlocked():
    phone, clock = phone_with_clock()
    clock.now += 31
    assert state(phone)[0] == "Asleep"
    clock.now += 2
    sh(phone, "input keyevent KEYCODE_WAKEUP")
    clock.now += 10
    assert state(phone)[:2] == ("Awake", "false")


@pytest.mark.parametrize(("profile", "window"), [
    ("android-9", "StatusBar"), ("android-11", "NotificationShade"),
    ("android-14", "NotificationShade"), ("samsung-11", "NotificationShade")])
def test_the_power_key_sleeps_and_locks_at_once_and_input_is_dropped(profile, window):
    phone, _ = phone_with_clock(profile)
    sh(phone, "monkey -p com.qvl.notes 1")
    sh(phone, "input keyevent KEYCODE_POWER")
    awake, showing, focus = state(phone)
    assert (awake, showing) == ("Asleep", "true")
    assert focus == ("null" if profile == "android-14" else f"Window{{{focus[7:].split()[0]} u0 "
                     f"{window}}}")
    png = phone.shell("screencap -p" + (" -d 4619827259835644672"
                                        if profile == "android-14" else "")).stdout
    assert Image.open(io.BytesIO(png)).convert("L").getbbox() is None        # all black
    dump = phone.shell("uiautomator dump /dev/tty")
    assert (dump.exit_code, dump.stdout, dump.stderr) == (
        0, b"", b"ERROR: null root node returned by UiTestAutomationBridge.\n")
    sh(phone, "input keyevent KEYCODE_HOME; input tap 540 1200")             # dropped
    assert "Display Power: state=OFF" in sh(phone, "dumpsys power")
    sh(phone, "input keyevent KEYCODE_POWER")
    awake, showing, focus = state(phone)
    assert (awake, showing) == ("Awake", "true") and focus.endswith(f" {window}}}")
    hint = "Swipe to unlock" if profile.startswith("samsung") else (
        "Swipe up to open" if profile == "android-14" else "Swipe up to unlock")
    assert Driver(phone.shell).texts("com.android.systemui:id/keyguard_indication_text") == [hint]
    sh(phone, "input swipe 360 1300 360 500 200")
    assert state(phone)[1] == "false"
    assert "com.qvl.notes/" in sh(phone, "dumpsys window windows | grep mCurrentFocus")


def test_menu_and_wm_dismiss_keyguard_unlock_a_phone_without_pin():
    phone, _ = phone_with_clock("android-11")
    sh(phone, "input keyevent KEYCODE_SLEEP; input keyevent KEYCODE_WAKEUP")
    sh(phone, "input keyevent KEYCODE_MENU")
    assert state(phone)[1] == "false"
    sh(phone, "input keyevent KEYCODE_SLEEP; input keyevent KEYCODE_WAKEUP; wm dismiss-keyguard")
    assert state(phone)[1] == "false"


def test_stay_on_holds_the_screen_while_the_phone_charges_over_usb():
    phone, clock = phone_with_clock()
    sh(phone, "svc power stayon usb")
    clock.now += 3600
    power = sh(phone, "dumpsys power")
    assert "mWakefulness=Awake" in power and "mStayOn=true" in power
    assert "mStayOnWhilePluggedInSetting=2" in power
    sh(phone, "svc power stayon ac")        # it charges over USB, so this holds nothing
    clock.now += 31
    assert state(phone)[0] == "Asleep"
    sh(phone, "input keyevent KEYCODE_WAKEUP; svc power stayon true")
    assert sh(phone, "settings get global stay_on_while_plugged_in") == "7\n"
    bad = phone.shell("svc power stayon maybe")
    assert bad.exit_code != 0 and b"svc power stayon [true|false|usb|ac|wireless]" in bad.stderr


def test_the_lock_screen_turns_the_screen_off_after_10_s():
    phone, clock = phone_with_clock()
    sh(phone, "settings put system screen_off_timeout 600000")
    sh(phone, "input keyevent KEYCODE_SLEEP; input keyevent KEYCODE_WAKEUP")
    clock.now += 10.5
    assert state(phone)[:2] == ("Asleep", "true")


def test_a_pin_guards_the_lock_screen():
    phone, _ = phone_with_clock()
    assert sh(phone, "locksettings set-pin 1234") == "Pin set to '1234'\n"
    again = phone.shell("locksettings set-pin 5678")
    assert (again.exit_code, again.stdout) == (255, b"Old password '' didn't match\n")
    sh(phone, "input keyevent KEYCODE_SLEEP; input keyevent KEYCODE_WAKEUP")
    assert "      secure=true\n" in sh(phone, "dumpsys window policy")
    driver = Driver(phone.shell)
    sh(phone, "input swipe 360 1300 360 500 200")           # the PIN pad, not the phone
    assert driver.texts("com.android.systemui:id/keyguard_message_area") == ["Enter PIN"]
    sh(phone, "wm dismiss-keyguard; input text 1111; input keyevent KEYCODE_ENTER")
    assert driver.texts("com.android.systemui:id/keyguard_message_area") == ["Wrong PIN"]
    assert state(phone)[1] == "true"
    for key in ("key1", "key2", "key3", "key4", "key_enter"):
        driver.tap(rid=f"com.android.systemui:id/{key}")
    assert state(phone)[1] == "false"
    assert sh(phone, "locksettings clear --old 1234") == "Lock credential cleared\n"
    assert "      secure=false\n" in sh(phone, "dumpsys window policy")
