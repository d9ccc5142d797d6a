"""Vendors: a Pixel ships Google's apps and keyboard, a Galaxy Samsung's, each with its own
Settings; the providers' URIs stay AOSP's."""

from __future__ import annotations

import pytest

from qvl_agent.envs.sim import Phone, PhoneConfig
from tests.envs.sim.driver import Driver

NBH = "\u2011"


def phone_of(profile: str) -> tuple[Phone, Driver]:
    phone = Phone(PhoneConfig(profile=profile, animations=False, flaky=False))
    return phone, Driver(phone.shell)


def packages(driver: Driver) -> set[str]:
    return {line.removeprefix("package:") for line in driver.sh("pm list packages").split()}


def test_a_pixel_ships_googles_apps_keyboard_and_launcher():
    phone, driver = phone_of("android-14")
    assert {"com.google.android.apps.nexuslauncher", "com.google.android.contacts",
            "com.google.android.deskclock", "com.google.android.inputmethod.latin",
            "com.android.providers.contacts"} <= packages(driver)
    assert not {"com.android.launcher3", "com.android.contacts", "com.android.deskclock"} & \
        packages(driver)
    assert driver.sh("getprop ro.product.manufacturer; getprop ro.product.model") == \
        "Google\nPixel 7\n"
    assert driver.focus() == ("com.google.android.apps.nexuslauncher/"
                              "com.google.android.apps.nexuslauncher.NexusLauncherActivity")
    driver.tap(desc="Clock")
    assert driver.focus() == "com.google.android.deskclock/com.android.deskclock.DeskClock"
    assert driver.nodes(rid="com.google.android.deskclock:id/fab")      # its own resource ids
    assert driver.sh("settings get secure default_input_method") == (
        "com.google.android.inputmethod.latin/com.android.inputmethod.latin.LatinIME\n")


def test_a_pixels_settings_keep_wifi_under_network_and_internet_then_internet():
    _, driver = phone_of("android-14")
    driver.sh("monkey -p com.android.settings 1")
    assert driver.texts("android:id/title")[:2] == ["Network & internet", "Connected devices"]
    driver.tap(text="Network & internet")
    assert f"Wi{NBH}Fi" not in driver.texts("android:id/title")
    driver.tap(text="Internet")
    driver.tap(text=f"Wi{NBH}Fi")                           # the row is the switch here
    assert driver.sh("settings get global wifi_on") == "1\n"


def test_a_galaxy_ships_samsungs_apps_and_a_provider_pm_clear_cannot_empty():
    _, driver = phone_of("samsung-11")
    assert {"com.sec.android.app.launcher", "com.samsung.android.app.contacts",
            "com.samsung.android.providers.contacts", "com.sec.android.app.clockpackage",
            "com.samsung.android.honeyboard"} <= packages(driver)
    assert driver.sh("getprop ro.product.manufacturer; getprop ro.product.model") == \
        "samsung\nSM-G991U\n"
    cleared = driver.run("pm clear com.samsung.android.providers.contacts")
    assert (cleared.exit_code, cleared.stderr) == (1, b"Failed\n")
    # The provider's URIs are AOSP's on every vendor's phone.
    driver.sh("content insert --uri content://com.android.contacts/raw_contacts "
              "--bind account_name:n:")
    assert driver.query("content://com.android.contacts/raw_contacts", "_id") == [{"_id": "1"}]
    driver.tap(desc="Contacts")
    assert driver.nodes(rid="com.samsung.android.app.contacts:id/fab")


def test_one_ui_keeps_the_radios_on_connections():
    _, driver = phone_of("samsung-11")
    driver.sh("monkey -p com.android.settings 1")
    assert driver.texts("android:id/title")[0] == "Connections"
    driver.tap(text="Connections")
    titles = driver.texts("android:id/title")
    assert {"Wi-Fi", "Bluetooth", "Airplane mode"} <= set(titles)     # a plain hyphen
    assert not any(NBH in title for title in titles)
    driver.tap(text="Airplane mode")
    assert driver.sh("settings get global airplane_mode_on") == "1\n"


@pytest.mark.parametrize(("profile", "action", "first_title"), [
    ("android-9", "android.settings.WIFI_SETTINGS", f"Wi{NBH}Fi preferences"),
    ("android-14", "android.settings.WIFI_SETTINGS", f"Wi{NBH}Fi"),      # the Internet page
    ("samsung-11", "android.settings.WIFI_SETTINGS", "Advanced"),
    ("android-11", "android.settings.BLUETOOTH_SETTINGS", "Device name"),
])
def test_the_system_intents_open_each_vendors_page(profile, action, first_title):
    _, driver = phone_of(profile)
    driver.sh(f"am start -a {action}")
    assert driver.texts("android:id/title")[0] == first_title
