"""Each shell command's output in the real format, and its failures as the real tool's."""

from __future__ import annotations

import base64
import re
import time

import pytest

from qvl_agent.envs.sim import Phone, PhoneConfig
from tests.envs.sim.driver import Driver



def run(phone: Phone, line: str) -> tuple[int, str, str]:
    result = phone.shell(line)
    return result.exit_code, result.stdout.decode(), result.stderr.decode()


def test_display_and_properties(phone):
    assert run(phone, "wm size") == (0, "Physical size: 1080x2400\n", "")
    assert run(phone, "wm density") == (0, "Physical density: 420\n", "")
    assert re.findall(r"orientation=(\d+)", run(phone, "dumpsys display")[1])[:1] == ["0"]
    assert run(phone, "getprop ro.build.version.sdk")[1] == "34\n"
    assert run(phone, "getprop ro.build.version.release")[1] == "14\n"
    assert run(phone, "getprop ro.product.model")[1] == "Pixel 7\n"
    assert run(phone, "getprop ro.product.manufacturer")[1] == "Google\n"
    assert run(phone, "getprop no.such.prop")[1] == "\n"


def test_am_start_and_dumpsys_agree_on_the_foreground(phone):
    code, out, _ = run(phone, "am start -a android.intent.action.MAIN -c "
                              "android.intent.category.LAUNCHER -n com.qvl.notes/.MainActivity")
    assert code == 0 and out == (
        "Starting: Intent { act=android.intent.action.MAIN "
        "cat=[android.intent.category.LAUNCHER] cmp=com.qvl.notes/.MainActivity }\n")
    window = run(phone, "dumpsys window windows")[1]
    assert re.search(r"^  mCurrentFocus=Window\{[0-9a-f]+ u0 com\.qvl\.notes/com\.qvl\.notes\."
                     r"MainActivity\}$", window, re.M)
    assert re.search(r"^  mFocusedApp=ActivityRecord\{[0-9a-f]+ u0 com\.qvl\.notes/"
                     r"\.MainActivity t\d+\}$", window, re.M)
    activities = run(phone, "dumpsys activity activities")[1]
    assert re.search(r"^  topResumedActivity=ActivityRecord\{[0-9a-f]+ u0 "
                     r"com\.qvl\.notes/\.MainActivity t\d+\}$", activities, re.M)
    # The full class name works too, and -S starts the app afresh.
    assert run(phone, "am start -S -n com.android.settings/com.android.settings.Settings")[0] == 0
    assert "com.android.settings/" in run(phone, "dumpsys window")[1]


def test_am_start_refuses_what_does_not_exist(phone):
    assert run(phone, "am start -n com.example.nope/.Main") == (
        1, "Starting: Intent { cmp=com.example.nope/.Main }\n",
        "Error type 3\nError: Activity class {com.example.nope/com.example.nope.Main} "
        "does not exist.\n")
    assert run(phone, "am start -n com.qvl.notes/.Elsewhere")[0] == 1
    assert run(phone, "am start -a android.settings.WIFI_SETTINGS")[0] == 0
    assert "com.android.settings/" in run(phone, "dumpsys window")[1]


def test_monkey_launches_or_aborts(phone):
    code, out, _ = run(phone, "monkey -p com.google.android.deskclock -c "
                              "android.intent.category.LAUNCHER 1")
    assert code == 0 and "Events injected: 1" in out
    assert "com.google.android.deskclock/" in run(phone, "dumpsys window")[1]
    code, _, err = run(phone, "monkey -p com.example.nope -c android.intent.category.LAUNCHER 1")
    assert code != 0 and err == "** No activities found to run, monkey aborted.\n"


def test_package_manager(phone):
    packages = run(phone, "pm list packages")[1].splitlines()
    assert {"package:com.android.settings", "package:com.qvl.flights",
            "package:com.android.adbkeyboard"} <= set(packages)
    assert run(phone, "pm list packages -3 qvl")[1] == (
        "package:com.qvl.flights\npackage:com.qvl.notes\n")
    assert run(phone, "pm path com.android.settings")[1].startswith("package:/system/")
    assert run(phone, "pm path com.example.nope")[0] == 1
    assert run(phone, "pm clear com.example.nope")[0] == 1
    out = run(phone, "cmd package query-activities --brief -a android.intent.action.MAIN "
                     "-c android.intent.category.LAUNCHER")[1]
    assert out.startswith("5 activities found:\n  Activity #0:\n    priority=0")
    assert re.findall(r"^    (\S+/\S+)$", out, re.M) == [     # a Pixel's own apps
        "com.android.settings/.Settings",
        "com.google.android.contacts/com.android.contacts.activities.PeopleActivity",
        "com.google.android.deskclock/com.android.deskclock.DeskClock",
        "com.qvl.notes/.MainActivity", "com.qvl.flights/.MainActivity"]
    assert run(phone, "cmd package resolve-activity --brief com.qvl.notes")[1].endswith(
        "\ncom.qvl.notes/.MainActivity\n")


