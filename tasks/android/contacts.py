"""Contacts tasks: add a contact, and a question answered from the contact list.

They run on any phone, whose contacts may be a person's own: a task deletes only what it
made. Setup removes contacts left under the task's own names by an earlier run that died,
remembers the highest raw contact id, and seeds its contacts (``content insert``);
teardown deletes the raw contacts above that id (the seeded ones and what the agent added),
with ``content delete``. ``pm clear`` of the provider would wipe everything (and fails on
Samsung, whose provider keeps its data).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from pydantic import Field

from qvl_agent.agent.trajectory import Trajectory
from qvl_agent.envs.actions import Action, Answer, OpenApp, Terminate
from qvl_agent.envs.base import Env
from qvl_agent.tasks.android.common import ANSWER_HINT, AndroidTask, fill, random_name, random_phone_number
from qvl_agent.tasks.android.device import (
    PHONES, RAW_CONTACTS, add_contact, delete, digits, find_node, query, shipped, tap,
)
from qvl_agent.tasks.base import TaskParams

__all__ = ["AddContact", "ContactNumberQuestion"]


class ContactParams(TaskParams):
    name: str
    number: str
    others: list[tuple[str, str]] = Field(default_factory=list)


def _quoted(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _contact_params(rng: random.Random, others: int) -> ContactParams:
    names = set()
    while len(names) < others + 1:
        names.add(random_name(rng))
    name, *rest = sorted(names)
    return ContactParams(name=name, number=random_phone_number(rng),
                         others=[(n, random_phone_number(rng)) for n in rest])


class _ContactsTask(AndroidTask):
    """Runs on any phone: the contacts live in the stock provider; only the task's own are
    seeded and deleted."""

    runs_on = "any"
    stop_apps = ("com.android.contacts", "com.google.android.contacts",
                 "com.samsung.android.app.contacts")
    Params = ContactParams
    _baseline: int | None = None

    def _names(self) -> list[str]:
        return [self.params.name, *(name for name, _ in self.params.others)]

    def _seeded(self) -> list[tuple[str, str]]:
        return []

    def _seed(self, env: Env) -> None:
        delete(env, RAW_CONTACTS, "display_name IN (" + ", ".join(map(_quoted, self._names()))
               + ")")
        newest = query(env, RAW_CONTACTS, ["_id"], sort="_id DESC")
        self._baseline = int(newest[0]["_id"]) if newest else 0
        for name, number in self._seeded():
            add_contact(env, name, number)

    def _teardown(self, env: Env) -> None:
        if self._baseline is not None:
            delete(env, RAW_CONTACTS, f"_id > {self._baseline}")
        super()._teardown(env)

    def _contacts_id(self, env: Env, name: str) -> str:
        return f"{shipped(env, 'com.android.contacts')}:id/{name}"


class AddContact(_ContactsTask):
    id = "android/add-contact"

    @classmethod
    def sample_params(cls, rng: random.Random) -> ContactParams:
        return _contact_params(rng, others=2)

    @property
    def goal(self) -> str:
        return f"Add a contact named {self.params.name} with the phone number {self.params.number}."

    def _seeded(self) -> list[tuple[str, str]]:
        return list(self.params.others)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        rows = query(env, PHONES, ["display_name", "data1"])
        return float(any(r["display_name"].strip() == self.params.name
                         and digits(r["data1"]) == digits(self.params.number) for r in rows))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Contacts")
        yield tap(env, content_desc="Create contact")
        yield from fill(env, self._contacts_id(env, "name_field"), self.params.name)
        yield from fill(env, self._contacts_id(env, "phone_field"), self.params.number)
        yield tap(env, resource_id=self._contacts_id(env, "save"))
        yield Terminate(status="success")


class ContactNumberQuestion(_ContactsTask):
    id = "android/contact-number-question"
    expects_answer = True
    max_steps = 10

    @classmethod
    def sample_params(cls, rng: random.Random) -> ContactParams:
        return _contact_params(rng, others=3)

    @property
    def goal(self) -> str:
        return f"What is the phone number of my contact {self.params.name}?" + ANSWER_HINT

    def _seeded(self) -> list[tuple[str, str]]:
        return [(self.params.name, self.params.number), *self.params.others]

    def check(self, env: Env, trajectory: Trajectory) -> float:
        rows = query(env, PHONES, ["display_name", "data1"])
        truth = [r["data1"] for r in rows if r["display_name"] == self.params.name]
        return float(bool(truth) and digits(trajectory.meta.answer) == digits(truth[0]))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Contacts")
        yield tap(env, text=self.params.name)
        number = find_node(env, resource_id=self._contacts_id(env, "detail_number")).text
        yield Answer(text=number)


# -- notes ------------------------------------------------------------------------------------
