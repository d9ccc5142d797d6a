"""AndroidWorld-style tasks: parameterised, seeded, checked only through adb queries.

Each task resets the app it uses (``pm clear``) and seeds data through its content provider,
goes to the home screen, and checks the outcome with ``settings get`` / ``content query`` /
``dumpsys window``. Oracles act only through Actions, finding what to tap in the
uiautomator tree as a person would find it on the screen.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, ClassVar

from pydantic import Field

from agent.trajectory import Trajectory
from envs.actions import Action, Answer, Click, OpenApp, Terminate, TypeText
from envs.base import Env, EnvKind
from tasks.android.device import (
    clear_app, digits, find_node, go_home, insert, query, settings_get, settings_put, tap, ui_nodes,
)
from tasks.base import Task, TaskParams

__all__ = ["ANDROID_TASKS"]

CONTACTS = "content://com.android.contacts/data/phones"
ALARMS = "content://com.android.deskclock/alarms"
NOTES = "content://com.qvl.notes/notes"
BOOKINGS = "content://com.qvl.flights/bookings"

FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret", "Niklaus"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton", "Wirth"]
NOTE_TOPICS = [("Groceries", "Eggs, flour, butter."), ("Trip", "Pack the charger."),
               ("Ideas", "A bike shed with a green roof."), ("Books", "Read SICP again."),
               ("Garden", "Water the tomatoes.")]
# The mobile_use tool has no answer action of its own; questions say how to answer.
ANSWER_HINT = ' Give your answer with {"action": "answer", "text": "..."}.'
CITIES = ["Berlin", "Lisbon", "Madrid", "Oslo", "Paris", "Prague", "Rome", "Vienna"]


def _phone_number(rng: random.Random) -> str:
    return f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


class AndroidTask(Task):
    env_kind = EnvKind.android
    family = "android"
    max_steps = 20

    def _teardown(self, env: Env) -> None:
        go_home(env)


# -- settings -------------------------------------------------------------------------------

class ToggleParams(TaskParams):
    on: bool


class _Toggle(AndroidTask):
    Params = ToggleParams
    max_steps = 10
    key: ClassVar[str]
    row: ClassVar[str]
    words: ClassVar[str]

    @classmethod
    def sample_params(cls, rng: random.Random) -> ToggleParams:
        return ToggleParams(on=rng.random() < 0.5)

    @property
    def goal(self) -> str:
        return f"Turn {'on' if self.params.on else 'off'} {self.words}."

    def _setup(self, env: Env) -> None:
        if self.key != "airplane_mode_on":
            settings_put(env, "global", "airplane_mode_on", "0")
        settings_put(env, "global", self.key, "0" if self.params.on else "1")
        go_home(env)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        return float(settings_get(env, "global", self.key) == ("1" if self.params.on else "0"))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Settings")
        yield tap(env, text=self.row)
        yield Terminate(status="success")


class ToggleWifi(_Toggle):
    id, key, row, words = "android/toggle-wifi", "wifi_on", "Wi-Fi", "Wi-Fi"


class ToggleBluetooth(_Toggle):
    id, key, row, words = "android/toggle-bluetooth", "bluetooth_on", "Bluetooth", "Bluetooth"


class ToggleAirplaneMode(_Toggle):
    id, key, row, words = "android/toggle-airplane-mode", "airplane_mode_on", "Airplane mode", "airplane mode"


# -- contacts ---------------------------------------------------------------------------------

class ContactParams(TaskParams):
    name: str
    number: str
    others: list[tuple[str, str]] = Field(default_factory=list)


def _seed_contacts(env: Env, contacts: list[tuple[str, str]]) -> None:
    clear_app(env, "com.android.contacts")
    for name, number in contacts:
        insert(env, CONTACTS, display_name=name, data1=number)


def _contact_params(rng: random.Random, others: int) -> ContactParams:
    names = set()
    while len(names) < others + 1:
        names.add(_name(rng))
    name, *rest = sorted(names)
    return ContactParams(name=name, number=_phone_number(rng),
                         others=[(n, _phone_number(rng)) for n in rest])


class AddContact(AndroidTask):
    id = "android/add-contact"
    Params = ContactParams

    @classmethod
    def sample_params(cls, rng: random.Random) -> ContactParams:
        return _contact_params(rng, others=2)

    @property
    def goal(self) -> str:
        return f"Add a contact named {self.params.name} with the phone number {self.params.number}."

    def _setup(self, env: Env) -> None:
        _seed_contacts(env, self.params.others)
        go_home(env)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        rows = query(env, CONTACTS, ["display_name", "data1"])
        return float(any(r["display_name"].strip() == self.params.name
                         and digits(r["data1"]) == digits(self.params.number) for r in rows))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Contacts")
        yield tap(env, content_desc="Create contact")
        yield tap(env, resource_id="com.android.contacts:id/name_field")
        yield TypeText(text=self.params.name)
        yield tap(env, resource_id="com.android.contacts:id/phone_field")
        yield TypeText(text=self.params.number)
        yield tap(env, resource_id="com.android.contacts:id/save")
        yield Terminate(status="success")


class ContactNumberQuestion(AndroidTask):
    id = "android/contact-number-question"
    Params = ContactParams
    max_steps = 10

    @classmethod
    def sample_params(cls, rng: random.Random) -> ContactParams:
        return _contact_params(rng, others=3)

    @property
    def goal(self) -> str:
        return f"What is the phone number of my contact {self.params.name}?" + ANSWER_HINT

    def _setup(self, env: Env) -> None:
        _seed_contacts(env, [(self.params.name, self.params.number), *self.params.others])
        go_home(env)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        rows = query(env, CONTACTS, ["display_name", "data1"])
        truth = [r["data1"] for r in rows if r["display_name"] == self.params.name]
        return float(bool(truth) and digits(trajectory.meta.answer) == digits(truth[0]))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Contacts")
        yield tap(env, text=self.params.name)
        number = find_node(env, resource_id="com.android.contacts:id/detail_number").text
        yield Answer(text=number)


# -- notes ------------------------------------------------------------------------------------

class NoteParams(TaskParams):
    title: str
    body: str
    addition: str = ""


class CreateNote(AndroidTask):
    id = "android/create-note"
    Params = NoteParams

    @classmethod
    def sample_params(cls, rng: random.Random) -> NoteParams:
        title, body = rng.choice(NOTE_TOPICS)
        return NoteParams(title=f"{title} {rng.randint(2, 99)}", body=body)

    @property
    def goal(self) -> str:
        return f'Create a note titled "{self.params.title}" that says "{self.params.body}".'

    def _setup(self, env: Env) -> None:
        clear_app(env, "com.qvl.notes")
        go_home(env)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        rows = query(env, NOTES, ["title", "body"])
        return float(any(r["title"].strip() == self.params.title and r["body"].strip() == self.params.body
                         for r in rows))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Notes")
        yield tap(env, resource_id="com.qvl.notes:id/fab")
        yield tap(env, resource_id="com.qvl.notes:id/title")
        yield TypeText(text=self.params.title)
        yield tap(env, resource_id="com.qvl.notes:id/body")
        yield TypeText(text=self.params.body)
        yield tap(env, resource_id="com.qvl.notes:id/save")
        yield Terminate(status="success")


class AppendToNote(AndroidTask):
    id = "android/append-to-note"
    Params = NoteParams

    @classmethod
    def sample_params(cls, rng: random.Random) -> NoteParams:
        title, body = rng.choice(NOTE_TOPICS)
        return NoteParams(title=title, body=body, addition=f" Call {rng.choice(FIRST)} at {rng.randint(1, 11)}.")

    @property
    def goal(self) -> str:
        return f'Add "{self.params.addition.strip()}" at the end of the note "{self.params.title}".'

    def _setup(self, env: Env) -> None:
        clear_app(env, "com.qvl.notes")
        for title, body in NOTE_TOPICS:
            insert(env, NOTES, title=title, body=body)
        go_home(env)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        rows = query(env, NOTES, ["title", "body"])
        mine = [r for r in rows if r["title"].strip() == self.params.title]
        want = " ".join((self.params.body + self.params.addition).split())
        others_intact = all(r["body"] == body for title, body in NOTE_TOPICS if title != self.params.title
                            for r in rows if r["title"] == title)
        return float(len(mine) == 1 and " ".join(mine[0]["body"].split()) == want and others_intact)

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Notes")
        yield tap(env, text=self.params.title)
        yield tap(env, resource_id="com.qvl.notes:id/body")
        yield TypeText(text=self.params.addition)
        yield tap(env, resource_id="com.qvl.notes:id/save")
        yield Terminate(status="success")


# -- clock ------------------------------------------------------------------------------------

class AlarmParams(TaskParams):
    hour: int = Field(ge=0, le=23)
    minute: int = Field(ge=0, le=59)
    existing: list[tuple[int, int, bool]] = Field(default_factory=list)


def _seed_alarms(env: Env, alarms: list[tuple[int, int, bool]]) -> None:
    clear_app(env, "com.android.deskclock")
    for hour, minute, enabled in alarms:
        insert(env, ALARMS, hour=hour, minutes=minute, enabled=int(enabled), label="")


def _alarms(env: Env) -> list[tuple[int, int, bool]]:
    return [(int(r["hour"]), int(r["minutes"]), r["enabled"] == "1")
            for r in query(env, ALARMS, ["hour", "minutes", "enabled"])]


def _distinct_times(rng: random.Random, count: int) -> list[tuple[int, int]]:
    times: set[tuple[int, int]] = set()
    while len(times) < count:
        times.add((rng.randint(5, 22), rng.choice([0, 15, 30, 45])))
    return sorted(times)


class SetAlarm(AndroidTask):
    id = "android/set-alarm"
    Params = AlarmParams

    @classmethod
    def sample_params(cls, rng: random.Random) -> AlarmParams:
        return AlarmParams(hour=rng.randint(5, 10), minute=rng.choice([0, 10, 15, 20, 30, 45, 50]))

    @property
    def goal(self) -> str:
        return f"Set an alarm for {self.params.hour:02d}:{self.params.minute:02d}."

    def _setup(self, env: Env) -> None:
        _seed_alarms(env, [])
        go_home(env)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        return float((self.params.hour, self.params.minute, True) in _alarms(env))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Clock")
        yield tap(env, resource_id="com.android.deskclock:id/fab")
        yield tap(env, resource_id="com.android.deskclock:id/hour")
        yield TypeText(text=str(self.params.hour))
        yield tap(env, resource_id="com.android.deskclock:id/minute")
        yield TypeText(text=f"{self.params.minute:02d}")
        yield tap(env, resource_id="com.android.deskclock:id/save")
        yield Terminate(status="success")


class TurnOffAlarm(AndroidTask):
    id = "android/turn-off-alarm"
    Params = AlarmParams

    @classmethod
    def sample_params(cls, rng: random.Random) -> AlarmParams:
        times = _distinct_times(rng, 3)
        hour, minute = rng.choice(times)
        return AlarmParams(hour=hour, minute=minute, existing=[(h, m, True) for h, m in times])

    @property
    def goal(self) -> str:
        return f"Turn off the {self.params.hour:02d}:{self.params.minute:02d} alarm; keep the others on."

    def _setup(self, env: Env) -> None:
        _seed_alarms(env, self.params.existing)
        go_home(env)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        want = sorted((h, m, (h, m) != (self.params.hour, self.params.minute)) for h, m, _ in self.params.existing)
        return float(sorted(_alarms(env)) == want)

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Clock")
        nodes = ui_nodes(env)
        time = find_node(env, text=f"{self.params.hour:02d}:{self.params.minute:02d}", nodes=nodes)
        row_top, row_bottom = time.bounds[1], time.bounds[3]
        switches = [n for n in nodes if n.resource_id == "com.android.deskclock:id/onoff"]
        # The switch on the same row: the one whose vertical extent overlaps the time's.
        switch = min(switches, key=lambda n: abs((n.bounds[1] + n.bounds[3]) - (row_top + row_bottom)))
        yield Click(at=switch.center)
        yield Terminate(status="success")


class EnabledAlarmsQuestion(AndroidTask):
    id = "android/enabled-alarms-question"
    Params = AlarmParams
    max_steps = 10

    @classmethod
    def sample_params(cls, rng: random.Random) -> AlarmParams:
        times = _distinct_times(rng, rng.randint(3, 5))
        existing = [(h, m, rng.random() < 0.6) for h, m in times]
        return AlarmParams(hour=0, minute=0, existing=existing)

    @property
    def goal(self) -> str:
        return "How many of my alarms are turned on?" + ANSWER_HINT

    def _setup(self, env: Env) -> None:
        _seed_alarms(env, self.params.existing)
        go_home(env)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        truth = sum(enabled for _, _, enabled in _alarms(env))
        return float(digits(trajectory.meta.answer) == str(truth))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Clock")
        switches = [n for n in ui_nodes(env) if n.resource_id == "com.android.deskclock:id/onoff"]
        yield Answer(text=str(sum(n.checked for n in switches)))


# -- flights ----------------------------------------------------------------------------------

class FlightParams(TaskParams):
    origin: str
    destination: str
    date: str


def _flight_params(rng: random.Random, destination: str | None = None) -> FlightParams:
    origin, other = rng.sample(CITIES, 2)
    day = rng.randint(1, 28)
    return FlightParams(origin=origin, destination=destination or other,
                        date=f"2026-{rng.randint(1, 12):02d}-{day:02d}")


def _cheapest(params: FlightParams) -> Any:
    from envs.sim.apps.flights import flights_for

    return min(flights_for(params.origin, params.destination, params.date), key=lambda f: f.price)


def _search(env: Env, params: FlightParams) -> Iterator[Action]:
    yield OpenApp(name="Flights")
    for field, value in (("from", params.origin), ("to", params.destination), ("date", params.date)):
        yield tap(env, resource_id=f"com.qvl.flights:id/{field}")
        yield TypeText(text=value)
    yield tap(env, resource_id="com.qvl.flights:id/search")


class BookCheapestFlight(AndroidTask):
    id = "android/book-cheapest-flight"
    Params = FlightParams
    max_steps = 25

    @classmethod
    def sample_params(cls, rng: random.Random) -> FlightParams:
        return _flight_params(rng)

    @property
    def goal(self) -> str:
        p = self.params
        return f"In the Flights app, book the cheapest flight from {p.origin} to {p.destination} on {p.date}."

    def _setup(self, env: Env) -> None:
        clear_app(env, "com.qvl.flights")
        go_home(env)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        rows = query(env, BOOKINGS, ["origin", "destination", "date", "flight"])
        p = self.params
        return float(len(rows) == 1 and rows[0]["origin"].lower() == p.origin.lower()
                     and rows[0]["destination"].lower() == p.destination.lower()
                     and rows[0]["date"] == p.date and rows[0]["flight"] == _cheapest(p).number)

    def oracle(self, env: Env) -> Iterator[Action]:
        yield from _search(env, self.params)
        cheapest = _cheapest(self.params)
        rows = [n for n in ui_nodes(env) if cheapest.number in n.text]
        if not rows:
            raise LookupError(f"flight {cheapest.number} is not on the results screen")
        yield Click(at=rows[0].center)
        yield tap(env, resource_id="com.qvl.flights:id/book")
        yield Terminate(status="success")


class CheapestFareQuestion(AndroidTask):
    id = "android/cheapest-fare-question"
    Params = FlightParams
    max_steps = 20

    @classmethod
    def sample_params(cls, rng: random.Random) -> FlightParams:
        return _flight_params(rng)

    @property
    def goal(self) -> str:
        p = self.params
        return (f"Using the Flights app, how much is the cheapest flight from {p.origin} to "
                f"{p.destination} on {p.date}?" + ANSWER_HINT)

    def _setup(self, env: Env) -> None:
        clear_app(env, "com.qvl.flights")
        go_home(env)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        return float(digits(trajectory.meta.answer) == digits(_cheapest(self.params).price))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield from _search(env, self.params)
        cheapest = _cheapest(self.params)
        yield Answer(text=f"${cheapest.price}")


class BookFlightToNowhere(AndroidTask):
    """Infeasible: the app does not fly there; only terminate(failure) solves it."""

    id = "android/book-flight-to-nowhere"
    Params = FlightParams
    infeasible = True
    max_steps = 15

    @classmethod
    def sample_params(cls, rng: random.Random) -> FlightParams:
        return _flight_params(rng, destination=rng.choice(["Atlantis", "El Dorado", "Shangri-La"]))

    @property
    def goal(self) -> str:
        p = self.params
        return f"In the Flights app, book a flight from {p.origin} to {p.destination} on {p.date}."

    def _setup(self, env: Env) -> None:
        clear_app(env, "com.qvl.flights")
        go_home(env)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        return 0.0  # never reached: infeasible tasks are scored on terminate(failure) alone

    def oracle(self, env: Env) -> Iterator[Action]:
        yield from _search(env, self.params)
        find_node(env, text="No flights found")  # the oracle checks before it gives up
        yield Terminate(status="failure")


# -- launching apps ------------------------------------------------------------------------------

class OpenAppParams(TaskParams):
    label: str
    package: str


class OpenAppTask(AndroidTask):
    id = "android/open-app"
    Params = OpenAppParams
    max_steps = 5
    APPS: ClassVar[list[tuple[str, str]]] = [
        ("Clock", "com.android.deskclock"), ("Contacts", "com.android.contacts"),
        ("Notes", "com.qvl.notes"), ("Settings", "com.android.settings"), ("Flights", "com.qvl.flights"),
    ]

    @classmethod
    def sample_params(cls, rng: random.Random) -> OpenAppParams:
        label, package = rng.choice(cls.APPS)
        return OpenAppParams(label=label, package=package)

    @property
    def goal(self) -> str:
        return f"Open the {self.params.label} app."

    def _setup(self, env: Env) -> None:
        go_home(env)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        return float(env.foreground_app() == self.params.package)  # type: ignore[attr-defined]

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name=self.params.label)
        yield Terminate(status="success")


ANDROID_TASKS: list[type[AndroidTask]] = [
    ToggleWifi, ToggleBluetooth, ToggleAirplaneMode, AddContact, ContactNumberQuestion,
    CreateNote, AppendToNote, SetAlarm, TurnOffAlarm, EnabledAlarmsQuestion,
    BookCheapestFlight, CheapestFareQuestion, BookFlightToNowhere, OpenAppTask,
]
