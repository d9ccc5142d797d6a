"""The driver against each real-phone quirk, through the real adb server.

Each virtual phone profile behaves like a release of Android where the driver cares
(``envs.sim.profiles``); every test first shows the quirk is there (the raw command misbehaves
as on a phone), then that ``AndroidEnv`` copes. Each test talks only to the phone it started
(by serial): other phones may be connected to the shared adb server. The module's phones
have a phone's real timing (animations, uiautomator's idle wait) unless a test says so.
"""

from __future__ import annotations

import io
import re
import time

import pytest
from PIL import Image, ImageChops

from qvl_agent.envs.actions import KeyPress, OpenApp, TypeText
from qvl_agent.envs.android import AndroidEnv, png_in
from qvl_agent.envs.errors import EnvError, TaskError, UnsupportedActionError
from qvl_agent.envs.virtual_phone import start_virtual_phone
from qvl_agent.tasks.android.device import (
    PHONES, add_contact, clear_app, find_node, insert, query, radio_on, set_radio, tap, ui_nodes,
)

pytestmark = pytest.mark.android

LATIN = "com.android.inputmethod.latin/.LatinIME"
GBOARD = "com.google.android.inputmethod.latin/com.android.inputmethod.latin.LatinIME"
ADB_IME = "com.android.adbkeyboard/.AdbIME"


@pytest.fixture(scope="module")
def phones():
    """One phone per profile for the whole module, started on first use (``fast``: one with
    instant timing, for tests whose quirk is not about time)."""
    started: dict[tuple[str, bool], tuple[object, AndroidEnv]] = {}

    def get(profile: str, *, fast: bool = False) -> AndroidEnv:
        if (profile, fast) not in started:
            process = start_virtual_phone(profile=profile, animations=not fast)
            started[profile, fast] = (process, AndroidEnv(process.serial))
        return started[profile, fast][1]

    yield get
    for process, env in started.values():
        env.close()
        process.stop()  # type: ignore[attr-defined]


def raw(env: AndroidEnv, command: str) -> str:
    """A command as a script would send it, with no help from the driver."""
    return env.shell(command, check=False)


def note_title(env: AndroidEnv) -> None:
    """A new, empty note with its title field focused."""
    clear_app(env, "com.qvl.notes")
    env.execute(OpenApp(name="Notes"))
    env.execute(tap(env, resource_id="com.qvl.notes:id/fab"))
    env.execute(tap(env, resource_id="com.qvl.notes:id/title"))


def title_text(env: AndroidEnv) -> str:
    return find_node(env, resource_id="com.qvl.notes:id/title").text


def test_each_profile_reports_its_release_and_model(phones):
    for profile, sdk, model in (("android-9", "28", "QVL Phone 9"),
                                ("android-11", "30", "QVL Phone 11"),
                                ("android-14", "34", "Pixel 7"), ("samsung-11", "30", "SM-G991U")):
        env = phones(profile, fast=True)
        assert (env.device_info["sdk"], env.device_info["model"]) == (sdk, model)
        assert env.sdk == int(sdk)


def test_text_before_the_png_is_dropped(phones):
    env = phones("android-14", fast=True)       # a phone with two displays
    output = env._exec(["screencap", "-p"])
    assert output.startswith(b"[Warning] Multiple displays were found")
    image = env.observe().screenshot
    assert image.size == (1080, 2400)
    with pytest.raises(EnvError, match="did not return a PNG.*Permission denied"):
        png_in(b"screencap: Permission denied\n", env.serial)


@pytest.mark.slow
def test_an_observation_waits_for_the_screen_to_stop_moving(phones):
    env = phones("android-9")       # half a second of animation after each input
    env.execute(OpenApp(name="Settings"))
    # The quirk: straight after an input, two captures differ (the screen is moving).
    env.shell(["input", "keyevent", "KEYCODE_HOME"])
    moving = [env.capture() for _ in range(2)]
    assert moving[0] != moving[1]
    time.sleep(1.0)
    # The driver: the frame it observes after an action is the final, still one.
    env.execute(OpenApp(name="Settings"))
    observed = env.observe().screenshot
    time.sleep(1.0)
    final = Image.open(io.BytesIO(env.capture())).convert("RGB")
    assert ImageChops.difference(observed, final).getbbox() is None


