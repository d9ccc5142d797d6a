"""The android suite: every task is solved by its oracle on the virtual phone, the checkers
read the phone's real state, and claims of success without the work score nothing."""

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.envs.actions import Answer, Terminate
from qvl_agent.tasks.android.tasks import ANDROID_TASKS
from qvl_agent.tasks.registry import get_suite

pytestmark = pytest.mark.android


@pytest.fixture(scope="module")
def phone():
    """A virtual phone whose screen is still right after each input: the tasks are under test
    here (tests/envs/test_android_quirks.py covers settling on a moving screen)."""
    from qvl_agent.envs.android import AndroidEnv
    from qvl_agent.envs.virtual_phone import start_virtual_phone

    with start_virtual_phone(animations=False) as sim:
        env = AndroidEnv(sim.serial)
        yield env
        env.close()


def play(env, task, policy):
    task.setup(env)
    trajectory = run_episode(env, policy, task.goal, max_steps=task.max_steps,
                             stop_when=lambda: task.episode_over(env))
    score = task.evaluate(env, trajectory)
    task.teardown(env)
    return score


def test_suite_is_registered_with_enough_tasks():
    suite = get_suite("android")
    assert len(suite.tasks) >= 12 and all(t.has_oracle() for t in suite.tasks)
    assert any(t.infeasible for t in suite.tasks)
    assert any("answer" in t.from_seed(0).goal for t in suite.tasks)


@pytest.mark.parametrize("task_cls", ANDROID_TASKS, ids=lambda t: t.id)
def test_oracle_solves_each_task(phone, task_cls):
    for seed in (0, 1):
        task = task_cls.from_seed(seed)
        assert play(phone, task, ScriptedPolicy(task.oracle(phone))) == 1.0, task.describe()


@pytest.mark.parametrize("task_cls", ANDROID_TASKS, ids=lambda t: t.id)
def test_claims_without_work_score_nothing(phone, task_cls):
    task = task_cls.from_seed(2)
    # "Done!" without doing anything: the state check (or the answer check) must say no.
    claim = Answer(text="42") if "answer" in task.goal else Terminate(status="success")
    assert play(phone, task, ScriptedPolicy([claim])) == 0.0, task.id


def test_a_real_device_cannot_be_shared_by_workers():
    from qvl_agent.envs.errors import ConfigError

    suite = get_suite("android")
    with pytest.raises(ConfigError, match="--device sim"):
        suite.check_options(suite.spec({"device": "emulator-5554"}), 2)
    suite.check_options(suite.spec({"device": "sim"}), 4)
