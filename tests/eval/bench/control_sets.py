"""AndroidControl test helpers: the JSONL set rewritten as Google's TFRecord shards, and a
fake Qwen that answers each step with the person's action (optionally moved)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from qvl_agent.eval.bench.tfrecord import make_example, message_classes, write_records
from tests.fakeqwen import QwenRequest, tool_call


def _forest(elements: list[dict[str, Any]]) -> bytes:
    forest = message_classes()["android_env.AndroidAccessibilityForest"]()
    window = forest.windows.add()
    window.window_type = 1
    for i, e in enumerate(elements):
        node = window.tree.nodes.add()
        node.unique_id = i
        left, top, right, bottom = e["bounds"]
        node.bounds_in_screen.left, node.bounds_in_screen.top = left, top
        node.bounds_in_screen.right, node.bounds_in_screen.bottom = right, bottom
        node.text, node.content_description = e["text"], e["content_desc"]
        node.view_id_resource_name, node.class_name = e["resource_id"], e["class_name"]
        node.is_visible_to_user = True
    return forest.SerializeToString()


def episodes(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "episodes.jsonl").read_text().splitlines()]


def write_tfrecord_copy(folder: Path, out: Path, shards: int = 2) -> Path:
    """The JSONL set in Google's form: GZIP TFRecord shards of tf.train.Example, screenshots
    as PNG bytes plus the final screen, trees as AndroidAccessibilityForest protos."""
    out.mkdir(parents=True, exist_ok=True)
    all_episodes = episodes(folder)
    for shard in range(shards):
        records = []
        for number, e in enumerate(all_episodes[shard::shards]):
            pngs = [(folder / name).read_bytes() for name in e["screenshots"]]
            trees = [_forest(tree) for tree in e["accessibility_trees"]]
            records.append(make_example({
                "episode_id": [shard * 1000 + number],
                "goal": [e["goal"]],
                "screenshots": pngs + pngs[-1:],  # Google's have the screen after the last action
                "screenshot_widths": e["screenshot_widths"] + e["screenshot_widths"][-1:],
                "screenshot_heights": e["screenshot_heights"] + e["screenshot_heights"][-1:],
                "accessibility_trees": trees + trees[-1:],
                "actions": [json.dumps(a) for a in e["actions"]],
                "step_instructions": e["step_instructions"],
            }))
        write_records(out / f"android_control-{shard:05d}-of-{shards:05d}", records)
    return out


class GoldAnswerer:
    """Answers each step with the gold action, in the frame it received.

    The step is found from the goal and the number of earlier steps in the prompt; steps
    that share both (a low-level "Click on Save" in two episodes) are told apart by the
    earlier typed texts and app names the prompt lists. Taps in ``far`` move 40% of the
    screen away (outside the box and the 14% circle); taps in ``near`` move just below the
    target box (outside the box, inside the circle). Typed text comes back in other case
    and spacing, app names in lower case: both must still count.
    """

    def __init__(self, folder: Path, level: str, far: set[tuple[str, int]] = frozenset(),
                 near: set[tuple[str, int]] = frozenset()) -> None:
        self.steps: dict[tuple[str, int], list[tuple[dict, int, dict]]] = {}
        for e in episodes(folder):
            for i, action in enumerate(e["actions"]):
                goal = e["goal"] if level == "high" else e["step_instructions"][i]
                self.steps.setdefault((goal, i), []).append((e, i, action))
        self.far, self.near = set(far), set(near)

    def __call__(self, request: QwenRequest) -> str:
        assert request.tool == "mobile_use" and request.goal is not None and request.frame
        said = "\n".join(request.texts)
        done = len(re.findall(r"Step \d+: \{", said))
        candidates = [c for c in self.steps.get((request.goal, done), [])
                      if all(_mentioned(a, said) for a in c[0]["actions"][:c[1]])]
        # Two episodes may share a step outright ("Open the Clock app" first): one answer.
        assert candidates and all(c[2] == candidates[0][2] for c in candidates), \
            f"cannot tell the step of {request.goal!r} after {done} steps"
        episode, index, action = candidates[0]
        width, height = episode["screenshot_widths"][index], episode["screenshot_heights"][index]
        frame_w, frame_h = request.frame
        match action["action_type"]:
            case "click" | "long_press":
                x, y = action["x"], action["y"]
                key = (episode["episode_id"], index)
                if key in self.far:
                    y = y + 0.4 * height if y < height / 2 else y - 0.4 * height
                elif key in self.near:
                    target = episode["accessibility_trees"][index][episode["targets"][index]]
                    y = target["bounds"][3] + 12
                name = "click" if action["action_type"] == "click" else "long_press"
                extra = {"time": 1} if name == "long_press" else {}
                return tool_call("mobile_use", action=name, **extra,
                                 coordinate=[round(x * frame_w / width), round(y * frame_h / height)])
            case "input_text" | "type":
                return tool_call("mobile_use", action="type", text="  " + action["text"].upper() + " ")
            case "open_app":
                return tool_call("mobile_use", action="open", text=action["app_name"].lower())
            case "navigate_back" | "navigate_home":
                return tool_call("mobile_use", action="system_button",
                                 button="Back" if action["action_type"] == "navigate_back" else "Home")
        return tool_call("mobile_use", action="wait", time=1)


def _mentioned(action: dict[str, Any], text: str) -> bool:
    """An earlier gold action leaves its typed text or app name in the prompt's progress."""
    for key in ("text", "app_name"):
        if key in action:
            return json.dumps(action[key])[1:-1] in text
    return True