def test_an_observation_after_a_task_setup_shows_the_setup_not_the_last_action(phones):
    env = phones("android-9")
    env.execute(OpenApp(name="Settings"))        # leaves a still frame of Settings
    env.shell(["input", "keyevent", "KEYCODE_HOME"])  # a task's setup goes home
    observed = env.observe().screenshot
    time.sleep(1.0)
    final = Image.open(io.BytesIO(env.capture())).convert("RGB")
    assert ImageChops.difference(observed, final).getbbox() is None   # home, settled


def test_a_dump_waits_for_the_moving_screen_and_is_never_stale(phones):
    env = phones("android-9")
    env.execute(OpenApp(name="Settings"))
    assert find_node(env, text="Network & internet")   # the dump file now shows Settings
    env.shell(["input", "keyevent", "KEYCODE_HOME"])     # no settling: the screen moves
    said = raw(env, "uiautomator dump /sdcard/qvl_window_dump.xml")
    assert said == "UI hierchary dumped to: /sdcard/qvl_window_dump.xml\n"  # it waited
    texts = [node.text for node in ui_nodes(env)]
    assert "Network & internet" not in texts and "Notes" in texts


def test_key_combinations_need_android_13(phones):
    for profile in ("android-9", "android-11"):
        env = phones(profile, fast=True)
        output = raw(env, "input keycombination KEYCODE_CTRL_LEFT KEYCODE_A; echo exit=$?")
        assert "Error: Unknown command: keycombination" in output and "exit=0" in output
        with pytest.raises(UnsupportedActionError, match="needs Android 13"):
            env.execute(KeyPress(keys=["ctrl", "a"]))
        # A phone whose getprop gave no SDK: the driver tries, and the old `input`'s
        # "Unknown command" (with exit status 0) is the refusal.
        known, env.sdk = env.sdk, 0
        try:
            with pytest.raises(UnsupportedActionError, match="needs Android 13; this is SDK 0"):
                env.execute(KeyPress(keys=["ctrl", "a"]))
        finally:
            env.sdk = known
    env = phones("android-14", fast=True)
    note_title(env)
    env.execute(TypeText(text="ab"))
    env.execute(KeyPress(keys=["shift", "backspace"]))  # Shift+DEL still deletes a character
    assert title_text(env) == "a"
    env.execute(KeyPress(keys=["ctrl", "a"]))           # selects all: typing replaces it
    env.execute(TypeText(text="new"))
    assert title_text(env) == "new"


def test_an_override_size_is_the_screen_the_driver_uses(phones):
    env = phones("android-11", fast=True)
    assert raw(env, "wm size") == "Physical size: 1080x2400\nOverride size: 720x1600\n"
    assert (env.screen.width, env.screen.height) == (720, 1600)
    assert env.observe().screenshot.size == (720, 1600)
    set_radio(env, "airplane_mode_on", False)
    env.shell(["am", "start", "-a", "android.settings.AIRPLANE_MODE_SETTINGS"])
    row = find_node(env, text="Airplane mode")
    assert row.bounds[2] <= 720                    # the dump is in the override's pixels
    env.execute(tap(env, text="Airplane mode"))    # and a tap there lands on the row
    assert radio_on(env, "airplane_mode_on")
    set_radio(env, "airplane_mode_on", False)


@pytest.mark.slow
def test_adb_keyboard_installed_but_not_enabled_is_enabled_used_and_put_back():
    with start_virtual_phone(profile="android-11") as process:
        env = AndroidEnv(process.serial)
        assert ADB_IME not in raw(env, "ime list -s").split()
        assert ADB_IME in raw(env, "ime list -a -s").split()
        note_title(env)
        long = "Grüße aus Köln, 東京 ✓ " * 25         # 525 characters: three broadcasts
        env.execute(TypeText(text=long))
        assert title_text(env) == long
        assert raw(env, "settings get secure default_input_method").strip() == ADB_IME
        env.close()
        after = AndroidEnv(process.serial)
        assert after.shell(["settings", "get", "secure", "default_input_method"]).strip() == LATIN
        assert ADB_IME not in raw(after, "ime list -s").split()   # disabled again


