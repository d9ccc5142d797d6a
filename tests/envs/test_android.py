"""AndroidEnv over adbutils against the virtual phone: every Action, typing, apps, failures."""

import subprocess

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.envs.actions import (
    Click, KeyPress, LongPress, OpenApp, Point, Scroll, Swipe, SystemButton, Terminate, TypeText, Wait,
)
from qvl_agent.envs.android import AndroidEnv, open_android
from qvl_agent.envs.conformance import check_env
from qvl_agent.envs.errors import ActionRejectedError, EnvDisconnectedError, EnvNotFoundError, UnsupportedActionError
from qvl_agent.envs.virtual_phone import start_virtual_phone
from qvl_agent.tasks.android.device import add_contact, find_node, query, settings_get, tap, ui_nodes

pytestmark = pytest.mark.android

NOTES = "content://com.qvl.notes/notes"


@pytest.fixture(scope="module")
def phone(virtual_phone):
    return virtual_phone


@pytest.fixture
def note_title(phone):
    """A new note's title field, focused."""
    phone.shell(["pm", "clear", "com.qvl.notes"])
    phone.execute(OpenApp(name="Notes"))
    phone.execute(tap(phone, resource_id="com.qvl.notes:id/fab"))
    phone.execute(tap(phone, resource_id="com.qvl.notes:id/title"))
    return phone


def saved_titles(phone):
    phone.execute(tap(phone, resource_id="com.qvl.notes:id/save"))
    return [r["title"] for r in query(phone, NOTES, ["title"])]


def test_observation_is_the_phone_screen(phone):
    obs = phone.observe()
    assert (obs.screen.width, obs.screen.height) == (1080, 2400) == obs.screenshot.size
    assert obs.extras["serial"] == phone.serial


def test_conformance():
    env = open_android("sim")       # a phone's real timing, as --device sim gives it
    assert check_env(env) == []
    env.close()


def test_tap_toggles_the_row_it_lands_on(phone):
    phone.shell(["svc", "wifi", "disable"])  # the radio; `settings put` would switch nothing
    phone.shell(["am", "start", "-a", "android.settings.WIFI_SETTINGS"])    # the Internet page
    phone.execute(tap(phone, text="Wi\u2011Fi"))
    assert settings_get(phone, "global", "wifi_on") == "1"
    phone.execute(Click(at=find_node(phone, text="Wi\u2011Fi").center))
    assert settings_get(phone, "global", "wifi_on") == "0"


def test_a_point_off_the_screen_is_refused_before_anything_is_sent(phone):
    phone.execute(SystemButton(button="home"))
    for x, y in ((-40, 100), (100, -3), (5000, 100)):
        with pytest.raises(ActionRejectedError, match="off the screen, which is 1080x2400"):
            phone.execute(Click(at=Point.model_construct(x=x, y=y)))
    phone.execute(Click(at=Point(x=1080, y=2400)))  # the frame's far edge: the last pixel
    assert phone.foreground_app() == "com.google.android.apps.nexuslauncher"


@pytest.mark.parametrize("text", [
    "hello world",
    "It's \"quoted\" & 50% sure; a%sb $HOME `x` (y) <z> \\ | *",
    "two  spaces and %s and %",
])
def test_typing_ascii_with_spaces_quotes_and_shell_characters(note_title, text):
    note_title.execute(TypeText(text=text))
    assert saved_titles(note_title) == [text]


def test_typing_unicode_goes_through_adb_keyboard(note_title):
    note_title.execute(TypeText(text="Grüße, café ✓"))
    assert saved_titles(note_title) == ["Grüße, café ✓"]


def test_unicode_without_adb_keyboard_says_how_to_install_it():
    with start_virtual_phone(adb_keyboard=False) as sim:
        env = AndroidEnv(sim.serial)
        env.execute(OpenApp(name="Notes"))
        env.execute(tap(env, resource_id="com.qvl.notes:id/fab"))
        env.execute(tap(env, resource_id="com.qvl.notes:id/title"))
        with pytest.raises(UnsupportedActionError, match="ADB Keyboard.*ADBKeyBoard"):
            env.execute(TypeText(text="naïve"))
        env.execute(TypeText(text="plain"))  # ASCII still works
        env.close()


def test_keys_and_system_buttons(note_title):
    phone = note_title
    phone.execute(TypeText(text="abcd"))
    phone.execute(KeyPress(keys=["backspace"]))
    phone.execute(KeyPress(keys=["KEYCODE_DEL"]))
    phone.execute(KeyPress(keys=["volume_up"]))  # adb's own key names pass through
    assert saved_titles(phone) == ["ab"]
    phone.execute(SystemButton(button="home"))
    assert phone.foreground_app() == "com.google.android.apps.nexuslauncher"
    phone.execute(OpenApp(name="Notes"))
    phone.execute(tap(phone, text="ab"))
    phone.execute(SystemButton(button="back"))
    assert find_node(phone, resource_id="com.qvl.notes:id/fab")  # back on the list
    with pytest.raises(UnsupportedActionError, match="no key 'printscreen'"):
        phone.execute(KeyPress(keys=["printscreen"]))


