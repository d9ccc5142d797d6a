"""Clock tasks: set an alarm, turn one off, count the ones that are on."""

from __future__ import annotations

import random
from collections.abc import Iterator

from pydantic import Field

from qvl_agent.agent.trajectory import Trajectory
from qvl_agent.envs.actions import Action, Answer, Click, OpenApp, Terminate
from qvl_agent.envs.base import Env
from qvl_agent.tasks.android.common import ALARMS, ANSWER_HINT, AndroidTask, fill
from qvl_agent.tasks.android.device import (
    digits, find_node, insert, query, shipped, tap, ui_nodes,
)
from qvl_agent.tasks.base import TaskParams

__all__ = ["SetAlarm", "TurnOffAlarm", "EnabledAlarmsQuestion"]


class AlarmParams(TaskParams):
    hour: int = Field(ge=0, le=23)
    minute: int = Field(ge=0, le=59)
    existing: list[tuple[int, int, bool]] = Field(default_factory=list)


def _seed_alarms(env: Env, alarms: list[tuple[int, int, bool]]) -> None:
    for hour, minute, enabled in alarms:
        insert(env, ALARMS, hour=hour, minutes=minute, enabled=int(enabled), label="")


def _alarms(env: Env) -> list[tuple[int, int, bool]]:
    return [(int(r["hour"]), int(r["minutes"]), r["enabled"] == "1")
            for r in query(env, ALARMS, ["hour", "minutes", "enabled"])]


def _clock_id(env: Env, name: str) -> str:
    """A resource id of the phone's Clock app (Google's and Samsung's ship under their own
    package)."""
    return f"{shipped(env, 'com.android.deskclock')}:id/{name}"


def _distinct_times(rng: random.Random, count: int) -> list[tuple[int, int]]:
    times: set[tuple[int, int]] = set()
    while len(times) < count:
        times.add((rng.randint(5, 22), rng.choice([0, 15, 30, 45])))
    return sorted(times)


class SetAlarm(AndroidTask):
    id = "android/set-alarm"
    app = "com.android.deskclock"
    Params = AlarmParams

    @classmethod
    def sample_params(cls, rng: random.Random) -> AlarmParams:
        return AlarmParams(hour=rng.randint(5, 10), minute=rng.choice([0, 10, 15, 20, 30, 45, 50]))

    @property
    def goal(self) -> str:
        return f"Set an alarm for {self.params.hour:02d}:{self.params.minute:02d}."

    def check(self, env: Env, trajectory: Trajectory) -> float:
        return float((self.params.hour, self.params.minute, True) in _alarms(env))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Clock")
        yield tap(env, resource_id=_clock_id(env, "fab"))
        yield from fill(env, _clock_id(env, "hour"), str(self.params.hour))
        yield from fill(env, _clock_id(env, "minute"), f"{self.params.minute:02d}")
        yield tap(env, resource_id=_clock_id(env, "save"))
        yield Terminate(status="success")


class TurnOffAlarm(AndroidTask):
    id = "android/turn-off-alarm"
    app = "com.android.deskclock"
    Params = AlarmParams

    @classmethod
    def sample_params(cls, rng: random.Random) -> AlarmParams:
        times = _distinct_times(rng, 3)
        hour, minute = rng.choice(times)
        return AlarmParams(hour=hour, minute=minute, existing=[(h, m, True) for h, m in times])

    @property
    def goal(self) -> str:
        return f"Turn off the {self.params.hour:02d}:{self.params.minute:02d} alarm; keep the others on."

    def _seed(self, env: Env) -> None:
        _seed_alarms(env, self.params.existing)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        want = sorted((h, m, (h, m) != (self.params.hour, self.params.minute)) for h, m, _ in self.params.existing)
        return float(sorted(_alarms(env)) == want)

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Clock")
        nodes = ui_nodes(env)
        time = find_node(env, text=f"{self.params.hour:02d}:{self.params.minute:02d}", nodes=nodes)
        row_top, row_bottom = time.bounds[1], time.bounds[3]
        switches = [n for n in nodes if n.resource_id == _clock_id(env, "onoff")]
        # The switch on the same row: the one whose vertical extent overlaps the time's.
        switch = min(switches, key=lambda n: abs((n.bounds[1] + n.bounds[3]) - (row_top + row_bottom)))
        yield Click(at=switch.center)
        yield Terminate(status="success")


class EnabledAlarmsQuestion(AndroidTask):
    id = "android/enabled-alarms-question"
    expects_answer = True
    app = "com.android.deskclock"
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

    def _seed(self, env: Env) -> None:
        _seed_alarms(env, self.params.existing)

    def check(self, env: Env, trajectory: Trajectory) -> float:
        truth = sum(enabled for _, _, enabled in _alarms(env))
        return float(digits(trajectory.meta.answer) == str(truth))

    def oracle(self, env: Env) -> Iterator[Action]:
        yield OpenApp(name="Clock")
        onoff = _clock_id(env, "onoff")
        switches = [n for n in ui_nodes(env) if n.resource_id == onoff]
        yield Answer(text=str(sum(n.checked for n in switches)))


# -- flights ----------------------------------------------------------------------------------