def test_a_broadcast_before_the_keyboard_binds_is_lost_and_sent_again(phones):
    env = phones("android-14")
    note_title(env)
    # The quirk: straight after `ime set`, the receiver is not there yet; `am` still says 0.
    raw(env, f"ime set {ADB_IME}")
    said = raw(env, "am broadcast -a ADB_INPUT_TEXT --es msg lost")
    assert "result=0" in said
    assert title_text(env) == "Title"              # nothing typed (the hint shows)
    raw(env, f"ime set {GBOARD}")
    # The driver waits for the binding and checks that the text arrived.
    env.execute(TypeText(text="naïve"))
    assert title_text(env) == "naïve"
    env.keyboard.restore()


def test_the_resumed_activity_line_differs_by_release_and_the_driver_reads_each(phones):
    lines = {"android-9": r"^\s+mResumedActivity: ActivityRecord",
             "android-11": r"^\s+ResumedActivity: ActivityRecord",
             "android-14": r"^\s+topResumedActivity=ActivityRecord"}
    for profile, line in lines.items():
        env = phones(profile, fast=True)
        env.execute(OpenApp(name="Clock"))
        dump = raw(env, "dumpsys activity activities")
        assert re.search(line, dump, re.M)
        assert sum(bool(re.search(other, dump, re.M)) for other in lines.values()) == 1
        assert env.foreground_app() in ("com.android.deskclock", "com.google.android.deskclock")


def test_a_radio_follows_svc_not_settings_put(phones):
    env = phones("android-14", fast=True)
    set_radio(env, "wifi_on", False)
    raw(env, "settings put global wifi_on 1")      # stores a value; switches nothing
    env.shell(["am", "start", "-a", "android.settings.WIFI_SETTINGS"])
    assert raw(env, "cmd wifi status").strip() == "Wifi is disabled"
    summaries = [n.text for n in ui_nodes(env) if n.resource_id == "android:id/summary"]
    assert summaries[0] == "Off"                   # the screen shows the radio
    set_radio(env, "wifi_on", True)
    assert raw(env, "cmd wifi status").strip() == "Wifi is enabled"
    set_radio(env, "airplane_mode_on", True)
    assert raw(env, "settings get global wifi_on").strip() == "3"   # off for airplane mode
    assert not radio_on(env, "wifi_on")
    set_radio(env, "airplane_mode_on", False)
    assert radio_on(env, "wifi_on")


def test_bluetooth_on_before_airplane_mode_counts_as_off_until_it_ends(phones):
    env = phones("android-14", fast=True)
    set_radio(env, "airplane_mode_on", False)
    set_radio(env, "bluetooth_on", True)
    set_radio(env, "airplane_mode_on", True)
    assert raw(env, "settings get global bluetooth_on").strip() == "2"
    assert not radio_on(env, "bluetooth_on")        # "2": it was on, it is off now
    set_radio(env, "airplane_mode_on", False)
    assert raw(env, "settings get global bluetooth_on").strip() == "1"
    assert radio_on(env, "bluetooth_on")


def test_content_errors_exit_0_and_still_fail_loudly(phones):
    env = phones("android-14", fast=True)
    said = raw(env, f"content insert --uri {PHONES} --bind display_name:s:Eve; echo exit=$?")
    assert "Error while accessing provider" in said and "exit=0" in said
    with pytest.raises(TaskError, match="Unknown uri"):
        insert(env, PHONES, display_name="Eve", data1="555")
    with pytest.raises(TaskError, match="Invalid column"):
        query(env, PHONES, ["no_such_column"])
    clear_app(env, "com.android.providers.contacts")
    add_contact(env, "Ada Lovelace", "555-0100")
    assert query(env, PHONES, ["display_name", "data1"]) == [
        {"display_name": "Ada Lovelace", "data1": "555-0100"}]


def test_every_run_records_the_phones_release_and_model(phones, tmp_path):
    from qvl_agent.agent.loop import run_episode
    from qvl_agent.agent.policy import ScriptedPolicy
    from qvl_agent.agent.recorder import RunRecorder
    from qvl_agent.agent.trajectory import load_run
    from qvl_agent.envs.actions import Terminate

    env = phones("android-11", fast=True)
    run_episode(env, ScriptedPolicy([OpenApp(name="Clock"), Terminate(status="success")]), "g",
                recorder=RunRecorder(tmp_path / "run"))
    device = load_run(tmp_path / "run").meta.options["device"]
    assert device == {"serial": env.serial, "sdk": "30", "release": "11", "model": "QVL Phone 11"}


