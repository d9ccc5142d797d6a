"""Each app's flow, tapped through as an agent would, checked the way a task oracle checks.

On an AOSP phone (android-9), where the apps have AOSP's names; what vendors rename and how
their Settings differ is in test_vendors.py.
"""

from __future__ import annotations

import pytest

from qvl_agent.envs.sim import Phone, PhoneConfig, booking_code, flights_for
from tests.envs.sim.driver import Driver

WIFI = "Wi\u2011Fi"


@pytest.fixture
def phone() -> Phone:
    return Phone(PhoneConfig(profile="android-9", animations=False, flaky=False))


PHONES = "content://com.android.contacts/data/phones"
ALARMS = "content://com.android.deskclock/alarms"
NOTES = "content://com.qvl.notes/notes"
BOOKINGS = "content://com.qvl.flights/bookings"


def open_app(driver: Driver, package: str) -> None:
    driver.sh(f"monkey -p {package} -c android.intent.category.LAUNCHER 1")


def test_the_home_screen_opens_apps_from_their_icons(driver):
    assert driver.focus().startswith("com.android.launcher3/")
    assert [n.get("text") for n in driver.nodes(rid="com.android.launcher3:id/icon_label")] == [
        "Settings", "Contacts", "Clock", "Notes", "Flights"]
    driver.tap(desc="Clock")
    assert driver.focus() == "com.android.deskclock/com.android.deskclock.DeskClock"
    assert driver.nodes(text="Alarms")


def radio(driver: Driver, key: str) -> str:
    return driver.sh(f"settings get global {key}").strip()


def switch_of(driver: Driver, title: str):
    """The switch on the row titled ``title`` (the one whose bounds share the row's)."""
    row_top = driver.bounds(driver.node(rid="android:id/title", text=title))[1]
    return min(driver.nodes(rid="android:id/switch_widget"),
               key=lambda node: abs(driver.bounds(node)[1] - row_top))


def test_wifi_has_a_switch_on_the_network_page_and_a_switch_bar_on_its_own(driver):
    open_app(driver, "com.android.settings")
    assert driver.texts("android:id/title")[:2] == ["Network & internet", "Connected devices"]
    driver.tap(text="Network & internet")
    left, top, right, bottom = driver.bounds(switch_of(driver, WIFI))
    driver.sh(f"input tap {(left + right) // 2} {(top + bottom) // 2}")    # the row's switch
    assert radio(driver, "wifi_on") == "1"
    assert switch_of(driver, WIFI).get("checked") == "true"
    driver.tap(text=WIFI)                                   # the row's text opens the page
    assert driver.node(rid="com.android.settings:id/switch_text").get("text") == "On"
    driver.tap(rid="com.android.settings:id/switch_bar")
    assert radio(driver, "wifi_on") == "0"
    assert driver.node(rid="com.android.settings:id/switch_text").get("text") == "Off"


def test_bluetooth_is_under_connection_preferences(driver):
    open_app(driver, "com.android.settings")
    driver.tap(text="Connected devices")
    driver.tap(text="Connection preferences")
    assert driver.texts("android:id/summary")[0] == "Off"
    driver.tap(text="Bluetooth")
    driver.tap(rid="com.android.settings:id/switch_bar")
    assert radio(driver, "bluetooth_on") == "1"
    driver.sh("input keyevent BACK")
    assert driver.texts("android:id/summary")[0] == "On"


def test_the_system_intents_open_their_pages(driver):
    driver.sh("am start -a android.settings.BLUETOOTH_SETTINGS")
    assert driver.node(rid="com.android.settings:id/switch_bar")
    assert driver.texts("android:id/title")[0] == "Device name"
    driver.sh("am start -a android.settings.AIRPLANE_MODE_SETTINGS")
    driver.tap(text="Airplane mode")
    assert radio(driver, "airplane_mode_on") == "1"
    driver.sh("input keyevent BACK; input keyevent BACK")   # the pages close one by one
    assert driver.focus().startswith("com.android.launcher3/")


def test_airplane_mode_takes_the_radios_down_and_brings_them_back(driver):
    driver.sh("svc bluetooth enable; svc wifi enable")
    driver.sh("am start -a android.settings.AIRPLANE_MODE_SETTINGS")
    driver.tap(text="Airplane mode")
    state = {k: radio(driver, k) for k in ("airplane_mode_on", "wifi_on", "bluetooth_on")}
    # "3": Wi-Fi off because of airplane mode (WIFI_DISABLED_AIRPLANE_ON); "2": Bluetooth
    # on before airplane mode and off now (BLUETOOTH_ON_AIRPLANE), as on a phone.
    assert state == {"airplane_mode_on": "1", "wifi_on": "3", "bluetooth_on": "2"}
    driver.tap(text="Airplane mode")
    assert [radio(driver, k) for k in ("airplane_mode_on", "wifi_on", "bluetooth_on")] == [
        "0", "1", "1"]
    driver.sh("svc bluetooth disable; cmd connectivity airplane-mode enable")
    assert radio(driver, "bluetooth_on") == "0"             # off before, so nothing to restore
    driver.sh("cmd connectivity airplane-mode disable")
    assert radio(driver, "bluetooth_on") == "0"


