"""The android suite's checkers against near misses: the work done almost right, through the
phone's screen (wrong alarm time, wrong number, a flight that is not the cheapest, another
note, another app...). Each must score 0; each near miss is shown to have really happened."""

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.envs.actions import Answer, Click, OpenApp, Terminate
from qvl_agent.envs.sim.apps.flights import flights_for
from qvl_agent.tasks.android.common import NOTE_TOPICS, fill
from qvl_agent.tasks.android.device import VENDOR_PACKAGES, query, settings_get, tap, ui_nodes
from qvl_agent.tasks.android.system import OpenAppTask, ToggleBluetooth, ToggleWifi
from qvl_agent.tasks.android.tasks import ANDROID_TASKS
from tests.tasks.test_android_suite import phone, phones  # noqa: F401 - the suite tests' phones

pytestmark = pytest.mark.android


def neighbour(task, **changes):
    """The same task with other parameters: its oracle does the work for the wrong values."""
    return type(task)(task.params.model_copy(update=changes), seed=task.seed)


def other_digit(number):
    return number[:-1] + str((int(number[-1]) + 1) % 10)


def toggle_instead(other):
    """The other radio's oracle: the right gesture on the wrong switch."""
    def actions(task, env):
        yield from other(other.Params(on=not task.params.on)).oracle(env)
    return actions


def search(env, params):
    yield OpenApp(name="Flights")
    for field, value in (("from", params.origin), ("to", params.destination), ("date", params.date)):
        yield from fill(env, f"com.qvl.flights:id/{field}", value)
    yield tap(env, resource_id="com.qvl.flights:id/search")


def by_price(params):
    return sorted(flights_for(params.origin, params.destination, params.date), key=lambda f: f.price)


def dearer(params):
    """A flight that is not the cheapest (dearer than it, so never tied with it)."""
    flights = by_price(params)
    return next(f for f in flights if f.price > flights[0].price)


def book_a_dearer_flight(task, env):
    yield from search(env, task.params)
    dearer_one = dearer(task.params)
    yield Click(at=next(n for n in ui_nodes(env) if dearer_one.number in n.text).center)
    yield tap(env, resource_id="com.qvl.flights:id/book")
    yield Terminate(status="success")


def answer_a_dearer_fare(task, env):
    yield from search(env, task.params)
    yield Answer(text=f"${dearer(task.params).price}")


def answer_none_found(task, env):
    yield from search(env, task.params)
    yield Answer(text="There are no flights there.")  # infeasible: the answer is not a refusal


def count_one_too_many(task, env):
    yield OpenApp(name="Clock")
    yield Answer(text=str(sum(enabled for _, _, enabled in task.params.existing) + 1))


def another_time(task):
    hour, minute = next((h, m) for h, m, _ in task.params.existing
                        if (h, m) != (task.params.hour, task.params.minute))
    return neighbour(task, hour=hour, minute=minute)


def another_note(task):
    title, body = next(t for t in NOTE_TOPICS if t[0] != task.params.title)
    return neighbour(task, title=title, body=body)


def another_app(task):
    label, package = next(app for app in OpenAppTask.APPS if app[0] != task.params.label)
    return neighbour(task, label=label, packages=list(VENDOR_PACKAGES.get(package, (package,))))


def oracle_of(make):
    return lambda task, env: make(task).oracle(env)


def bookings(env):
    return [r["flight"] for r in query(env, "content://com.qvl.flights/bookings", ["flight"])]


# task id -> (the near miss's actions, the neighbouring task that it does solve, or a piece of
# the phone's state it must change): proof that the near miss was really carried out.
NEAR_MISSES = {
    "android/toggle-wifi": (toggle_instead(ToggleBluetooth),
                            lambda env: settings_get(env, "global", "bluetooth_on")),
    "android/toggle-bluetooth": (toggle_instead(ToggleWifi),
                                 lambda env: settings_get(env, "global", "wifi_on")),
    "android/toggle-airplane-mode": (toggle_instead(ToggleWifi),
                                     lambda env: settings_get(env, "global", "wifi_on")),
    "android/add-contact": lambda task: neighbour(task, number=other_digit(task.params.number)),
    "android/contact-number-question": lambda task: neighbour(task, name=task.params.others[0][0],
                                                              number=task.params.others[0][1]),
    "android/create-note": lambda task: neighbour(task, body=task.params.body.rstrip(".")),
    "android/append-to-note": another_note,
    "android/set-alarm": lambda task: neighbour(task, minute=(task.params.minute + 5) % 60),
    "android/turn-off-alarm": another_time,
    "android/enabled-alarms-question": (count_one_too_many, None),
    "android/book-cheapest-flight": (book_a_dearer_flight, bookings),
    "android/cheapest-fare-question": (answer_a_dearer_fare, None),
    "android/book-flight-to-nowhere": (answer_none_found, None),
    "android/open-app": another_app,
}


def test_every_task_has_a_near_miss():
    assert sorted(NEAR_MISSES) == sorted(t.id for t in ANDROID_TASKS)


@pytest.mark.parametrize("task_cls", ANDROID_TASKS, ids=lambda t: t.id)
def test_near_misses_score_nothing(phone, task_cls):
    task = task_cls.from_seed(3)
    near = NEAR_MISSES[task.id]
    solves = near if callable(near) else None  # the neighbouring instance it solves
    actions, state = (oracle_of(near), None) if callable(near) else near
    task.setup(phone)
    before = state(phone) if state else None
    trajectory = run_episode(phone, ScriptedPolicy(actions(task, phone)), task.goal, max_steps=task.max_steps,
                             stop_when=lambda: task.episode_over(phone))
    assert trajectory.meta.status in ("success", "answered"), trajectory.meta.message
    score = task.evaluate(phone, trajectory)
    if solves:
        assert solves(task).check(phone, trajectory) == 1.0  # the wrong thing, done right
    if state:
        assert state(phone) != before  # the near miss changed the phone
    task.teardown(phone)
    assert score == 0.0, task.describe()
