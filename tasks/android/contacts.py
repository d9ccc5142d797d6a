"""Contacts tasks: add a contact, and a question answered from the contact list."""

from __future__ import annotations

import random
from collections.abc import Iterator

from pydantic import Field

from qvl_agent.agent.trajectory import Trajectory
from qvl_agent.envs.actions import Action, Answer, OpenApp, Terminate
from qvl_agent.envs.base import Env
from qvl_agent.tasks.android.common import ANSWER_HINT, AndroidTask, fill, random_name, random_phone_number
from qvl_agent.tasks.android.device import (
    CONTACTS_PROVIDER, PHONES, add_contact, digits, find_node, query, tap,
)
from qvl_agent.tasks.base import TaskParams

__all__ = ["AddContact", "ContactNumberQuestion"]


class ContactParams(TaskParams):
    name: str
    number: str
    others: list[tuple[str, str]] = Field(default_factory=list)


def _seed_contacts(env: Env, contacts: list[tuple[str, str]]) -> None:
    for name, number in contacts:
        add_contact(env, name, number)


def _contact_params(rng: random.Random, others: int) -> ContactParams:
    names = set()
    while len(names) < others + 1:
        names.add(random_name(rng))
    name, *rest = sorted(names)
    return ContactParams(name=name, number=random_phone_number(rng),
                         others=[(n, random_phone_number(rng)) for n in rest])


class _ContactsTask(AndroidTask):
    """Runs on any phone: the contacts live in the stock provider, which setup empties."""

    runs_on = "any"
    data_packages = (CONTACTS_PROVIDER,)
    stop_apps = ("com.android.contacts", "com.google.android.contacts")
    Params = ContactParams


class AddContact(_ContactsTask):
    id = "android/add-contact"

    @classmethod
    def sample_params(cls, rng: random.Random) -> ContactParams:
        return _contact_params(rng, others=2)

    @property
    def goal(self) -> str:
        return f"Add a contact named {self.params.name} with the phone number {self.params.number}."

    def _seed(self, env: Env) -> None:
        _seed_contacts(env, self.params.others)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        rows = query(env, PHONES, ["display_name", "data1"])
        return float(any(r["display_name"].strip() == self.params.name
                         and digits(r["data1"]) == digits(self.params.number) for r in rows))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Contacts")
        yield tap(env, content_desc="Create contact")
        yield from fill(env, "com.android.contacts:id/name_field", self.params.name)
        yield from fill(env, "com.android.contacts:id/phone_field", self.params.number)
        yield tap(env, resource_id="com.android.contacts:id/save")
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

    def _seed(self, env: Env) -> None:
        _seed_contacts(env, [(self.params.name, self.params.number), *self.params.others])

    def check(self, env: Env, trajectory: Trajectory) -> float:
        rows = query(env, PHONES, ["display_name", "data1"])
        truth = [r["data1"] for r in rows if r["display_name"] == self.params.name]
        return float(bool(truth) and digits(trajectory.meta.answer) == digits(truth[0]))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Contacts")
        yield tap(env, text=self.params.name)
        number = find_node(env, resource_id="com.android.contacts:id/detail_number").text
        yield Answer(text=number)


# -- notes ------------------------------------------------------------------------------------
