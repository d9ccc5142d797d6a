"""The virtual phone's apps, one module each, and the list a phone installs."""

from qvl_agent.envs.sim.apps.base import App, Host, ListState, Screen
from qvl_agent.envs.sim.apps.clock import CLOCK
from qvl_agent.envs.sim.apps.contacts import CONTACTS
from qvl_agent.envs.sim.apps.flights import FLIGHTS, Flight, booking_code, flights_for
from qvl_agent.envs.sim.apps.launcher import launcher
from qvl_agent.envs.sim.apps.notes import NOTES
from qvl_agent.envs.sim.apps.settings import SETTINGS

__all__ = [
    "App", "Host", "ListState", "Screen", "APPS", "launcher", "Flight", "flights_for",
    "booking_code", "SETTINGS", "CONTACTS", "CLOCK", "NOTES", "FLIGHTS",
]

APPS: tuple[App, ...] = (SETTINGS, CONTACTS, CLOCK, NOTES, FLIGHTS)
"""The launchable apps, in home-screen order."""
