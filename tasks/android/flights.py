"""Flights tasks: book the cheapest flight, a fare question, and an impossible booking."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any


from qvl_agent.agent.trajectory import Trajectory
from qvl_agent.envs.actions import Action, Answer, Click, OpenApp, Terminate
from qvl_agent.envs.base import Env
from qvl_agent.tasks.android.common import ANSWER_HINT, AndroidTask, BOOKINGS, CITIES, fill
from qvl_agent.tasks.android.device import (
    digits, find_node, query, tap, ui_nodes,
)
from qvl_agent.tasks.base import TaskParams

__all__ = ["BookCheapestFlight", "CheapestFareQuestion", "BookFlightToNowhere"]


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
    from qvl_agent.envs.sim.apps.flights import flights_for

    return min(flights_for(params.origin, params.destination, params.date), key=lambda f: f.price)


def _search(env: Env, params: FlightParams) -> Iterator[Action]:
    yield OpenApp(name="Flights")
    for field, value in (("from", params.origin), ("to", params.destination), ("date", params.date)):
        yield from fill(env, f"com.qvl.flights:id/{field}", value)
    yield tap(env, resource_id="com.qvl.flights:id/search")


class _FlightTask(AndroidTask):
    """A task in the Flights app, reset before it starts, on a random route and date."""

    app = "com.qvl.flights"
    Params = FlightParams

    @classmethod
    def sample_params(cls, rng: random.Random) -> FlightParams:
        return _flight_params(rng)


class BookCheapestFlight(_FlightTask):
    id = "android/book-cheapest-flight"
    max_steps = 25

    @property
    def goal(self) -> str:
        p = self.params
        return f"In the Flights app, book the cheapest flight from {p.origin} to {p.destination} on {p.date}."

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


class CheapestFareQuestion(_FlightTask):
    id = "android/cheapest-fare-question"
    expects_answer = True
    max_steps = 20

    @property
    def goal(self) -> str:
        p = self.params
        return (f"Using the Flights app, how much is the cheapest flight from {p.origin} to "
                f"{p.destination} on {p.date}?" + ANSWER_HINT)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        return float(digits(trajectory.meta.answer) == digits(_cheapest(self.params).price))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield from _search(env, self.params)
        cheapest = _cheapest(self.params)
        yield Answer(text=f"${cheapest.price}")


class BookFlightToNowhere(_FlightTask):
    """Infeasible: the app does not fly there; only terminate(failure) solves it."""

    id = "android/book-flight-to-nowhere"
    infeasible = True
    max_steps = 15

    @classmethod
    def sample_params(cls, rng: random.Random) -> FlightParams:
        return _flight_params(rng, destination=rng.choice(["Atlantis", "El Dorado", "Shangri-La"]))

    @property
    def goal(self) -> str:
        p = self.params
        return f"In the Flights app, book a flight from {p.origin} to {p.destination} on {p.date}."

    def check(self, env: Env, trajectory: Trajectory) -> float:
        return 0.0  # never reached: infeasible tasks are scored on terminate(failure) alone

    def oracle(self, env: Env) -> Iterator[Action]:
        yield from _search(env, self.params)
        find_node(env, text="No flights found")  # the oracle checks before it gives up
        yield Terminate(status="failure")


# -- launching apps ------------------------------------------------------------------------------
