"""MiniWoB++ as a suite: every task page the ``miniwob`` package ships, in our browser env.

Episodes start as the package's own environment starts them: load the page, seed
``Math.random`` with ``Math.seedrandom(seed)``, then ``core.startEpisodeReal()``. The goal
is the page's utterance; the page's own end of the episode counts as the agent's. The
page's 10-second limit is lifted so a slow model is not cut off, and the viewport is
exactly the task area shown at device scale 3, so the model reads 10px text as 30px.

Scoring: the score is the page's raw reward (no time penalty), and an instance is solved
only at a raw reward of 1.0, the package's own binary rule. "Raw reward > 0" would be
fooled: several pages give positive partial credit to wrong answers (find-greatest gives
0.1 for the wrong card, click-checkboxes pays for most boxes right).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, ClassVar

from qvl_agent.envs.actions import Action
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import TaskError
from qvl_agent.envs.spec import BrowserSpec
from qvl_agent.tasks.base import Task
from qvl_agent.tasks.miniwob.server import base_url, html_root
from qvl_agent.tasks.suite import Suite

__all__ = ["MiniWoBTask", "MINIWOB_TASKS", "SCALE", "MINIWOB_SCREEN", "page_state", "suite"]

SCALE = 3.0
_NO_LIMIT_MS = 24 * 3600 * 1000
_FLIGHTS = {"flight.AA": "flight/AA/wrapper.html", "flight.Alaska": "flight/Alaska/wrapper.html",
            "flight.Alaska-auto": "flight/Alaska-auto/wrapper.html"}


def page_state(env: Any) -> dict[str, Any]:
    """The page's episode globals: done, raw reward, reason."""
    return env.page.evaluate(
        "() => ({done: WOB_DONE_GLOBAL, raw: WOB_RAW_REWARD_GLOBAL, reward: WOB_REWARD_GLOBAL,"
        " reason: WOB_REWARD_REASON == null ? null : String(WOB_REWARD_REASON)})")


class MiniWoBTask(Task):
    """One MiniWoB++ page; the seed picks the problem the page generates."""

    family = "miniwob"
    env_kind = EnvKind.browser
    max_steps = 25
    name: ClassVar[str]
    path: ClassVar[str]
    viewport: ClassVar[tuple[int, int]] = (160, 210)

    @property
    def goal(self) -> str:
        if not hasattr(self, "_utterance"):
            raise TaskError(f"{self.id}: the goal is the page's utterance, known after setup()")
        return self._utterance

    def _setup(self, env: Env) -> None:
        browser: Any = env
        browser.resize(*self.viewport)
        url = base_url() + self.path
        if browser.page.url != url:
            browser.goto(url)
        browser.page.evaluate(
            """([seed, limit]) => {
                Math.seedrandom(seed);
                core.EPISODE_MAX_TIME = limit;
                core.startEpisodeReal();
            }""", [self.seed if self.seed is not None else 0, _NO_LIMIT_MS])
        for _ in range(100):
            if browser.page.evaluate("() => WOB_TASK_READY"):
                break
            time.sleep(0.05)
        else:
            raise TaskError(f"{self.id}: the page did not get ready in 5 s")
        # A page that focuses an element as it starts (click-dialog) can scroll the task
        # area out of the viewport; the first screenshot must show the task.
        browser.page.evaluate("() => window.scrollTo(0, 0)")
        utterance = browser.page.evaluate("() => core.getUtterance()")
        self._utterance = utterance["utterance"] if isinstance(utterance, dict) else str(utterance)
        self.fields = utterance.get("fields", {}) if isinstance(utterance, dict) else {}

    def episode_over(self, env: Env) -> bool:
        return bool(page_state(env)["done"])

    def check(self, env: Env, trajectory: Any) -> float:
        state = page_state(env)
        return min(1.0, max(0.0, float(state["raw"]))) if state["done"] else 0.0

    @classmethod
    def has_oracle(cls) -> bool:
        from qvl_agent.tasks.miniwob.oracles import ORACLES

        return cls.name in ORACLES

    def oracle(self, env: Env) -> Iterator[Action]:
        from qvl_agent.tasks.miniwob.oracles import ORACLES

        if self.name not in ORACLES:
            raise TaskError(f"{self.id} has no oracle")
        return ORACLES[self.name](env, self)


# Pages whose solution can take more than the default 25 steps.
_LONG = {"social-media-all": 50, "social-media-some": 50, "click-checkboxes-large": 40,
         "book-flight": 40, "book-flight-nodelay": 40, "email-inbox": 40}


def _task_class(name: str, path: str, viewport: tuple[int, int]) -> type[MiniWoBTask]:
    cls_name = "MiniWoB_" + "".join(c if c.isalnum() else "_" for c in name)
    attributes = {"id": f"miniwob/{name}", "name": name, "path": path, "viewport": viewport,
                  "__module__": __name__}
    if name in _LONG:
        attributes["max_steps"] = _LONG[name]
    return type(cls_name, (MiniWoBTask,), attributes)


def _discover() -> list[type[MiniWoBTask]]:
    root = html_root()
    tasks = [_task_class(page.stem, f"miniwob/{page.name}", (160, 210))
             for page in sorted((root / "miniwob").glob("*.html"))]
    tasks += [_task_class(name, path, (375, 667)) for name, path in _FLIGHTS.items()
              if (root / path).is_file()]
    return tasks


MINIWOB_TASKS = _discover()


# The page's 160x210 CSS pixels at 3x, and nothing but the local page server.
MINIWOB_SCREEN = BrowserSpec(viewport=(160, 210), device_scale=SCALE, allowed_domains=["127.0.0.1"])


suite = Suite(
    name="miniwob",
    description="MiniWoB++ web tasks (the miniwob package's pages, served on 127.0.0.1)",
    env_kind=EnvKind.browser,
    tasks=MINIWOB_TASKS,
    env=MINIWOB_SCREEN,
)
