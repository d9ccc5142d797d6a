"""The virtual phone's apps, one module each, and the list a phone installs."""

from envs.sim.apps.base import App, Host, ListState, Screen
from envs.sim.apps.clock import CLOCK
from envs.sim.apps.contacts import CONTACTS
from envs.sim.apps.flights import FLIGHTS, Flight, booking_code, flights_for
from envs.sim.apps.launcher import launcher
from envs.sim.apps.notes import NOTES
from envs.sim.apps.settings import SETTINGS

__all__ = [
    "App", "Host", "ListState", "Screen", "APPS", "launcher", "Flight", "flights_for",
    "booking_code", "SETTINGS", "CONTACTS", "CLOCK", "NOTES", "FLIGHTS",
]

APPS: tuple[App, ...] = (SETTINGS, CONTACTS, CLOCK, NOTES, FLIGHTS)
"""The launchable apps, in home-screen order."""
