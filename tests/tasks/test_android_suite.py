"""The android suite: every task is solved by its oracle on every virtual phone profile with
the phone asleep and locked before each episode, as a real phone is after a pause; the
checkers read the phone's real state, and claims of success without the work score nothing."""

import re

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.envs.actions import Answer, Terminate
from qvl_agent.tasks.android.tasks import ANDROID_TASKS
from qvl_agent.tasks.registry import get_suite

pytestmark = pytest.mark.android


PROFILES = ("android-9", "android-11", "android-14", "samsung-11")


@pytest.fixture(scope="module")
def phones():
    """One phone per profile, its screen still right after each input: the tasks are under
    test here (tests/envs/test_android_quirks.py covers the timing)."""
    from qvl_agent.envs.android import AndroidEnv
    from qvl_agent.envs.virtual_phone import start_virtual_phone

    started = {}

    def get(profile):
        if profile not in started:
            sim = start_virtual_phone(profile=profile, animations=False)
            started[profile] = (sim, AndroidEnv(sim.serial))
        return started[profile][1]

    yield get
    for sim, env in started.values():
        env.close()
        sim.stop()


@pytest.fixture(scope="module")
def phone(phones):
    return phones("android-14")


def asleep_and_locked(env):
    """What a phone looks like after a pause between episodes: the screen off and locked."""
    env.shell(["input", "keyevent", "KEYCODE_SLEEP"])
    power = env.shell(["dumpsys", "power"], changes_screen=False)
    policy = env.shell(["dumpsys", "window", "policy"], changes_screen=False)
    assert "mWakefulness=Asleep" in power and re.search(r"^\s+showing=true$", policy, re.M)


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


# Tasks in the virtual phone's own apps (Notes, Flights) look the same on every vendor's
# phone: two profiles (one per Settings and lock-screen family) cover them; the rest, whose
# packages, labels or Settings differ, run on all four.
CASES = [pytest.param(task_cls, profile, id=f"{task_cls.id}-{profile}")
         for task_cls in ANDROID_TASKS for profile in PROFILES
         if not (task_cls.app or "").startswith("com.qvl.") or profile in ("android-9",
                                                                          "samsung-11")]


@pytest.mark.parametrize(("task_cls", "profile"), CASES)
def test_oracle_solves_each_task_after_the_phone_slept(phones, profile, task_cls):
    env = phones(profile)
    task = task_cls.from_seed(PROFILES.index(profile))
    asleep_and_locked(env)
    assert play(env, task, ScriptedPolicy(task.oracle(env))) == 1.0, (profile, task.describe())


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
