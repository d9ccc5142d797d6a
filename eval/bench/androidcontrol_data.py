"""AndroidControl episodes: Google's GZIP TFRecord shards, or a JSONL + PNG folder.

Google's shards hold one ``tf.train.Example`` per episode with ``episode_id``, ``goal``,
``screenshots`` (PNG bytes, one more than there are actions: the screen after the last
one), ``screenshot_widths`` / ``screenshot_heights``, ``accessibility_trees`` (serialized
``AndroidAccessibilityForest`` protos), ``actions`` (JSON strings such as
``{"action_type": "click", "x": 540, "y": 1200}``) and ``step_instructions``.

The JSONL layout (``episodes.jsonl`` + image files, for data from elsewhere and what
``qvl-agent dataset androidcontrol`` writes) has the same field names; screenshots are file
paths relative to the folder, trees are lists of elements, actions are objects, and an
optional ``targets`` list names each tap's element by its index in that step's tree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qvl_agent.envs.errors import ConfigError
from qvl_agent.eval.bench.tfrecord import message_classes, parse_example, read_records

__all__ = ["UIElement", "ControlStep", "Episode", "ACTION_TYPES", "detect_control_layout",
           "read_episodes", "write_jsonl_episodes", "forest_elements", "target_element"]

# "type" is the documented combined action (tap the field at x, y, type, press enter); it is
# scored by its text, as input_text (eval.bench.androidcontrol).
ACTION_TYPES = ("click", "long_press", "scroll", "open_app", "input_text", "type",
                "navigate_home", "navigate_back", "wait")
_REQUIRED = {"click": ("x", "y"), "long_press": ("x", "y"), "scroll": ("direction",),
             "open_app": ("app_name",), "input_text": ("text",), "type": ("text",)}


class UIElement(BaseModel):
    """One element of a step's accessibility tree, bounds in screenshot pixels."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    bounds: tuple[int, int, int, int] = Field(description="left, top, right, bottom")
    text: str = ""
    content_desc: str = ""
    resource_id: str = ""
    class_name: str = ""
    clickable: bool = False

    def contains(self, x: float, y: float) -> bool:
        left, top, right, bottom = self.bounds
        return left <= x <= right and top <= y <= bottom

    @property
    def area(self) -> int:
        left, top, right, bottom = self.bounds
        return max(0, right - left) * max(0, bottom - top)


