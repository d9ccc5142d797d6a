"""AndroidControl-layout episodes from oracle runs of an Android suite.

Each instance runs as ``qvl-agent eval --policy oracle`` runs it (the task's setup, its
oracle through ``run_episode`` with a run directory, the task's own check), on an env that
also keeps the ``uiautomator dump`` of every screen the oracle acted on. Only solved
episodes are kept. Each step gets the screenshot, the tree, the action in AndroidControl's
JSON, the tapped element's index (``targets``) and a step instruction written from it.
Terminate and answer steps have no AndroidControl action and end the episode's steps.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from collections.abc import Callable
from typing import Any

from qvl_agent.agent.loop import run_episode
from qvl_agent.agent.policy import ScriptedPolicy
from qvl_agent.agent.recorder import RunRecorder
from qvl_agent.agent.trajectory import RunMeta, now_iso
from qvl_agent.envs.actions import Action, Click, LongPress, OpenApp, Swipe, SystemButton, TypeText, Wait
from qvl_agent.envs.base import EnvKind
from qvl_agent.envs.errors import ConfigError
from qvl_agent.eval.bench.androidcontrol import scroll_direction
from qvl_agent.eval.bench.androidcontrol_data import ControlStep, UIElement, target_element, write_jsonl_episodes

__all__ = ["build_androidcontrol", "control_json", "step_instruction"]


class _TreeKeepingEnv:
    """The env, plus the uiautomator tree of each screen the loop observes."""

    def __init__(self, env: Any) -> None:
        from qvl_agent.tasks.android.device import ui_nodes

        self._env, self._ui_nodes = env, ui_nodes
        self.trees: list[list[UIElement]] = []

    def observe(self) -> Any:
        observation = self._env.observe()
        self.trees.append([UIElement(bounds=n.bounds, text=n.text, content_desc=n.content_desc,
                                     resource_id=n.resource_id, class_name=n.cls)
                           for n in self._ui_nodes(self._env)])
        return observation

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)


def control_json(action: Action) -> dict[str, Any] | None:
    """``action`` in AndroidControl's JSON, or None for one it has no type for."""
    match action:
        case Click(at=at) if at is not None:
            return {"action_type": "click", "x": round(at.x), "y": round(at.y)}
        case LongPress(at=at):
            return {"action_type": "long_press", "x": round(at.x), "y": round(at.y)}
        case Swipe(start=start, end=end):
            return {"action_type": "scroll",
                    "direction": scroll_direction(end.x - start.x, end.y - start.y)}
        case TypeText(text=text):
            return {"action_type": "input_text", "text": text}
        case OpenApp(name=name):
            return {"action_type": "open_app", "app_name": name}
        case SystemButton(button="home"):
            return {"action_type": "navigate_home"}
        case SystemButton(button="back"):
            return {"action_type": "navigate_back"}
        case Wait():
            return {"action_type": "wait"}
    return None


def _label(element: UIElement | None) -> str | None:
    if element is None:
        return None
    for value in (element.text, element.content_desc):
        if any(c.isalnum() for c in value):
            return f'"{value}"'
    if element.resource_id:
        words = element.resource_id.rsplit("/", 1)[-1].replace("_", " ")
        return f"the {words} {'field' if 'Edit' in element.class_name else 'button'}"
    return None


def step_instruction(action: dict[str, Any], target: UIElement | None) -> str:
    """A person's one-line instruction for the step, as AndroidControl's annotators wrote them."""
    kind = action["action_type"]
    label = _label(target)
    match kind:
        case "click":
            return f"Click on {label}" if label else f"Click at ({action['x']}, {action['y']})"
        case "long_press":
            return f"Long press on {label}" if label else f"Long press at ({action['x']}, {action['y']})"
        case "input_text":
            return f'Type "{action["text"]}"' + (f" in {label}" if label else "")
        case "open_app":
            return f"Open the {action['app_name']} app"
        case "scroll":
            return f"Scroll {action['direction']}"
        case "navigate_home":
            return "Go to the home screen"
        case "navigate_back":
            return "Go back"
    return "Wait for the screen to load"