def test_a_contact_added_in_the_app_is_in_the_provider(driver):
    open_app(driver, "com.android.contacts")
    assert driver.texts("com.android.contacts:id/empty") == ["No contacts"]
    driver.tap(desc="Create contact")
    driver.fill("com.android.contacts:id/name_field", "Ada Lovelace")
    driver.fill("com.android.contacts:id/phone_field", "+44 20 7946 0018")
    driver.tap(rid="com.android.contacts:id/save")
    assert driver.query(PHONES, "_id:display_name:data1:number") == [
        {"_id": "2", "display_name": "Ada Lovelace", "data1": "+44 20 7946 0018",
         "number": "+44 20 7946 0018"}]
    assert driver.query("content://contacts/phones", "name:number") == [
        {"name": "Ada Lovelace", "number": "+44 20 7946 0018"}]
    driver.tap(rid="com.android.contacts:id/contact_name", text="Ada Lovelace")
    assert driver.texts("com.android.contacts:id/detail_number") == ["+44 20 7946 0018"]


def test_a_contact_without_a_name_is_not_saved(driver):
    open_app(driver, "com.android.contacts")
    driver.tap(rid="com.android.contacts:id/fab")
    driver.fill("com.android.contacts:id/phone_field", "555")
    driver.tap(rid="com.android.contacts:id/save")
    assert driver.texts("com.android.contacts:id/error") == ["Name is required"]
    assert driver.query(PHONES, "_id") == []
    assert driver.node(rid="com.android.contacts:id/name_field").get("text") == "Name"  # hint


def test_seeded_contacts_are_listed_by_name(driver):
    raw, data = "content://com.android.contacts/raw_contacts", "content://com.android.contacts/data"
    for number, name in enumerate(("bob", "Carol", "Alice"), 1):
        driver.sh(f"content insert --uri {raw} --bind account_name:n: --bind account_type:n:")
        driver.sh(f"content insert --uri {data} --bind raw_contact_id:i:{number} "
                  f"--bind mimetype:s:vnd.android.cursor.item/name --bind data1:s:{name}")
        driver.sh(f"content insert --uri {data} --bind raw_contact_id:i:{number} "
                  f"--bind mimetype:s:vnd.android.cursor.item/phone_v2 --bind data1:s:{number}")
    open_app(driver, "com.android.contacts")
    assert driver.texts("com.android.contacts:id/contact_name") == ["Alice", "bob", "Carol"]
    assert driver.query(PHONES, "display_name:number") == [
        {"display_name": "bob", "number": "1"}, {"display_name": "Carol", "number": "2"},
        {"display_name": "Alice", "number": "3"}]


def test_the_contacts_provider_refuses_what_a_real_one_refuses(driver):
    result = driver.run(f"content insert --uri {PHONES} --bind display_name:s:Eve "
                        "--bind number:s:1")
    # Exit code 0, as the real tool: only the output tells.
    assert result.exit_code == 0 and result.stderr.decode() == (
        "Error while accessing provider:com.android.contacts\n"
        f"java.lang.UnsupportedOperationException: Unknown uri: {PHONES}\n")
    result = driver.run("content insert --uri content://com.android.contacts/data "
                        "--bind data1:s:555 --bind raw_contact_id:i:1")
    assert b"mimetype is required" in result.stderr
    assert driver.query(PHONES, "_id") == []
    driver.sh("pm clear com.android.contacts")      # the app, not the provider's data
    driver.sh("content insert --uri content://com.android.contacts/raw_contacts "
              "--bind account_name:n:")
    assert driver.query("content://com.android.contacts/raw_contacts", "_id") == [{"_id": "1"}]
    driver.sh("pm clear com.android.providers.contacts")
    assert driver.query("content://com.android.contacts/raw_contacts", "_id") == []


