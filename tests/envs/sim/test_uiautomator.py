"""``uiautomator dump`` as real phones run it: a wait for an idle screen rather than a refusal
after every input, failure only after 10 s of motion, and the occasional failure that a
seed replays."""

from __future__ import annotations

import threading

import pytest

from qvl_agent.envs.sim import Phone, PhoneConfig
from qvl_agent.envs.sim.tools.screen import IDLE_ERROR, NULL_ROOT


def outcomes(seed: int, count: int = 240) -> list[tuple[int, bytes]]:
    phone = Phone(PhoneConfig(animations=False, seed=seed))
    return [(r.exit_code, r.stderr) for r in
            (phone.shell("uiautomator dump /sdcard/d.xml") for _ in range(count))]


def test_failures_are_occasional_of_the_real_kinds_and_replayed_by_their_seed():
    first = outcomes(seed=7)
    assert first == outcomes(seed=7)
    assert first != outcomes(seed=8)
    failures = [o for o in first if o[1]]
    assert 0 < len(failures) < len(first) // 10
    assert {o for o in failures} == {(0, NULL_ROOT.encode()), (137, b"Killed\n")}
    # A "Killed" dump was either killed by the system or crashed because another UiAutomation
    # held the service; that crash is only in logcat, as on a phone.
    phone = Phone(PhoneConfig(animations=False, seed=7))
    for _ in range(240):
        phone.shell("uiautomator dump /sdcard/d.xml")
    crashes = phone.shell("logcat -d -b crash").stdout.decode()
    assert "FATAL EXCEPTION: main" in crashes
    assert "IAccessibilityServiceClient$Stub$Proxy@" in crashes and \
        "already registered!" in crashes


def test_a_failed_dump_leaves_the_previous_file_in_place():
    phone = Phone(PhoneConfig(animations=False, seed=7))
    results = []
    for _ in range(60):
        before = phone.shell("cat /sdcard/d.xml").stdout
        result = phone.shell("uiautomator dump /sdcard/d.xml")
        results.append((result, before, phone.shell("cat /sdcard/d.xml").stdout))
    failed = [(before, after) for result, before, after in results if result.stderr]
    assert failed and all(before == after for before, after in failed)


def test_a_dump_right_after_an_input_waits_for_the_screen_instead_of_failing():
    phone = Phone(PhoneConfig(profile="android-9", flaky=False))   # a phone's real timing
    x, y = 540, 1200
    phone.shell(f"input tap {x} {y}")
    result = phone.shell("uiautomator dump /dev/tty")
    assert result.exit_code == 0 and result.stdout.endswith(b"dumped to: /dev/tty\n")


@pytest.mark.slow
def test_ten_seconds_of_motion_make_the_dump_give_up():
    phone = Phone(PhoneConfig(profile="android-14", flaky=False))
    phone.shell("content insert --uri content://com.qvl.notes/notes --bind title:s:x")
    phone.shell("monkey -p com.qvl.notes 1")
    assert phone.shell("uiautomator dump /sdcard/d.xml").exit_code == 0
    # A finger dragging for 12 s keeps the screen sending events the whole time.
    drag = threading.Thread(target=phone.shell, args=("input swipe 540 600 540 1900 12000",))
    drag.start()
    result = phone.shell("uiautomator dump /sdcard/d.xml")
    drag.join()
    assert (result.exit_code, result.stdout, result.stderr) == (0, b"", IDLE_ERROR.encode())
    assert phone.shell("cat /sdcard/d.xml").stdout.startswith(b"<?xml")    # the old dump
