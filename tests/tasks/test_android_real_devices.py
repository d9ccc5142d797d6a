"""The android suite on a real phone: only the tasks a stock phone can run, said out loud, and
setup steps that fail loudly instead of scoring zero."""

from __future__ import annotations

import json

import pytest

from qvl_agent.envs.android import AndroidEnv
from qvl_agent.envs.errors import ConfigError, TaskError
from qvl_agent.envs.virtual_phone import start_virtual_phone
from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.tasks.android.contacts import AddContact, ContactNumberQuestion
from qvl_agent.tasks.android.device import PHONES, RAW_CONTACTS, add_contact, insert, query
from qvl_agent.tasks.android.system import ToggleWifi
from qvl_agent.tasks.android.tasks import ANDROID_TASKS
from qvl_agent.tasks.registry import get_suite
from tests.conftest import run_cli

pytestmark = pytest.mark.android

ANY = {"android/toggle-wifi", "android/toggle-bluetooth", "android/toggle-airplane-mode",
       "android/add-contact", "android/contact-number-question"}


@pytest.fixture(scope="module")
def sim():
    """A Galaxy (samsung-11) addressed by its serial, as a real phone would be: its contacts
    provider refuses `pm clear`."""
    with start_virtual_phone(animations=False, profile="samsung-11") as process:
        yield process


def test_a_real_phone_gets_only_the_tasks_that_run_on_a_stock_phone():
    suite = get_suite("android")
    kept, note = suite.runnable({"device": "R58M123ABC"})
    assert {t.id for t in kept} == ANY
    skipped = len(ANDROID_TASKS) - len(ANY)
    assert note is not None and f"skipped {skipped} of {len(ANDROID_TASKS)}" in note
    assert "--device sim" in note
    for device in ("sim", "sim:android-9"):
        assert suite.runnable({"device": device}) == (list(ANDROID_TASKS), None)
    suite.check_options(suite.spec({"device": "sim:android-11"}), 2)
    with pytest.raises(ConfigError, match="no virtual phone profile 'android-99'.*android-14"):
        suite.spec({"device": "sim:android-99"})


class _OldAddContact(AddContact):
    """Seeds the way the suite used to: straight into data/phones, which a phone refuses."""

    def _seed(self, env):
        insert(env, PHONES, display_name="Grace Hopper", data1="555-0100")


def test_a_setup_the_phone_refuses_raises_task_error_not_a_zero(sim):
    env = AndroidEnv(sim.serial)
    task = _OldAddContact.from_seed(0)
    with pytest.raises(TaskError, match="Unknown uri"):
        task.setup(env)
    assert query(env, PHONES, ["display_name"]) == []   # and nothing half-seeded stayed
    env.close()


def names(env):
    return sorted(row["display_name"] for row in query(env, PHONES, ["display_name"]))


@pytest.mark.parametrize("task_cls", [AddContact, ContactNumberQuestion])
def test_contacts_tasks_touch_only_their_own_contacts(sim, task_cls):
    env = AndroidEnv(sim.serial)
    task = task_cls.from_seed(5)
    add_contact(env, "Owner Person", "555-0000")              # the phone's owner's contact
    add_contact(env, task.params.name, "555-9999")            # left by a run that died
    task.setup(env)
    seeded = names(env)
    assert "Owner Person" in seeded and seeded.count(task.params.name) == (
        1 if task_cls is ContactNumberQuestion else 0)        # the leftover is gone
    trajectory = run_episode(env, ScriptedPolicy(task.oracle(env)), task.goal,
                             max_steps=task.max_steps)
    assert task.evaluate(env, trajectory) == 1.0
    task.teardown(env)
    assert names(env) == ["Owner Person"]                     # all the task made is gone
    env.shell(["content", "delete", "--uri", RAW_CONTACTS, "--where",
               "display_name = 'Owner Person'"])
    env.close()


def test_a_radio_that_does_not_switch_raises_task_error(sim, monkeypatch):
    """A phone where the shell's radio command does nothing (a build that gates it): the
    setup reads the radio back and says so, instead of leaving the task unsolvable."""
    import qvl_agent.tasks.android.device as device

    env = AndroidEnv(sim.serial)
    env.shell(["svc", "wifi", "disable"])
    # The real command with a radio this phone does not know: it switches nothing.
    monkeypatch.setitem(device._RADIO_COMMANDS, "wifi_on",
                        (["svc", "wlan", "enable"], ["svc", "wlan", "disable"]))
    monkeypatch.setattr(device, "RADIO_TIMEOUT_S", 0.5)
    task = ToggleWifi(ToggleWifi.Params(on=False))   # so setup must turn Wi-Fi on
    with pytest.raises(TaskError, match="could not turn wifi on"):
        task.setup(env)
    env.close()


@pytest.mark.slow
def test_eval_on_a_serial_runs_the_stock_tasks_and_says_what_it_skipped(sim, tmp_path):
    out = tmp_path / "run"
    result = run_cli("eval", "--suite", "android", "--device", sim.serial, "--policy", "oracle",
                     "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert f"skipped {len(ANDROID_TASKS) - len(ANY)} of {len(ANDROID_TASKS)} tasks" in result.stderr
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert {row["task"] for row in rows} == ANY
    assert all(row["outcome"] == "success" for row in rows), rows