def test_an_alarm_set_in_the_app_is_in_the_provider_and_its_switch_works(driver):
    open_app(driver, "com.android.deskclock")
    driver.tap(desc="Add alarm")
    driver.fill("com.android.deskclock:id/hour", "7")
    driver.fill("com.android.deskclock:id/minute", "30")
    driver.fill("com.android.deskclock:id/label", "Gym day")
    driver.tap(rid="com.android.deskclock:id/save")
    assert driver.query(ALARMS, "hour:minutes:enabled:label") == [
        {"hour": "7", "minutes": "30", "enabled": "1", "label": "Gym day"}]
    assert driver.texts("com.android.deskclock:id/digital_clock") == ["07:30"]
    assert driver.node(rid="com.android.deskclock:id/onoff").get("checked") == "true"
    driver.tap(rid="com.android.deskclock:id/onoff")
    assert driver.query(ALARMS, "enabled") == [{"enabled": "0"}]


@pytest.mark.parametrize(("hour", "minute"), [("24", "00"), ("7", "60"), ("7a", "5"), ("", "5"),
                                              ("123", "1")])
def test_an_invalid_alarm_time_is_refused(driver, hour, minute):
    open_app(driver, "com.android.deskclock")
    driver.tap(rid="com.android.deskclock:id/fab")
    if hour:
        driver.fill("com.android.deskclock:id/hour", hour)
    driver.fill("com.android.deskclock:id/minute", minute)
    driver.tap(rid="com.android.deskclock:id/save")
    assert driver.texts("com.android.deskclock:id/error") == ["Invalid time"]
    assert driver.query(ALARMS, "_id") == []


def test_a_note_is_created_then_edited_in_place(driver):
    open_app(driver, "com.qvl.notes")
    driver.tap(desc="New note")
    driver.fill("com.qvl.notes:id/title", "Shopping")
    driver.fill("com.qvl.notes:id/body", "eggs & milk; bread")
    driver.tap(rid="com.qvl.notes:id/save")
    assert driver.query(NOTES, "_id:title:body") == [
        {"_id": "1", "title": "Shopping", "body": "eggs & milk; bread"}]
    driver.tap(rid="com.qvl.notes:id/note_title", text="Shopping")
    assert driver.node(rid="com.qvl.notes:id/title").get("text") == "Shopping"
    driver.tap(rid="com.qvl.notes:id/title")
    driver.sh("input keyevent DEL DEL DEL DEL")
    driver.type(" list")
    driver.tap(rid="com.qvl.notes:id/save")
    assert driver.query(NOTES, "_id:title") == [{"_id": "1", "title": "Shop list"}]
    assert driver.texts("com.qvl.notes:id/note_title") == ["Shop list"]


def test_a_flight_is_searched_and_booked(driver):
    expected = flights_for("Berlin", "Paris", "2025-03-14")
    open_app(driver, "com.qvl.flights")
    driver.fill("com.qvl.flights:id/from", "berlin")
    driver.fill("com.qvl.flights:id/to", "PARIS")
    driver.fill("com.qvl.flights:id/date", "2025-03-14")
    driver.tap(rid="com.qvl.flights:id/search")
    assert driver.nodes(text="Berlin → Paris, 2025-03-14")
    assert driver.texts("com.qvl.flights:id/flight_number") == [f.number for f in expected]
    assert driver.texts("com.qvl.flights:id/price") == [f.price_text for f in expected]
    rows = driver.nodes(rid="com.qvl.flights:id/flight_row")
    assert len(rows) == len(expected) and all(r.get("clickable") == "true" for r in rows)
    chosen = expected[1]
    driver.tap(rid="com.qvl.flights:id/flight_number", text=chosen.number)
    driver.tap(rid="com.qvl.flights:id/book")
    assert driver.nodes(text="Booking confirmed")
    code = booking_code(chosen, 1)
    assert driver.texts("com.qvl.flights:id/code") == [f"Code: {code}"]
    assert driver.query(BOOKINGS, "origin:destination:date:flight:price:code") == [
        {"origin": "Berlin", "destination": "Paris", "date": "2025-03-14",
         "flight": chosen.number, "price": str(chosen.price), "code": code}]


@pytest.mark.parametrize(("origin", "destination", "date"), [
    ("Berlin", "Atlantis", "2025-03-14"), ("Berlin", "Paris", "2025-02-30"),
    ("Berlin", "Paris", "14.03.2025"), ("Rome", "rome", "2025-03-14"),
])
def test_a_search_that_finds_nothing_says_so(driver, origin, destination, date):
    open_app(driver, "com.qvl.flights")
    for rid, text in (("from", origin), ("to", destination), ("date", date)):
        driver.fill(f"com.qvl.flights:id/{rid}", text)
    driver.tap(rid="com.qvl.flights:id/search")
    assert driver.texts("com.qvl.flights:id/empty") == ["No flights found"]
    assert driver.nodes(rid="com.qvl.flights:id/flight_row") == []


