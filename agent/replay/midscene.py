"""``replay --to-yaml``: a recorded run as a Midscene-format script, with its location cache.

Each recorded action becomes the step a person would write: a click on an element is an
``aiTap`` naming it (the browser's accessible name and kind of control, or the phone's text
and class: ``the "Username" field``), a click followed by typing is one ``aiInput``
(``mode: typeOnly``: the text goes where the recorded run typed it), keys are
``aiKeyboardPress``, scrolls and swipes ``aiScroll``, waits ``sleep``. The cache file is
seeded with the recorded points and what proves them (a browser element's XPath and name,
elsewhere a patch of the recorded screenshot), so ``qvl-agent rpa`` replays the script
without locating anything while the screen still matches, and locates again where it does
not. What has no Midscene step (a long press, a drag, an app to open after the start, an
answer) becomes an ``ai:`` step the model carries out, and is said in ``notes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from typing_extensions import assert_never

from qvl_agent.agent.describe import describe
from qvl_agent.agent.replay.recording import Recording
from qvl_agent.agent.rpa.cache import CachedElement, TaskCache, image_patch
from qvl_agent.agent.rpa.verify import image_xy
from qvl_agent.agent.secrets import PLACEHOLDER
from qvl_agent.agent.trajectory import Element, Step
from qvl_agent.envs.actions import (
    Action, Answer, Click, Drag, KeyPress, LongPress, MoveTo, OpenApp, Point, Scroll, Swipe,
    SystemButton, Terminate, TypeText, Wait,
)
from qvl_agent.envs.base import Observation
from qvl_agent.envs.errors import ConfigError
from qvl_agent.envs.spec import AndroidSpec, BrowserSpec, DesktopSpec

__all__ = ["Exported", "export_script", "target_prompt", "midscene_key"]

# The words Midscene's users write for a kind of control (the dom grounder reads them back).
_ROLE_WORDS = {"input": "field", "button": "button", "link": "link", "checkbox": "checkbox",
               "switch": "switch", "EditText": "field", "Button": "button", "Switch": "switch",
               "CheckBox": "checkbox"}
_KEY_NAMES = {"ctrl": "Control", "cmd": "Meta", "win": "Meta", "meta": "Meta", "esc": "Escape",
              "pageup": "PageUp", "pagedown": "PageDown", "arrowup": "ArrowUp",
              "arrowdown": "ArrowDown", "arrowleft": "ArrowLeft", "arrowright": "ArrowRight",
              "up": "ArrowUp", "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight"}


@dataclass
class Exported:
    script: Path
    cache: Path
    steps: int
    entries: int
    notes: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)  # the script's ${NAME}s: give --secret NAME


def export_script(run_dir: Path, script: Path, *, cache_dir: Path) -> Exported:
    """Write ``run_dir``'s actions as ``script`` and seed ``cache_dir``/<stem>.cache.yaml."""
    recording = Recording.load(run_dir)
    meta = recording.trajectory.meta
    steps = [s for move in recording.moves for s in (move.step, *move.followups)]
    screen, notes = _screen(recording, steps)
    cache_id = script.stem
    cache = TaskCache(cache_dir, cache_id, "write-only")
    flow: list[dict[str, Any]] = []
    i = 0
    while i < len(steps):
        step = steps[i]
        action = step.action
        assert action is not None
        following = steps[i + 1].action if i + 1 < len(steps) else None
        if (isinstance(action, Click) and action.at is not None and action.button == "left"
                and action.count == 1 and isinstance(following, TypeText)):
            prompt = _locate(recording, step, action.at, cache)
            flow.append({"aiInput": prompt, "value": _value(following.text), "mode": "typeOnly"})
            i += 2
            continue
        item = _item(recording, step, action, cache, notes, first=i == 0)
        if item is not None:
            flow.append(item)
        i += 1
    if not flow:
        raise ConfigError(f"{run_dir}: nothing in this run becomes a script step")
    document = {**screen, "agent": {"cache": {"id": cache_id, "strategy": "read-write"}},
                "tasks": [{"name": meta.goal[:200], "flow": flow}]}
    secrets = "".join(f" --secret {name}" for name in recording.secret_names)
    header = (f"# Written by `qvl-agent replay --to-yaml` from {run_dir}\n"
              f"# goal: {' '.join(meta.goal.split())[:300]}\n"
              f"# run it: qvl-agent rpa {script} --cache-dir {cache_dir}{secrets}\n")
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(header + yaml.safe_dump(document, sort_keys=False, allow_unicode=True,
                                              width=100), encoding="utf-8")
    if not cache.entries:
        cache.flush()
    return Exported(script=script, cache=cache.path, steps=len(flow), entries=len(cache.entries),
                    notes=notes, secrets=recording.secret_names)


