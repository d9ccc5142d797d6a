"""What is installed on the virtual phone: the apps with screens and the system packages.

``pm list packages``, ``pm path`` and ``dumpsys package`` read this list; ADB Keyboard
(``com.android.adbkeyboard``) is on it only when the phone was made with it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from qvl_agent.envs.sim.apps.base import App
from qvl_agent.envs.sim.vendors import Vendor

__all__ = ["Package", "installed_packages", "ADB_KEYBOARD"]

ADB_KEYBOARD = "com.android.adbkeyboard"
_SYSTEM_APKS = {
    "android": "/system/framework/framework-res.apk",
    "com.android.systemui": "/system_ext/priv-app/SystemUI/SystemUI.apk",
    "com.android.shell": "/system/priv-app/Shell/Shell.apk",
    "com.android.phone": "/system/priv-app/TeleService/TeleService.apk",
    "com.android.providers.settings": "/system/priv-app/SettingsProvider/SettingsProvider.apk",
    "com.android.providers.contacts": "/system/priv-app/ContactsProvider/ContactsProvider.apk",
}


@dataclass(frozen=True)
class Package:
    """One installed package, as the package manager reports it."""

    name: str
    path: str           # its base APK
    system: bool
    version_name: str = "14"
    version_code: int = 34
    clearable: bool = True      # android:allowClearUserData; `pm clear` says Failed if not


def _data_path(name: str) -> str:
    tag = hashlib.sha256(name.encode()).hexdigest()
    return f"/data/app/~~{tag[:22]}==/{name}-{tag[22:44]}==/base.apk"


def installed_packages(apps: Iterable[App], *, vendor: Vendor,
                       adb_keyboard: bool) -> dict[str, Package]:
    """Every package of a phone with these apps and this vendor's system, by name."""
    packages = {vendor.package(name): Package(vendor.package(name), path, True,
                                              clearable=name not in vendor.keep_data)
                for name, path in _SYSTEM_APKS.items()}
    keyboard = vendor.ime.split("/")[0]
    packages[keyboard] = Package(keyboard, vendor.ime_apk, True)
    for app in apps:
        folder = app.label.replace(" ", "")
        path = (f"/system/priv-app/{folder}/{folder}.apk" if app.system
                else _data_path(app.package))
        packages[app.package] = Package(app.package, path, app.system, "1.0", 1)
    if adb_keyboard:
        packages[ADB_KEYBOARD] = Package(ADB_KEYBOARD, _data_path(ADB_KEYBOARD), False,
                                         "2.4-dev", 24)
    return dict(sorted(packages.items()))
