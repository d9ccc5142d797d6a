"""AndroidWorld-style tasks: parameterised, seeded, checked only through adb queries.

Each task resets the app it uses (``pm clear``) and seeds data through its content provider,
goes to the home screen, and checks the outcome with ``settings get`` / ``content query`` /
``dumpsys window``. Oracles act only through Actions, finding what to tap in the
uiautomator tree as a person would find it on the screen.
"""

from __future__ import annotations

from qvl_agent.tasks.android.clock import EnabledAlarmsQuestion, SetAlarm, TurnOffAlarm
from qvl_agent.tasks.android.common import AndroidTask
from qvl_agent.tasks.android.contacts import AddContact, ContactNumberQuestion
from qvl_agent.tasks.android.flights import BookCheapestFlight, BookFlightToNowhere, CheapestFareQuestion
from qvl_agent.tasks.android.notes import AppendToNote, CreateNote
from qvl_agent.tasks.android.system import OpenAppTask, ToggleAirplaneMode, ToggleBluetooth, ToggleWifi

__all__ = ["ANDROID_TASKS"]

ANDROID_TASKS: list[type[AndroidTask]] = [
    ToggleWifi, ToggleBluetooth, ToggleAirplaneMode, AddContact, ContactNumberQuestion,
    CreateNote, AppendToNote, SetAlarm, TurnOffAlarm, EnabledAlarmsQuestion,
    BookCheapestFlight, CheapestFareQuestion, BookFlightToNowhere, OpenAppTask,
]