def test_swipe_scrolls_a_list_and_long_press_is_not_a_tap(phone):
    phone.shell(["pm", "clear", "com.android.providers.contacts"])    # a test phone's
    for i in range(30):
        add_contact(phone, f"Person {i:02d}", f"555-01{i:02d}")
    phone.execute(OpenApp(name="Contacts"))
    first = [n.text for n in ui_nodes(phone) if n.resource_id.endswith("contact_name")]
    phone.execute(Swipe(start=Point(x=540, y=1800), end=Point(x=540, y=600), seconds=0.3))
    after = [n.text for n in ui_nodes(phone) if n.resource_id.endswith("contact_name")]
    assert first[0] == "Person 00" and after[0] != "Person 00"
    row = find_node(phone, text=after[0])
    phone.execute(LongPress(at=row.center, seconds=1.0))
    assert phone.foreground_app() == "com.google.android.contacts"
    assert find_node(phone, content_desc="Create contact")  # still the list, no detail opened


@pytest.mark.parametrize("label,package", [
    ("Clock", "com.google.android.deskclock"), ("settings", "com.android.settings"),
    ("Flight booking", "com.qvl.flights"), ("com.qvl.notes", "com.qvl.notes"),
])
def test_open_app_resolves_labels_to_packages(phone, label, package):
    phone.execute(SystemButton(button="home"))
    phone.execute(OpenApp(name=label))
    assert phone.foreground_app() == package


def test_open_an_app_that_is_not_there_is_the_models_error(phone):
    with pytest.raises(ActionRejectedError, match="no app called 'Spotify'.*com.qvl.flights"):
        phone.execute(OpenApp(name="Spotify"))


def test_a_double_tap_taps_twice_and_a_right_click_is_refused(phone):
    phone.shell(["svc", "bluetooth", "disable"])
    phone.shell(["am", "start", "-a", "android.settings.BLUETOOTH_SETTINGS"])
    row = find_node(phone, text="Use Bluetooth").center
    phone.execute(Click(at=row, count=2))
    assert settings_get(phone, "global", "bluetooth_on") == "0"  # on, then off again
    with pytest.raises(UnsupportedActionError, match="no right button"):
        phone.execute(Click(at=row, button="right"))
    assert settings_get(phone, "global", "bluetooth_on") == "0"


def test_what_a_phone_cannot_do(phone):
    with pytest.raises(UnsupportedActionError):
        phone.execute(Scroll(dy=100))
    with pytest.raises(UnsupportedActionError, match="needs a coordinate"):
        phone.execute(Click())
    phone.execute(Wait(seconds=0.01))


def test_a_dropped_connection_is_a_clear_error_and_keeps_the_trajectory(tmp_path):
    from qvl_agent.agent.recorder import RunRecorder
    from qvl_agent.agent.trajectory import load_run

    sim = start_virtual_phone()
    env = AndroidEnv(sim.serial, on_close=sim.stop)

    def actions():
        yield OpenApp(name="Settings")
        sim.process.kill()  # the phone dies between two steps
        sim.process.wait()
        yield Click(at=Point(x=10, y=10))
        yield Terminate(status="success")

    trajectory = run_episode(env, ScriptedPolicy(actions()), "g", recorder=RunRecorder(tmp_path / "run"))
    env.close()
    assert trajectory.status == "error"
    assert "went away" in trajectory.meta.message and sim.serial in trajectory.meta.message
    steps = load_run(tmp_path / "run").steps
    assert len(steps) == 2 and steps[1].error_kind == "EnvDisconnectedError"  # the failed step is kept
    with pytest.raises(EnvDisconnectedError):
        AndroidEnv(sim.serial)


def test_device_choice_errors_name_what_to_do():
    with start_virtual_phone() as a, start_virtual_phone() as b:
        with pytest.raises(EnvNotFoundError, match="choose one with --device SERIAL"):
            open_android(None)
        with pytest.raises(EnvNotFoundError, match="--device sim"):
            open_android("127.0.0.1:1")
        env = open_android(a.serial)
        assert env.serial == a.serial and b.serial != a.serial
    devices = subprocess.run(["adb", "devices"], capture_output=True, text=True).stdout
    assert a.serial not in devices and b.serial not in devices  # stop() disconnected them


def test_open_env_launches_the_specs_app_and_a_failed_launch_stops_the_phone():
    """AndroidSpec.launch (an RPA script's `launch:`): package/activity with am start -n, a
    label through open_app, a URL with a VIEW intent; the phone is not left running when
    what it was asked to open cannot be opened."""
    from qvl_agent.envs.errors import EnvError
    from qvl_agent.envs.factory import open_env

    with open_env("android", device="sim") as probe:
        listed = probe.shell(["cmd", "package", "query-activities", "--brief", "-a",
                              "android.intent.action.MAIN", "-c", "android.intent.category.LAUNCHER"])
    component = next(line.strip() for line in listed.splitlines()
                     if line.strip().startswith("com.android.settings/"))
    with open_env("android", device="sim", launch=component) as env:
        assert env.foreground_app() == "com.android.settings"
        env.execute(SystemButton(button="home"))
        env.launch("Settings")
        assert env.foreground_app() == "com.android.settings"
    before = subprocess.run(["adb", "devices"], capture_output=True, text=True).stdout
    with pytest.raises(EnvError, match=r"^the phone could not open 'https://example.com/': .*VIEW"):
        open_env("android", device="sim", launch="https://example.com/")
    assert subprocess.run(["adb", "devices"], capture_output=True, text=True).stdout == before
