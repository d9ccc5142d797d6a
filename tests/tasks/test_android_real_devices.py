"""The android suite on a real phone: only the tasks a stock phone can run, said out loud, and
setup steps that fail loudly instead of scoring zero."""

from __future__ import annotations

import json

import pytest

from qvl_agent.envs.android import AndroidEnv
from qvl_agent.envs.errors import ConfigError, TaskError
from qvl_agent.envs.virtual_phone import start_virtual_phone
from qvl_agent.tasks.android.contacts import AddContact
from qvl_agent.tasks.android.device import PHONES, insert, query
from qvl_agent.tasks.android.system import ToggleWifi
from qvl_agent.tasks.android.tasks import ANDROID_TASKS
from qvl_agent.tasks.registry import get_suite
from tests.conftest import run_cli

pytestmark = pytest.mark.android

ANY = {"android/toggle-wifi", "android/toggle-bluetooth", "android/toggle-airplane-mode",
       "android/add-contact", "android/contact-number-question"}


@pytest.fixture(scope="module")
def sim():
    """A virtual phone addressed by its serial, as a real phone would be."""
    with start_virtual_phone(animations=False) as process:
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