def test_keys_follow_the_focus_model(driver):
    open_app(driver, "com.qvl.notes")
    driver.tap(rid="com.qvl.notes:id/fab")
    driver.type("lost")                                     # nothing has focus yet
    title = "com.qvl.notes:id/title"
    assert driver.node(rid=title).get("text") == "Title"    # still the hint
    driver.tap(rid=title)
    assert driver.node(rid=title).get("focused") == "true"
    driver.type("abc")
    driver.sh("input keyevent KEYCODE_DEL")
    driver.sh("input keyevent 67 FORWARD_DEL")
    driver.sh("input keyevent SPACE")
    driver.sh("input keyevent KEYCODE_Z 7")               # 7 is KEYCODE_0
    assert driver.node(rid=title).get("text") == " z0"
    driver.sh("input keyevent ENTER")
    assert driver.node(rid="com.qvl.notes:id/body").get("focused") == "true"
    driver.sh("input keyevent BACK")                        # hides the keyboard
    assert [n for n in driver.nodes(focused="true")] == []
    assert driver.focus().startswith("com.qvl.notes/")
    driver.sh("input keyevent BACK")                        # closes the editor
    assert driver.nodes(rid="com.qvl.notes:id/fab")
    driver.sh("input keyevent BACK")                        # leaves the app
    assert driver.focus().startswith("com.android.launcher3/")


def test_home_keeps_the_app_where_it_was_and_the_nav_bar_works(driver):
    open_app(driver, "com.android.contacts")
    driver.tap(rid="com.android.contacts:id/fab")
    driver.fill("com.android.contacts:id/name_field", "Half typed")
    driver.sh("input keyevent HOME")
    assert driver.focus().startswith("com.android.launcher3/")
    open_app(driver, "com.android.contacts")
    assert driver.node(rid="com.android.contacts:id/name_field").get("text") == "Half typed"
    driver.sh("input keyevent BACK")
    driver.sh("input tap 270 2330")                         # the nav bar's back button
    assert driver.nodes(rid="com.android.contacts:id/fab")
    driver.sh("input tap 540 2330")                         # home
    assert driver.focus().startswith("com.android.launcher3/")
    driver.sh("am force-stop com.android.contacts")
    open_app(driver, "com.android.contacts")
    assert driver.nodes(rid="com.android.contacts:id/fab")  # a fresh start


def test_a_long_list_scrolls_by_swiping(driver):
    for number in range(30):
        driver.sh(f"content insert --uri {NOTES} --bind title:s:'Note {number:02d}'")
    open_app(driver, "com.qvl.notes")
    first_page = driver.texts("com.qvl.notes:id/note_title")
    assert first_page[0] == "Note 00" and len(first_page) < 30
    assert driver.node(rid="com.qvl.notes:id/note_list").get("scrollable") == "true"
    driver.sh("input swipe 540 1800 540 600 300")
    second_page = driver.texts("com.qvl.notes:id/note_title")
    assert second_page[0] == f"Note {len(second_page) and 6:02d}"   # 1200 px = 6 rows of 200
    for _ in range(5):
        driver.sh("input swipe 540 1800 540 400 300")
    assert driver.texts("com.qvl.notes:id/note_title")[-1] == "Note 29"
    driver.tap(rid="com.qvl.notes:id/note_title", text="Note 29")
    assert driver.node(rid="com.qvl.notes:id/title").get("text") == "Note 29"
    driver.sh("input keyevent BACK")
    driver.sh("input swipe 540 600 540 2200 300")                   # back towards the top
    assert driver.texts("com.qvl.notes:id/note_title")[0] != "Note 29"


def test_a_long_press_is_not_a_tap(driver):
    x, y = driver.center(desc="Notes")
    driver.sh(f"input swipe {x} {y} {x + 2} {y} 800")
    assert driver.focus().startswith("com.android.launcher3/")
    driver.sh(f"input swipe {x} {y} {x + 2} {y} 50")                # a short one is a tap
    assert driver.focus().startswith("com.qvl.notes/")


def test_pm_clear_empties_the_app_and_closes_it(driver):
    driver.sh(f"content insert --uri {NOTES} --bind title:s:Old")
    open_app(driver, "com.qvl.notes")
    assert driver.sh("pm clear com.qvl.notes") == "Success\n"
    assert driver.focus().startswith("com.android.launcher3/")
    assert driver.query(NOTES, "_id") == []
    driver.sh(f"content insert --uri {NOTES} --bind title:s:New")
    assert driver.query(NOTES, "_id:title") == [{"_id": "1", "title": "New"}]
