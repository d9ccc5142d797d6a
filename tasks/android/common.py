"""What every android task shares: the base class, content URIs, name pools, helpers."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import ClassVar, Literal

from qvl_agent.envs.actions import Action, TypeText
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.tasks.android.device import (
    clear_app, device_of, go_home, shipped, tap, wake_screen,
)
from qvl_agent.tasks.base import Task

__all__ = ["AndroidTask", "fill", "random_name", "random_phone_number"]

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


def random_phone_number(rng: random.Random) -> str:
    return f"555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"


def random_name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST)} {rng.choice(LAST)}"


class AndroidTask(Task):
    """Setup wakes and unlocks the screen (a phone sleeps and locks between episodes), resets
    ``app`` (``pm clear`` of the phone's own package for it: Google's Clock for AOSP's),
    stops ``stop_apps``, puts the task's data on the phone, goes home.

    ``runs_on`` says where a task can run: ``any`` phone (stock apps and providers, a shell
    without root) or only the virtual phone (``sim``: its own Notes, Flights and Clock
    provider). A setup step that does not take effect raises ``TaskError``.
    """

    env_kind = EnvKind.android
    family = "android"
    max_steps = 20
    runs_on: ClassVar[Literal["any", "sim"]] = "sim"
    app: ClassVar[str | None] = None       # its AOSP package; the phone may ship another
    stop_apps: ClassVar[tuple[str, ...]] = ()

    def _setup(self, env: Env) -> None:
        wake_screen(env)
        if self.app:
            clear_app(env, shipped(env, self.app))
        for package in self.stop_apps:
            # `am force-stop` of a package a phone does not have is not an error.
            device_of(env).shell(["am", "force-stop", package])
        self._seed(env)
        go_home(env)

    def _seed(self, env: Env) -> None:
        """Put the task's starting data or settings on the phone (after the reset)."""

    def _teardown(self, env: Env) -> None:
        go_home(env)


def fill(env: Env, resource_id: str, text: str) -> Iterator[Action]:
    """Tap the field with ``resource_id``, then type ``text`` into it."""
    yield tap(env, resource_id=resource_id)
    yield TypeText(text=text)