def test_a_phone_that_slept_and_locked_is_woken_unlocked_and_kept_on(phones):
    phone = phones("samsung-11", fast=True)
    raw(phone, "settings put global stay_on_while_plugged_in 0")     # the owner's setting
    raw(phone, "input keyevent KEYCODE_SLEEP")
    # The quirk: asleep and locked, a phone answers captures with black and dumps with no window.
    assert "mWakefulness=Asleep" in raw(phone, "dumpsys power")
    assert "      showing=true" in raw(phone, "dumpsys window policy")
    assert "null root node" in raw(phone, "uiautomator dump")
    assert raw(phone, "settings get global stay_on_while_plugged_in").strip() == "0"
    env = AndroidEnv(phone.serial)          # what each episode's setup does too
    assert "mWakefulness=Awake" in raw(env, "dumpsys power")
    assert "      showing=false" in raw(env, "dumpsys window policy")
    assert raw(env, "settings get global stay_on_while_plugged_in").strip() == "7"
    assert env.observe().screenshot.convert("L").getbbox() is not None
    env.close()                              # stay-on as it was before
    assert raw(phone, "settings get global stay_on_while_plugged_in").strip() == "0"


def test_the_screen_going_off_mid_episode_is_woken_before_the_next_look(phones):
    env = phones("android-9", fast=True)
    env.execute(OpenApp(name="Notes"))
    raw(env, "input keyevent KEYCODE_POWER")        # someone presses the power button
    observation = env.observe()
    assert observation.screenshot.convert("L").getbbox() is not None
    assert observation.extras["app"] == "com.qvl.notes"
    assert "      showing=false" in raw(env, "dumpsys window policy")


def test_a_pin_locked_phone_is_one_clear_error_and_no_blind_taps():
    with start_virtual_phone(pin="1234", animations=False) as process:
        with pytest.raises(EnvError, match=r"locked with a PIN, pattern or password: unlock "
                                           r"it .* never types a phone's PIN"):
            AndroidEnv(process.serial)
        look = AndroidEnv(process.serial, wake=False)
        assert "      showing=true" in raw(look, "dumpsys window policy")
        assert "Enter PIN" not in look.ui_xml()          # the PIN pad was never opened
        raw(look, "locksettings clear --old 1234")
        AndroidEnv(process.serial).close()               # no PIN: it unlocks


def test_a_black_screen_on_an_awake_unlocked_phone_is_one_clear_error(phones, monkeypatch):
    env = phones("android-14", fast=True)
    raw(env, "input keyevent KEYCODE_SLEEP")
    black = env.capture()                   # what the phone sends while its display is off
    env.wake()
    # An app that forbids screenshots (FLAG_SECURE) gets the same frame while awake.
    monkeypatch.setattr(env, "capture", lambda: black)
    with pytest.raises(EnvError, match=r"black although the phone says it is awake and "
                                       r"unlocked: .*FLAG_SECURE"):
        env.observe()


def _seed_whose_dumps_go(*wanted: str) -> int:
    """A seed whose first dumps fail (or not) as ``wanted``: outcomes are seeded per dump."""
    from qvl_agent.envs.sim.tools.screen import planned_outcome

    for seed in range(200000):
        if [planned_outcome(seed, n)[0] for n in range(len(wanted))] == list(wanted):
            return seed
    raise AssertionError(f"no seed gives {wanted}")


def test_uiautomator_failures_are_retried_within_the_budget(monkeypatch):
    import qvl_agent.envs.uiautomator as uiautomator

    seed = _seed_whose_dumps_go("registered", "null_root", "ok")
    with start_virtual_phone(animations=False, seed=seed) as process:
        env = AndroidEnv(process.serial)
        assert "<hierarchy" in env.ui_xml()              # the third try
        assert "already registered!" in raw(env, "logcat -d -b crash")
        monkeypatch.setattr(uiautomator, "DUMP_TRIES", 1)
        env2 = AndroidEnv(process.serial)
        # The phone's dumps go on from its fifth; find one that fails for the short budget.
        while True:
            try:
                env2.ui_xml()
            except EnvError as exc:
                assert re.search(r"uiautomator dump failed 1 times in \d+ s \((uiautomator was "
                                 r"killed: is another UI automation|no window had the focus)",
                                 str(exc))
                break
        env.close()
        env2.close()
