"""Notes tasks: create a note, add to one."""

from __future__ import annotations

import random
from collections.abc import Iterator


from qvl_agent.agent.trajectory import Trajectory
from qvl_agent.envs.actions import Action, OpenApp, Terminate
from qvl_agent.envs.base import Env
from qvl_agent.tasks.android.common import AndroidTask, FIRST, NOTES, NOTE_TOPICS, fill
from qvl_agent.tasks.android.device import (
    insert, query, tap,
)
from qvl_agent.tasks.base import TaskParams

__all__ = ["CreateNote", "AppendToNote"]


class NoteParams(TaskParams):
    title: str
    body: str
    addition: str = ""


class CreateNote(AndroidTask):
    id = "android/create-note"
    app = "com.qvl.notes"
    Params = NoteParams

    @classmethod
    def sample_params(cls, rng: random.Random) -> NoteParams:
        title, body = rng.choice(NOTE_TOPICS)
        return NoteParams(title=f"{title} {rng.randint(2, 99)}", body=body)

    @property
    def goal(self) -> str:
        return f'Create a note titled "{self.params.title}" that says "{self.params.body}".'

    def check(self, env: Env, trajectory: Trajectory) -> float:
        rows = query(env, NOTES, ["title", "body"])
        return float(any(r["title"].strip() == self.params.title and r["body"].strip() == self.params.body
                         for r in rows))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Notes")
        yield tap(env, resource_id="com.qvl.notes:id/fab")
        yield from fill(env, "com.qvl.notes:id/title", self.params.title)
        yield from fill(env, "com.qvl.notes:id/body", self.params.body)
        yield tap(env, resource_id="com.qvl.notes:id/save")
        yield Terminate(status="success")


class AppendToNote(AndroidTask):
    id = "android/append-to-note"
    app = "com.qvl.notes"
    Params = NoteParams

    @classmethod
    def sample_params(cls, rng: random.Random) -> NoteParams:
        title, body = rng.choice(NOTE_TOPICS)
        return NoteParams(title=title, body=body, addition=f" Call {rng.choice(FIRST)} at {rng.randint(1, 11)}.")

    @property
    def goal(self) -> str:
        return f'Add "{self.params.addition.strip()}" at the end of the note "{self.params.title}".'

    def _seed(self, env: Env) -> None:
        for title, body in NOTE_TOPICS:
            insert(env, NOTES, title=title, body=body)

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
        yield from fill(env, "com.qvl.notes:id/body", self.params.addition)
        yield tap(env, resource_id="com.qvl.notes:id/save")
        yield Terminate(status="success")


# -- clock ------------------------------------------------------------------------------------
