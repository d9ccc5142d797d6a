"""Who built the phone: AOSP, Google (a Pixel) or Samsung (One UI), and what that changes.

The virtual phone's apps are written once, against AOSP's package names. A vendor ships
its own system apps under other names (Google's Clock is ``com.google.android.deskclock``,
Samsung's contacts provider ``com.samsung.android.providers.contacts``), with other
launcher activities and labels, its own keyboard, and its own Settings (One UI's
"Connections" page instead of AOSP's "Network & internet"). A ``Vendor`` maps each AOSP
package to what that vendor installs; the phone applies it to the apps, their resource
ids, the package list and the tables ``pm clear`` empties.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

__all__ = ["AppIdentity", "Vendor", "AOSP", "GOOGLE", "SAMSUNG", "NBH"]

NBH = "\u2011"
"""The non-breaking hyphen AOSP's Settings strings write in "Wi‑Fi"."""


@dataclass(frozen=True)
class AppIdentity:
    """What a vendor calls an app: its package, launcher activity and label."""

    package: str
    activity: str | None = None      # None: the AOSP app's activity under the new package
    label: str | None = None         # None: the AOSP label


@dataclass(frozen=True)
class Vendor:
    name: Literal["aosp", "google", "samsung"]
    manufacturer: str
    brand: str
    device: str
    product: str
    settings: Literal["aosp", "oneui"]
    ime: str                          # the stock keyboard's input method id
    ime_apk: str
    apps: Mapping[str, AppIdentity] = field(default_factory=dict)  # AOSP package -> vendor's
    keep_data: frozenset[str] = frozenset()   # AOSP names of packages `pm clear` refuses

    def package(self, aosp: str) -> str:
        """The package this vendor ships in place of the AOSP package ``aosp``."""
        identity = self.apps.get(aosp)
        return identity.package if identity else aosp


AOSP = Vendor("aosp", "QVL", "qvl", "qvl_sim", "qvl_sim", settings="aosp",
              ime="com.android.inputmethod.latin/.LatinIME",
              ime_apk="/system/app/LatinIME/LatinIME.apk")

GOOGLE = Vendor(
    "google", "Google", "google", "panther", "panther", settings="aosp",
    ime="com.google.android.inputmethod.latin/com.android.inputmethod.latin.LatinIME",
    ime_apk="/product/app/LatinIMEGooglePrebuilt/LatinIMEGooglePrebuilt.apk",
    apps={
        "com.android.launcher3": AppIdentity("com.google.android.apps.nexuslauncher",
                                             ".NexusLauncherActivity", "Pixel Launcher"),
        "com.android.contacts": AppIdentity("com.google.android.contacts",
                                            "com.android.contacts.activities.PeopleActivity"),
        "com.android.deskclock": AppIdentity("com.google.android.deskclock",
                                             "com.android.deskclock.DeskClock"),
    })

SAMSUNG = Vendor(
    "samsung", "samsung", "samsung", "o1q", "o1quew", settings="oneui",
    ime="com.samsung.android.honeyboard/.service.HoneyBoardService",
    ime_apk="/system/app/HoneyBoard/HoneyBoard.apk",
    apps={
        "com.android.launcher3": AppIdentity(
            "com.sec.android.app.launcher",
            "com.sec.android.app.launcher.activities.LauncherActivity", "One UI Home"),
        "com.android.contacts": AppIdentity(
            "com.samsung.android.app.contacts",
            "com.samsung.android.contacts.contactslist.PeopleActivity"),
        "com.android.providers.contacts": AppIdentity("com.samsung.android.providers.contacts"),
        "com.android.deskclock": AppIdentity("com.sec.android.app.clockpackage",
                                             "com.sec.android.app.clockpackage.ClockPackage"),
    },
    # Samsung's contacts provider does not let its data be cleared (and a Samsung account
    # would sync the contacts back): `pm clear` answers Failed.
    keep_data=frozenset({"com.android.providers.contacts"}))