def build_androidcontrol(out: Path, *, suite: str = "android", seeds: int = 1,
                         tasks: str | None = None, device: str = "sim",
                         say: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Run the suite's oracles and append the solved episodes to ``out/episodes.jsonl``;
    ``say`` is told what is happening (the screen starting, each episode as it ends)."""
    from qvl_agent.tasks.registry import get_suite

    chosen = get_suite(suite)
    if chosen.env_kind is not EnvKind.android:
        raise ConfigError(f"--suite {suite} runs on {chosen.env_kind.value}; AndroidControl "
                          "episodes need an android suite")
    if seeds < 1:
        raise ConfigError(f"--seeds must be at least 1, got {seeds}")
    pattern = re.compile(tasks) if tasks else None
    todo = [t for t in chosen.with_oracle if pattern is None or pattern.search(t.id)]
    if not todo:
        raise ConfigError(f"no task of suite {suite} with an oracle matches --tasks {tasks!r}")
    out = Path(out)
    if (out / "episodes.jsonl").exists():
        raise ConfigError(f"{out} already holds episodes.jsonl; give another --out")
    (out / "screenshots").mkdir(parents=True, exist_ok=True)
    from qvl_agent.envs.factory import open_env

    say(f"starting the screen ({'the virtual phone' if device.startswith('sim') else device})")
    env = open_env(chosen.spec({"device": device}))
    kept, failed = 0, []
    total = len(todo) * seeds
    try:
        for task_cls in todo:
            for seed in range(seeds):
                episode = _episode(env, task_cls, seed, out)
                done = kept + len(failed) + 1
                if episode is None:
                    failed.append(f"{task_cls.id}-{seed}")
                    say(f"[{done}/{total}] {task_cls.id}#{seed}: not solved, left out")
                    continue
                write_jsonl_episodes(out, [episode])
                kept += 1
                say(f"[{done}/{total}] {task_cls.id}#{seed}: kept, "
                    f"{len(episode['actions'])} steps")
    finally:
        env.close()
    return {"episodes": kept, "failed": failed, "file": str(out / "episodes.jsonl")}


def _episode(env: Any, task_cls: Any, seed: int, out: Path) -> dict[str, Any] | None:
    task = task_cls.from_seed(seed)
    episode_id = f"{task_cls.id.replace('/', '_')}-{seed}"
    run_dir = out / "runs" / episode_id
    task.setup(env)
    keeping = _TreeKeepingEnv(env)
    meta = RunMeta(goal=task.goal, env=env.kind.value, tool=env.kind.tool, model="oracle",
                   started_at=now_iso(), options={"task": task_cls.id, "seed": seed})
    trajectory = run_episode(keeping, ScriptedPolicy(task.oracle(env), name="oracle"),  # type: ignore[arg-type]
                             task.goal, max_steps=task.max_steps,
                             recorder=RunRecorder(run_dir, replace=True), meta=meta,
                             stop_when=lambda: task.episode_over(env))
    solved = trajectory.status not in ("error", "interrupted") and task.evaluate(env, trajectory) >= 1.0
    task.teardown(env)
    observed = [s for s in trajectory.steps if s.screenshot is not None]
    if not solved or len(observed) != len(keeping.trees):
        return None
    fields: dict[str, list[Any]] = {k: [] for k in (
        "screenshots", "screenshot_widths", "screenshot_heights", "accessibility_trees",
        "actions", "step_instructions", "targets")}
    for step, tree in zip(observed, keeping.trees):
        action = control_json(step.action) if step.action is not None else None
        if action is None:
            break  # terminate / answer: the episode's AndroidControl steps end here
        name = f"screenshots/{episode_id}_{len(fields['actions'])}.png"
        shutil.copyfile(run_dir / step.screenshot, out / name)
        assert step.screen is not None
        probe = ControlStep(index=0, screenshot=out / name, width=step.screen.width,
                            height=step.screen.height, elements=tree, action=action, instruction="")
        target = target_element(probe)
        fields["screenshots"].append(name)
        fields["screenshot_widths"].append(step.screen.width)
        fields["screenshot_heights"].append(step.screen.height)
        fields["accessibility_trees"].append([e.model_dump(mode="json") for e in tree])
        fields["actions"].append(action)
        fields["step_instructions"].append(step_instruction(action, target))
        fields["targets"].append(tree.index(target) if target is not None else None)
    if not fields["actions"]:
        return None
    return {"episode_id": episode_id, "goal": task.goal, **fields}
