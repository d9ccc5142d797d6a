"""The virtual phone's apps, one module each, and the list a phone installs."""

from __future__ import annotations

import dataclasses
import functools

from qvl_agent.envs.sim.apps.base import App, Host, ListState, Screen
from qvl_agent.envs.sim.apps.clock import CLOCK
from qvl_agent.envs.sim.apps.contacts import CONTACTS
from qvl_agent.envs.sim.apps.flights import FLIGHTS, Flight, booking_code, flights_for
from qvl_agent.envs.sim.apps.launcher import launcher
from qvl_agent.envs.sim.apps.notes import NOTES
from qvl_agent.envs.sim.apps.settings import SETTINGS
from qvl_agent.envs.sim.apps.settings_pages import home as settings_home
from qvl_agent.envs.sim.profiles import Profile
from qvl_agent.envs.sim.vendors import Vendor

__all__ = [
    "App", "Host", "ListState", "Screen", "APPS", "launcher", "Flight", "flights_for",
    "booking_code", "SETTINGS", "CONTACTS", "CLOCK", "NOTES", "FLIGHTS", "apps_for",
]

APPS: tuple[App, ...] = (SETTINGS, CONTACTS, CLOCK, NOTES, FLIGHTS)
"""The launchable apps, in home-screen order, under AOSP's names."""


def _as_shipped(app: App, vendor: Vendor) -> App:
    """``app`` under the vendor's package, activity and label; its tables follow along."""
    tables = tuple(dataclasses.replace(table, package=vendor.package(table.package))
                   for table in app.tables)
    identity = vendor.apps.get(app.package)
    if identity is None:
        return dataclasses.replace(app, tables=tables)
    return dataclasses.replace(app, package=identity.package, tables=tables,
                               activity=identity.activity or app.activity_class(),
                               label=identity.label or app.label, aosp_package=app.package)


def apps_for(profile: Profile) -> tuple[App, tuple[App, ...]]:
    """The launcher and the apps a phone of ``profile`` has, as its vendor ships them."""
    vendor = profile.vendor
    settings = dataclasses.replace(SETTINGS, root=functools.partial(settings_home, profile))
    apps = tuple(_as_shipped(app, vendor) for app in (settings, *APPS[1:]))
    return _as_shipped(launcher(apps), vendor), apps
