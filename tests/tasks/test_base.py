"""Task lifecycle order and the scoring rules every task shares."""

import random

import pytest

from qvl_agent.agent.trajectory import RunMeta, Trajectory
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import TaskError
from qvl_agent.envs.fake import FakeEnv
from qvl_agent.tasks.base import Task, TaskParams


class Params(TaskParams):
    n: int


class Count(Task):
    id = "test/count"
    env_kind = EnvKind.browser
    Params = Params

    @classmethod
    def sample_params(cls, rng: random.Random) -> Params:
        return Params(n=rng.randint(1, 1000))

    @property
    def goal(self) -> str:
        return f"click {self.params.n} times"

    def check(self, env, trajectory) -> float:
        return 1.0 if len(env.executed) == self.params.n else 0.0


class Impossible(Count):
    id = "test/impossible"
    infeasible = True


def ended(status):
    return Trajectory(meta=RunMeta(goal="g", env="browser", tool="computer_use", model="m",
                                   started_at="t", status=status))


def test_params_are_seeded_and_reproducible():
    assert Count.from_seed(3).params == Count.from_seed(3).params
    assert len({Count.from_seed(s).params.n for s in range(20)}) > 10


def test_order_is_enforced():
    task, env = Count.from_seed(0), FakeEnv()
    with pytest.raises(TaskError, match="evaluate\\(\\) before setup\\(\\)"):
        task.evaluate(env, ended("success"))
    task.setup(env)
    with pytest.raises(TaskError, match="twice"):
        task.setup(env)
    with pytest.raises(TaskError, match="needs a browser env"):
        Count.from_seed(0).setup(FakeEnv(kind=EnvKind.android))


def test_success_counts_only_if_the_agent_ended_the_episode():
    task = Count(Params(n=0))
    env = FakeEnv()
    task.setup(env)
    assert task.evaluate(env, ended("success")) == 1.0
    assert task.evaluate(env, ended("env_done")) == 1.0
    for status in ("budget", "model_errors", "stopped", "error", "interrupted", "failure"):
        assert task.evaluate(env, ended(status)) == 0.0  # the state is right, but nobody said so


def test_infeasible_tasks_expect_terminate_failure():
    task, env = Impossible(Params(n=0)), FakeEnv()
    task.setup(env)
    assert task.evaluate(env, ended("failure")) == 1.0
    assert task.evaluate(env, ended("success")) == 0.0


def test_an_android_task_on_a_screen_that_is_not_a_phone_says_so():
    from qvl_agent.tasks.android.tasks import ANDROID_TASKS

    task = next(t for t in ANDROID_TASKS if t.app).from_seed(0)
    with pytest.raises(TaskError, match=r"needs a phone over adb \(an AndroidEnv\), got a FakeEnv"):
        task.setup(FakeEnv(kind=EnvKind.android))  # the right kind, but no adb behind it