class ControlStep(BaseModel):
    """What the model sees at one step and the action the person took."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    index: int
    screenshot: bytes | Path = Field(description="PNG bytes (TFRecord) or a file (JSONL)")
    width: int
    height: int
    elements: list[UIElement]
    action: dict[str, Any]
    instruction: str
    target: int | None = Field(None, description="index of the tapped element in elements")
    problem: str | None = Field(None, description="why the action cannot be scored (a bad "
                                "record): the step is skipped and counted, the run goes on")

    def image(self) -> Any:
        import io

        from PIL import Image

        source = io.BytesIO(self.screenshot) if isinstance(self.screenshot, bytes) else self.screenshot
        with Image.open(source) as image:
            return image.convert("RGB")


class Episode(BaseModel):
    episode_id: str
    goal: str
    steps: list[ControlStep]


def detect_control_layout(folder: Path) -> str:
    """"jsonl" (episodes.jsonl) or "tfrecord" (Google's shards), or a clear ``ConfigError``."""
    if not folder.is_dir():
        raise ConfigError(f"--data {folder}: no such folder")
    if (folder / "episodes.jsonl").is_file():
        return "jsonl"
    if _shards(folder):
        return "tfrecord"
    raise ConfigError(f"--data {folder} is not an AndroidControl folder: expected Google's "
                      "GZIP TFRecord shards (android_control-*-of-*), or episodes.jsonl with its PNGs")


def _shards(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and (
        p.name.startswith("android_control") or ".tfrecord" in p.name) and p.suffix != ".json")


def read_episodes(folder: Path, *, episode_ids: Sequence[str] = (),
                  skipped: list[str] | None = None) -> Iterator[Episode]:
    """Each episode of ``folder`` (only ``episode_ids`` when given), in file order.

    Args:
        skipped: when given, a record that cannot be read (not JSON, a missing field, a
            missing screenshot) is left out and its problem appended here, so one bad record
            does not end a run; otherwise it raises ``ConfigError``. (A file that cannot be
            read at all, a cut shard, always raises.)
    """
    folder = Path(folder)
    wanted = set(episode_ids)
    if detect_control_layout(folder) == "jsonl":
        source: Iterator[Episode | ConfigError] = _jsonl_episodes(folder)
    else:
        source = (_or_problem(_tf_episode, record, f"{path}, record {i}")
                  for path in _shards(folder) for i, record in enumerate(read_records(path)))
    for episode in source:
        if isinstance(episode, ConfigError):
            if skipped is None:
                raise episode
            skipped.append(str(episode))
        elif not wanted or episode.episode_id in wanted:
            yield episode


def _or_problem(read: Any, *args: Any) -> Episode | ConfigError:
    """``read(*args)``, or the problem that makes the record unreadable (``args[-1]`` says
    where it is)."""
    try:
        return read(*args)
    except ConfigError as exc:
        return exc
    except (ValueError, TypeError, KeyError, AttributeError) as exc:  # a field of the wrong type
        return ConfigError(f"{args[-1]}: malformed record ({exc.__class__.__name__}: {exc})")


def _check_actions(actions: list[Any], where: str) -> list[tuple[dict[str, Any], str | None]]:
    """Each action as a dict, with why it cannot be scored (None when it can)."""
    checked: list[tuple[dict[str, Any], str | None]] = []
    for i, action in enumerate(actions):
        if isinstance(action, (bytes, str)):
            try:
                action = json.loads(action)
            except ValueError:
                checked.append(({}, f"{where}: action {i} is not JSON: {action!r:.80}"))
                continue
        if not isinstance(action, dict) or action.get("action_type") not in ACTION_TYPES:
            checked.append((action if isinstance(action, dict) else {},
                            f"{where}: action {i} has no known action_type "
                            f"({', '.join(ACTION_TYPES)}): {action!r:.80}"))
            continue
        missing = [k for k in _REQUIRED.get(action["action_type"], ()) if k not in action]
        problem = (f"{where}: action {i} ({action['action_type']}) lacks {', '.join(missing)}"
                   if missing else None)
        checked.append((action, problem))
    return checked


def _episode(where: str, episode_id: Any, goal: Any, screenshots: list[Any], widths: list[Any],
             heights: list[Any], trees: list[list[UIElement]], actions: list[Any],
             instructions: list[Any], targets: list[Any] | None) -> Episode:
    checked = _check_actions(actions, where)
    n = len(checked)
    if len(screenshots) < n or len(widths) < n or len(heights) < n or len(trees) < n:
        raise ConfigError(f"{where}: {n} actions but {len(screenshots)} screenshots, "
                          f"{len(widths)} widths, {len(heights)} heights, {len(trees)} trees")
    if len(instructions) != n:
        raise ConfigError(f"{where}: {n} actions but {len(instructions)} step_instructions")
    if targets is not None and len(targets) != n:
        raise ConfigError(f"{where}: {n} actions but {len(targets)} targets")
    steps = [ControlStep(index=i, screenshot=screenshots[i], width=int(widths[i]),
                         height=int(heights[i]), elements=trees[i], action=checked[i][0],
                         problem=checked[i][1], instruction=_text(instructions[i]),
                         target=targets[i] if targets is not None else None) for i in range(n)]
    return Episode(episode_id=str(episode_id), goal=_text(goal), steps=steps)


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _tf_episode(record: bytes, where: str) -> Episode:
    features = parse_example(record)
    needed = ("episode_id", "goal", "screenshots", "screenshot_widths", "screenshot_heights",
              "accessibility_trees", "actions", "step_instructions")
    missing = [k for k in needed if k not in features]
    if missing:
        raise ConfigError(f"{where}: missing feature(s) {', '.join(missing)}")
    trees = [forest_elements(data, f"{where}, tree {i}")
             for i, data in enumerate(features["accessibility_trees"])]
    return _episode(where, features["episode_id"][0] if features["episode_id"] else "",
                    (features["goal"] or [b""])[0], features["screenshots"],
                    features["screenshot_widths"], features["screenshot_heights"], trees,
                    features["actions"], features["step_instructions"], None)


def forest_elements(data: bytes, where: str = "tree") -> list[UIElement]:
    """The visible nodes of a serialized ``AndroidAccessibilityForest``, windows in order."""
    from google.protobuf.message import DecodeError

    forest = message_classes()["android_env.AndroidAccessibilityForest"]()
    try:
        forest.ParseFromString(data)
    except DecodeError as exc:
        raise ConfigError(f"{where}: not an AndroidAccessibilityForest: {exc}") from None
    elements = []
    for window in forest.windows:
        for node in window.tree.nodes:
            b = node.bounds_in_screen
            if b.right <= b.left or b.bottom <= b.top:
                continue
            elements.append(UIElement(bounds=(b.left, b.top, b.right, b.bottom), text=node.text,
                                      content_desc=node.content_description,
                                      resource_id=node.view_id_resource_name,
                                      class_name=node.class_name, clickable=node.is_clickable))
    return elements


def _jsonl_episodes(folder: Path) -> Iterator[Episode | ConfigError]:
    path = folder / "episodes.jsonl"
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if line.strip():
                yield _or_problem(_jsonl_episode, folder, line, f"{path}, line {number}")


def _jsonl_episode(folder: Path, line: str, where: str) -> Episode:
    """One line of episodes.jsonl; any problem is a ConfigError naming the line."""
    try:
        data = json.loads(line)
    except ValueError as exc:
        raise ConfigError(f"{where}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: an episode is a JSON object, got {type(data).__name__}")
    fields = ("episode_id", "goal", "screenshots", "screenshot_widths",
              "screenshot_heights", "accessibility_trees", "actions", "step_instructions")
    missing = [k for k in fields if k not in data]
    if missing:
        raise ConfigError(f"{where}: missing field(s) {', '.join(missing)}")
    try:
        trees = [[UIElement.model_validate(e) for e in tree] for tree in data["accessibility_trees"]]
    except (ValidationError, TypeError) as exc:
        raise ConfigError(f"{where}: a tree element is malformed: {str(exc).splitlines()[0]}") from None
    screenshots = [folder / name for name in data["screenshots"]]
    for shot in screenshots[:len(data["actions"])]:
        if not shot.is_file():
            raise ConfigError(f"{where}: screenshot {shot} not found")
    return _episode(where, data["episode_id"], data["goal"], screenshots,
                    data["screenshot_widths"], data["screenshot_heights"], trees,
                    data["actions"], data["step_instructions"], data.get("targets"))


def write_jsonl_episodes(folder: Path, episodes: Sequence[dict[str, Any]]) -> Path:
    """Append episodes (dicts in the JSONL layout, screenshots already written) to the file."""
    path = Path(folder) / "episodes.jsonl"
    with open(path, "a", encoding="utf-8") as f:
        for episode in episodes:
            f.write(json.dumps(episode, ensure_ascii=False) + "\n")
    return path


def target_element(step: ControlStep) -> UIElement | None:
    """The element a tap or long press aimed at: the step's named target, else the smallest
    element whose box holds the action's point (what the published evaluations do)."""
    if step.target is not None and 0 <= step.target < len(step.elements):
        return step.elements[step.target]
    if step.action.get("action_type") not in ("click", "long_press"):
        return None
    x, y = float(step.action["x"]), float(step.action["y"])
    holding = [e for e in step.elements if e.contains(x, y) and e.area > 0]
    screen = step.width * step.height
    holding = [e for e in holding if e.area < screen] or holding  # not the whole screen if avoidable
    return min(holding, key=lambda e: e.area) if holding else None