def _screen(recording: Recording, steps: list[Step]) -> tuple[dict[str, Any], list[str]]:
    """The script's ``web:``, ``android:`` or ``computer:`` section."""
    spec = recording.env_spec()
    notes: list[str] = []
    match spec:
        case BrowserSpec():
            url = next((s.extras.get("url") for s in steps if s.extras.get("url")), None) or spec.url
            if not url or url == "about:blank":
                raise ConfigError(f"{recording.run_dir}: the run does not say which page it "
                                  "started on; a web: script needs a url")
            width, height = spec.viewport
            web: dict[str, Any] = {"url": url, "viewportWidth": width, "viewportHeight": height}
            if spec.device_scale != 1:
                web["deviceScaleFactor"] = spec.device_scale
            return {"web": web}, notes
        case AndroidSpec():
            android: dict[str, Any] = {}
            if spec.device:
                android["deviceId"] = spec.device
            first = steps[0].action if steps else None
            if isinstance(first, OpenApp):
                android["launch"] = first.name
            return {"android": android}, notes
        case DesktopSpec():
            return {"computer": {"display": spec.display or "virtual"}}, notes
        case _:
            assert_never(spec)


def _item(recording: Recording, step: Step, action: Action, cache: TaskCache, notes: list[str],
          *, first: bool) -> dict[str, Any] | None:
    match action:
        case Click(at=None):
            return _ai(step, action, notes)
        case Click(at=at, button=button, count=count):
            key = "aiRightClick" if button == "right" else "aiDoubleClick" if count == 2 else "aiTap"
            if button == "middle" or count == 3:
                return _ai(step, action, notes)
            return {key: _locate(recording, step, at, cache)}
        case MoveTo(at=at):
            return {"aiHover": _locate(recording, step, at, cache)}
        case TypeText(text=text):
            notes.append(f"recorded step {step.index} typed without clicking a field first; the "
                         "script clicks nowhere before it types (aiInput needs a target: edit it)")
            return {"aiInput": "the focused field", "value": _value(text), "mode": "typeOnly"}
        case KeyPress(keys=keys):
            return {"aiKeyboardPress": "+".join(midscene_key(k) for k in keys)}
        case Scroll(dx=dx, dy=dy):
            return _scroll(dx, dy)
        case Swipe(start=start, end=end):  # a finger moving up scrolls the content down
            return _scroll(start.x - end.x, start.y - end.y)
        case Wait(seconds=seconds):
            return {"sleep": round(seconds * 1000)}
        case SystemButton(button="enter"):
            return {"aiKeyboardPress": "Enter"}
        case OpenApp() if first:
            return None  # the android: section launches it
        case Terminate(status="success"):
            return None
        case Terminate(status="failure"):
            notes.append("the recorded run ended judging the goal impossible (terminate: "
                         "failure); the script just ends there")
            return None
        case Answer(text=text):
            notes.append(f"the recorded run answered {text[:60]!r}; a script has no answer step "
                         "(aiString would ask the model)")
            return None
        case LongPress() | Drag() | SystemButton() | OpenApp():
            return _ai(step, action, notes)
        case _:
            assert_never(action)


def _ai(step: Step, action: Action, notes: list[str]) -> dict[str, Any]:
    notes.append(f"recorded step {step.index} ({describe(action)}) has no Midscene step: it "
                 "becomes an ai: step, which needs --model or --endpoint")
    return {"ai": describe(action)}


def _locate(recording: Recording, step: Step, point: Point, cache: TaskCache) -> str:
    """The words for what ``step`` pressed at ``point``; its cache entry is stored."""
    prompt = target_prompt(step.target, point)
    screen = step.screen
    assert screen is not None
    xy = [round(point.x, 1), round(point.y, 1)]
    size = [screen.width, screen.height]
    element = step.target
    if element is not None and element.source == "dom" and element.xpath:
        cached = CachedElement(point=xy, screen=size, xpaths=[element.xpath], text=element.name,
                               role=element.role or None, elementId=element.id or None,
                               grounder="replay")
    else:
        image = recording.screenshot(step)
        if image is None:
            return prompt  # nothing to prove the point with: located afresh when run
        x, y = image_xy(point, Observation(screenshot=image, screen=screen))
        cached = CachedElement(point=xy, screen=size, patch=image_patch(image, x, y),
                               grounder="replay")
    cache.store(prompt, cached)
    return prompt


def _value(text: str) -> str:
    """Typed text as a script's value: a secret the run typed (``<secret:NAME>``) is the
    script's ``${NAME}``, which ``qvl-agent rpa --secret NAME`` types."""
    return PLACEHOLDER.sub(lambda m: "${" + m.group(1) + "}", text)


def target_prompt(element: Element | None, point: Point) -> str:
    """``the "Username" field``: how a person names what was under ``point``."""
    if element is None or not element.name:
        return f"the element at ({point.x:.0f}, {point.y:.0f})"
    role = element.role.rsplit(".", 1)[-1]
    word = _ROLE_WORDS.get(role, "")
    name = " ".join(element.name.split()).replace('"', "'")
    return f'the "{name}" {word}'.rstrip()


def midscene_key(key: str) -> str:
    """Our key name as Midscene (Playwright) writes it: ``enter`` -> ``Enter``."""
    if len(key) == 1:
        return key
    return _KEY_NAMES.get(key, key[:1].upper() + key[1:])


def _scroll(dx: float, dy: float) -> dict[str, Any]:
    """Midscene's aiScroll for content moved by (dx, dy): the larger axis, at least 1 px."""
    horizontal = abs(dx) > abs(dy)
    amount = dx if horizontal else dy
    direction = ("right" if amount > 0 else "left") if horizontal else \
        ("down" if amount > 0 else "up")
    return {"aiScroll": None, "direction": direction, "scrollType": "singleAction",
            "distance": max(1, round(abs(amount)))}
