"""MiniWoB++ oracles solve their tasks through screen Actions, and the page's checker is not fooled.

One browser serves the whole module: each episode loads its page, seeds it and plays the
oracle through ``run_episode`` exactly as a model's answers would be played.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.agent.trajectory import Trajectory
from qvl_agent.envs.actions import Action, Click, Terminate, TypeText
from qvl_agent.tasks.miniwob.oracles import ORACLES
from qvl_agent.tasks.miniwob.oracles_kit import click, click_css, quoted, read, spot
from qvl_agent.envs.factory import open_env
from qvl_agent.tasks.miniwob.suite import MINIWOB_SCREEN, MINIWOB_TASKS, MiniWoBTask, page_state

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEEDS = (0, 1, 2)
_TASKS = {task.name: task for task in MINIWOB_TASKS}


@pytest.fixture(scope="module")
def env() -> Iterator[Any]:
    env = open_env(MINIWOB_SCREEN)
    yield env
    env.close()


def _play(env: Any, task: MiniWoBTask, actions: Iterator[Action]) -> tuple[float, Trajectory]:
    """Play ``actions`` on the set-up ``task``; the score and the trajectory."""
    try:
        trajectory = run_episode(env, ScriptedPolicy(actions, name="scripted"), task.goal,
                                 max_steps=task.max_steps, stop_when=lambda: task.episode_over(env))
        return task.evaluate(env, trajectory), trajectory
    finally:
        task.teardown(env)


def test_every_oracle_names_a_task() -> None:
    assert set(ORACLES) <= set(_TASKS)
    assert all(_TASKS[name].has_oracle() for name in ORACLES)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(ORACLES))
def test_oracle_solves_the_task(env: Any, name: str, seed: int) -> None:
    task = _TASKS[name].from_seed(seed)
    task.setup(env)
    score, trajectory = _play(env, task, task.oracle(env))
    assert score == 1.0, (f"{name} seed {seed}: {trajectory.meta.status} "
                          f"({trajectory.meta.message}), page {page_state(env)}, "
                          f"goal {task.goal!r}")
    assert trajectory.meta.status == "env_done"


def test_claiming_success_without_acting_scores_nothing(env: Any) -> None:
    task = _TASKS["click-button"].from_seed(0)
    task.setup(env)
    score, trajectory = _play(env, task, iter([Terminate(status="success")]))
    assert trajectory.meta.status == "success"
    assert score == 0.0
    assert not page_state(env)["done"]


def _wrong_button(env: Any, task: MiniWoBTask) -> Iterator[Action]:
    """Click a button whose label is not the one the goal asks for."""
    expr = "$$('#area button').find(b => text(b) !== arg)"
    yield Click(at=spot(env, expr, quoted(task.goal)[0]))


def test_clicking_the_wrong_button_scores_nothing(env: Any) -> None:
    for seed in range(20):
        task = _TASKS["click-button"].from_seed(seed)
        task.setup(env)
        if env.page.evaluate("b => [...document.querySelectorAll('#area button')]"
                             ".some(e => e.textContent.trim() !== b)", quoted(task.goal)[0]):
            break
        task.teardown(env)
    else:
        pytest.fail("no click-button seed below 20 shows a second label")
    score, trajectory = _play(env, task, _wrong_button(env, task))
    assert trajectory.meta.status == "env_done"
    assert page_state(env)["raw"] < 0
    assert score == 0.0


def _typo(env: Any, task: MiniWoBTask) -> Iterator[Action]:
    """Type the quoted text with one letter too many, then submit."""
    yield Click(at=spot(env, "document.getElementById('tt')"))
    yield TypeText(text=quoted(task.goal)[0] + "x")
    yield Click(at=spot(env, "document.getElementById('subbtn')"))


def test_a_wrong_answer_typed_in_scores_nothing(env: Any) -> None:
    task = _TASKS["enter-text"].from_seed(0)
    task.setup(env)
    score, trajectory = _play(env, task, _typo(env, task))
    assert trajectory.meta.status == "env_done"
    assert page_state(env)["raw"] < 0
    assert score == 0.0


def _smallest_card(env: Any, task: MiniWoBTask) -> Iterator[Action]:
    """Turn up the card with the smallest number (the page pays 0.1 for a wrong card)."""
    values = [int(v) for v in read(env, "$$('#cardholder .card-value').map(e => e.textContent)")]
    yield click(env, "$$('#cardholder .card')[arg]", values.index(min(values)))
    yield click_css(env, "#submit")


def test_partial_credit_for_a_wrong_answer_is_not_a_success(env: Any) -> None:
    task = _TASKS["find-greatest"].from_seed(0)
    task.setup(env)
    score, trajectory = _play(env, task, _smallest_card(env, task))
    assert trajectory.meta.status == "env_done"
    assert 0 < page_state(env)["raw"] < 1  # the page itself is fooled into paying...
    assert 0 < score < 1  # ...the score shows it, and only 1.0 counts as solved