def test_settings_and_svc_share_the_keys(phone):
    assert run(phone, "settings get global no_such_key")[1] == "null\n"
    assert run(phone, "settings put system font_scale 1.15; settings get system font_scale")[1] \
        == "1.15\n"
    assert "font_scale=1.15\n" in run(phone, "settings list system")[1]
    run(phone, "svc wifi disable")
    assert run(phone, "settings get global wifi_on")[1] == "0\n"
    run(phone, "cmd wifi set-wifi-enabled enabled; svc bluetooth enable")
    assert run(phone, "settings get global wifi_on; settings get global bluetooth_on")[1] == (
        "1\n1\n")
    run(phone, "cmd connectivity airplane-mode enable")
    assert run(phone, "settings get global wifi_on; settings get global airplane_mode_on")[1] \
        == "3\n1\n"
    assert run(phone, "settings get nowhere x")[0] != 0
    assert run(phone, "svc wifi sideways")[0] != 0


def test_content_query_formats_and_where(phone):
    uri = "content://com.qvl.notes/notes"
    assert run(phone, f"content query --uri {uri}") == (0, "No result found.\n", "")
    run(phone, f"content insert --uri {uri} --bind title:s:'Buy milk' --bind body:s:'2, maybe 3'")
    run(phone, f"content insert --uri {uri} --bind title:s:Call")
    assert run(phone, f"content query --uri {uri}")[1] == (
        "Row: 0 _id=1, title=Buy milk, body=2, maybe 3\nRow: 1 _id=2, title=Call, body=\n")
    assert run(phone, f"content query --uri {uri} --projection title --where \"title='Call'\"")[1] \
        == "Row: 0 title=Call\n"
    assert run(phone, f"content query --uri {uri} --projection _id --sort 'title DESC'")[1] == (
        "Row: 0 _id=2\nRow: 1 _id=1\n")
    assert run(phone, f"content query --uri {uri}/2 --projection title")[1] == "Row: 0 title=Call\n"
    run(phone, f"content update --uri {uri} --bind body:s:now --where \"_id=2\"")
    run(phone, f"content delete --uri {uri} --where \"title LIKE 'Buy%'\"")
    assert run(phone, f"content query --uri {uri}")[1] == "Row: 0 _id=2, title=Call, body=now\n"
    code, _, err = run(phone, "content insert --uri content://com.android.deskclock/alarms "
                              "--bind hour:i:6 --bind label:n:")          # label is NOT NULL
    assert code == 0 and "NOT NULL constraint failed" in err  # content exits 0 on errors


def test_content_errors_read_like_the_real_tool(phone):
    code, _, err = run(phone, "content query --uri content://com.qvl.notes/notes "
                              "--projection nope")
    assert code == 0 and err == ("Error while accessing provider:com.qvl.notes\n"
                                 "java.lang.IllegalArgumentException: Invalid column nope\n")
    code, _, err = run(phone, "content query --uri content://com.qvl.notes/notes --where 'x ='")
    assert code == 0 and err.startswith("Error while accessing provider:com.qvl.notes\n"
                                        "android.database.sqlite.SQLiteException")
    assert "Unknown authority nowhere" in run(phone, "content query --uri content://nowhere/x")[2]
    assert run(phone, "content insert --uri content://com.qvl.notes/notes --bind title:i:x")[0] \
        == 1        # a malformed binding is a usage error before any provider is asked
    assert run(phone, "content query")[0] == 1


GBOARD = "com.google.android.inputmethod.latin/com.android.inputmethod.latin.LatinIME"


def test_ime_list_enable_set(phone):
    assert run(phone, "ime list -s")[1] == f"{GBOARD}\ncom.android.adbkeyboard/.AdbIME\n"
    assert run(phone, "settings get secure default_input_method")[1] == f"{GBOARD}\n"
    assert run(phone, "ime enable com.android.adbkeyboard/.AdbIME")[1] == (
        "Input method com.android.adbkeyboard/.AdbIME: already enabled for user #0\n")
    assert run(phone, "ime set com.android.adbkeyboard/.AdbIME") == (
        0, "Input method com.android.adbkeyboard/.AdbIME selected for user #0\n", "")
    assert run(phone, "settings get secure default_input_method")[1] == (
        "com.android.adbkeyboard/.AdbIME\n")
    assert run(phone, "ime set com.example/.Nope")[0] == 1


def open_note_editor(phone: Phone) -> Driver:
    driver = Driver(phone.shell)
    driver.sh("monkey -p com.qvl.notes 1")
    driver.tap(rid="com.qvl.notes:id/fab")
    driver.tap(rid="com.qvl.notes:id/title")
    return driver


def test_adb_keyboard_types_unicode_once_selected(phone):
    driver = open_note_editor(phone)
    broadcast = "am broadcast -a ADB_INPUT_TEXT --es msg 'Grüße 日本'"
    assert run(phone, broadcast) == (
        0, "Broadcasting: Intent { act=ADB_INPUT_TEXT flg=0x400000 (has extras) }\n"
           "Broadcast completed: result=0\n", "")
    assert driver.node(rid="com.qvl.notes:id/title").get("text") == "Title"   # not selected yet
    driver.sh("ime set com.android.adbkeyboard/.AdbIME")
    time.sleep(phone.profile.ime_bind_s)        # the keyboard's service binds
    driver.sh(broadcast)
    encoded = base64.b64encode(" ✓ ok".encode()).decode()
    driver.sh(f"am broadcast -a ADB_INPUT_B64 --es msg {encoded}")
    assert driver.node(rid="com.qvl.notes:id/title").get("text") == "Grüße 日本 ✓ ok"
    driver.sh("am broadcast -a ADB_CLEAR_TEXT")
    assert driver.node(rid="com.qvl.notes:id/title").get("text") == "Title"


def test_without_adb_keyboard_broadcasts_type_nothing():
    phone = Phone(PhoneConfig(adb_keyboard=False))
    driver = open_note_editor(phone)
    assert run(phone, "ime list -a -s")[1] == f"{GBOARD}\n"
    assert run(phone, "ime set com.android.adbkeyboard/.AdbIME")[0] == 1
    assert "package:com.android.adbkeyboard\n" not in run(phone, "pm list packages")[1]
    driver.sh("am broadcast -a ADB_INPUT_TEXT --es msg hello")
    assert driver.node(rid="com.qvl.notes:id/title").get("text") == "Title"


def test_input_text_is_ascii_only_and_literal(phone):
    driver = open_note_editor(phone)
    code, _, err = run(phone, "input text 'café'")
    assert code == 255 and "NullPointerException" in err
    driver.sh("input text \"it's%sa \\\"test\\\" & more;\"")
    assert driver.node(rid="com.qvl.notes:id/title").get("text") == 'it\'s a "test" & more;'


@pytest.mark.parametrize(("line", "message"), [
    ("input tap 100", "Error: Invalid arguments for command: tap"),
    ("input tap 1 abc", "java.lang.NumberFormatException: For input string: \"abc\""),
    ("input keyevent KEYCODE_NOPE", "Unknown keycode: KEYCODE_NOPE"),
    ("input fling 1 2", "Error: Unknown command: fling"),
    ("input", "Usage: input"),
    ("am", "usage: am"), ("pm frob", "Unknown command: frob"),
    ("screencap -x", "usage: screencap"), ("wm size 720x1280", "cannot change"),
    ("cmd nosuch", "Can't find service: nosuch"), ("ime", "usage: ime"),
    ("settings", "usage:  settings"), ("exit x", "bad number"),
])
def test_bad_arguments_fail_with_the_tools_own_message(phone, line, message):
    code, _, err = run(phone, line)
    assert code != 0 and message in err and "Traceback" not in err


def test_a_touch_off_the_screen_is_dropped_without_a_word(phone):
    x, y = Driver(phone.shell).center(desc="Notes")
    for line in ("input tap 1080 5", "input tap -5 1200", f"input swipe -3 {y} {x} {y} 50",
                 "input motionevent DOWN 540 2400"):
        assert run(phone, line) == (0, "", "")
    assert "com.google.android.apps.nexuslauncher/" in run(phone, "dumpsys window windows")[1]
    assert run(phone, f"input swipe {x} {y} {x + 1} -50 50") == (0, "", "")  # starts inside


def test_uiautomator_without_dump_prints_its_help_and_exits_0(phone):
    code, out, err = run(phone, "uiautomator frob")
    assert (code, out) == (0, "") and err.startswith("Usage: uiautomator <subcommand>")
    assert "dump: creates an XML dump of current UI hierarchy" in err


def test_floats_and_sources_are_accepted_by_input(phone):
    x, y = Driver(phone.shell).center(desc="Notes")
    assert run(phone, f"input touchscreen -d 0 tap {x}.5 {y}.25") == (0, "", "")
    assert "com.qvl.notes/" in run(phone, "dumpsys window")[1]
    assert run(phone, "input keycombination KEYCODE_CTRL_LEFT KEYCODE_HOME")[0] == 0
    assert "com.google.android.apps.nexuslauncher/" in run(phone, "dumpsys window")[1]
    for action in ("DOWN", "UP"):
        run(phone, f"input motionevent {action} {x} {y}")
    assert "com.qvl.notes/" in run(phone, "dumpsys window")[1]
