"""Grounding sets from our own screens, written in ScreenSpot-v2's layout.

- ``android-sim``: the virtual phone's home screen and apps; one record per visible element
  of the ``uiautomator dump`` with a text or content-desc, its box from the dump.
- ``miniwob``: MiniWoB++ task pages (seeded); one record per visible element of the DOM
  with a text, label, placeholder or aria-label, its box from ``getBoundingClientRect``
  scaled to the screenshot's pixels.

Records whose label appears twice on one screen are left out: "click OK" must have one
answer. Boxes are in screenshot pixels, ``bbox`` as [x, y, w, h] (the v2 layout).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from PIL import Image

from qvl_agent.envs.errors import ConfigError

__all__ = ["Source", "build_grounding", "SIM_APPS", "MINIWOB_PAGES"]

Source = Literal["android-sim", "miniwob"]
SIM_APPS = ("Settings", "Contacts", "Clock", "Notes", "Flights")
# Pages with several distinct, labelled elements (buttons, links, fields, tabs, options).
MINIWOB_PAGES = ("click-button", "click-button-sequence", "click-link", "click-tab",
                 "click-dialog", "click-checkboxes", "click-option", "enter-text", "login-user",
                 "choose-list", "click-tab-2", "email-inbox", "social-media", "search-engine",
                 "navigate-tree", "use-autocomplete")
_SPLIT = {"android-sim": "mobile", "miniwob": "web"}

# Visible elements with a label of their own, in CSS pixels of the viewport.
_DOM_ELEMENTS = """() => {
  const out = [];
  const seen = new Set();
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('#query')) continue;  // the instruction banner, not a target
    const r = el.getBoundingClientRect();
    if (r.width < 3 || r.height < 3) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden' || style.display === 'none' || +style.opacity === 0) continue;
    const tag = el.tagName.toLowerCase();
    let own = '';
    for (const n of el.childNodes) if (n.nodeType === 3) own += n.textContent;
    own = own.replace(/\\s+/g, ' ').trim();
    let label = own, kind = 'text';
    if (!label && (tag === 'input' || tag === 'textarea' || tag === 'select' || tag === 'button')) {
      const byFor = el.id && document.querySelector(`label[for="${el.id}"]`);
      label = el.getAttribute('aria-label') || el.getAttribute('placeholder') || el.value ||
              (byFor ? byFor.textContent.trim() + ' field' : '') || '';
      kind = 'icon';
    }
    if (!label) label = el.getAttribute('aria-label') || el.getAttribute('title') || '';
    if (!label || label.length > 60) continue;
    const key = [r.left, r.top, r.width, r.height].join(',');
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({label, kind, tag, box: [r.left, r.top, r.right, r.bottom]});
  }
  return out;
}"""


def build_grounding(source: Source, out: Path, *, n: int | None = None, seed: int = 0,
                    device: str = "sim", browser_path: str | None = None,
                    pages: tuple[str, ...] = MINIWOB_PAGES,
                    say: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    """Write the set to ``out``; returns ``{"records": k, "images": m, "file": ...}``.
    ``pages``: the MiniWoB pages to capture (``miniwob`` only); ``say`` is told each screen."""
    if source not in _SPLIT:
        raise ConfigError(f"--from {source}: expected android-sim or miniwob")
    if n is not None and n < 1:
        raise ConfigError(f"--n must be at least 1, got {n}")
    out = Path(out)
    images = out / "screenspotv2_image"
    images.mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    screens = 0
    say(f"starting the screen ({'the virtual phone' if source == 'android-sim' else 'Chromium'})")
    shots = _sim_screens(device) if source == "android-sim" else _miniwob_screens(seed, browser_path, pages)
    for name, screenshot, elements in shots:
        file = f"{source}_{name}.png"
        kept = _unique(elements, screenshot.size)
        say(f"{name}: {len(kept)} labelled elements")
        if not kept:
            continue
        screenshot.save(images / file)
        screens += 1
        records += [{"img_filename": file, "bbox": _xywh(e["box"]), "instruction": e["label"],
                     "data_type": e["kind"], "data_source": f"{source}/{name}"} for e in kept]
    if not records:
        raise ConfigError(f"{source}: no labelled elements found on any screen")
    if n is not None and n < len(records):
        chosen = sorted(random.Random(seed).sample(range(len(records)), n))
        records = [records[i] for i in chosen]
    target = out / f"screenspot_{_SPLIT[source]}_v2.json"
    target.write_text(json.dumps(records, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    used = {r["img_filename"] for r in records}
    for png in images.glob(f"{source}_*.png"):
        if png.name not in used:
            png.unlink()
    return {"records": len(records), "images": len(used), "screens": screens, "file": str(target)}


def _xywh(box: list[float]) -> list[float]:
    x1, y1, x2, y2 = box
    return [round(x1, 1), round(y1, 1), round(x2 - x1, 1), round(y2 - y1, 1)]


def _unique(elements: list[dict[str, Any]], size: tuple[int, int]) -> list[dict[str, Any]]:
    """Elements inside the image whose label is not shared with another element there."""
    width, height = size
    inside = []
    for e in elements:
        x1, y1, x2, y2 = e["box"]
        x1, y1, x2, y2 = max(0.0, x1), max(0.0, y1), min(float(width), x2), min(float(height), y2)
        if x2 - x1 < 3 or y2 - y1 < 3 or (x2 - x1) * (y2 - y1) > 0.5 * width * height:
            continue
        inside.append(e | {"box": [x1, y1, x2, y2], "label": " ".join(e["label"].split())})
    by_label: dict[str, list[dict[str, Any]]] = {}
    for e in inside:
        by_label.setdefault(e["label"].lower(), []).append(e)
    kept = []
    for same in by_label.values():
        # An icon and its own caption share a label; the outer box holds the inner one and
        # any point in it is right. Two separate places with one label are ambiguous.
        outer = max(same, key=lambda e: _area(e["box"]))
        if all(_holds(outer["box"], e["box"]) for e in same):
            kept.append(outer)
    return sorted(kept, key=lambda e: inside.index(e))


def _area(box: list[float]) -> float:
    return (box[2] - box[0]) * (box[3] - box[1])


def _holds(outer: list[float], inner: list[float]) -> bool:
    return (outer[0] <= inner[0] and outer[1] <= inner[1]
            and inner[2] <= outer[2] and inner[3] <= outer[3])


def _sim_screens(device: str) -> Iterator[tuple[str, Image.Image, list[dict[str, Any]]]]:
    from qvl_agent.envs.actions import OpenApp
    from qvl_agent.envs.android import AndroidEnv
    from qvl_agent.envs.factory import open_env
    from qvl_agent.envs.spec import AndroidSpec
    from qvl_agent.tasks.android.device import go_home, ui_nodes

    env = open_env(AndroidSpec(device=device))
    assert isinstance(env, AndroidEnv)
    try:
        go_home(env)
        env.settle()
        yield "home", *_sim_screen(env, ui_nodes)
        for app in SIM_APPS:
            env.execute(OpenApp(name=app))
            env.settle()
            yield app.lower(), *_sim_screen(env, ui_nodes)
            go_home(env)
            env.settle()
    finally:
        env.close()


def _sim_screen(env: Any, ui_nodes: Any) -> tuple[Image.Image, list[dict[str, Any]]]:
    observation = env.observe()
    image = observation.screenshot.convert("RGB")
    sx = image.width / observation.screen.width  # dump bounds are in screen pixels
    sy = image.height / observation.screen.height
    elements = []
    for node in ui_nodes(env):
        # A symbol ("+") says less than the content-desc ("Create contact") read to a user.
        text = node.text if any(c.isalnum() for c in node.text) else ""
        label = text or node.content_desc or node.text
        if not label.strip():
            continue
        x1, y1, x2, y2 = node.bounds
        elements.append({"label": label, "kind": "text" if text else "icon",
                         "box": [x1 * sx, y1 * sy, x2 * sx, y2 * sy]})
    return image, elements


def _miniwob_screens(seed: int, browser_path: str | None,
                     pages: tuple[str, ...]) -> Iterator[tuple[str, Image.Image, list[dict[str, Any]]]]:
    from qvl_agent.envs.factory import open_env
    from qvl_agent.tasks.registry import get_suite

    suite = get_suite("miniwob")
    env: Any = open_env(suite.spec({"browser_path": browser_path} if browser_path else {}))
    try:
        for page in pages:
            try:
                task = suite.task(f"miniwob/{page}").from_seed(seed)
            except ConfigError:
                continue  # a miniwob release without this page
            task.setup(env)
            observation = env.observe()
            image = observation.screenshot.convert("RGB")
            scale_x = image.width / observation.screen.width  # CSS pixels to screenshot pixels
            scale_y = image.height / observation.screen.height
            elements = [e | {"box": [e["box"][0] * scale_x, e["box"][1] * scale_y,
                                     e["box"][2] * scale_x, e["box"][3] * scale_y]}
                        for e in env.page.evaluate(_DOM_ELEMENTS)]
            task.teardown(env)
            yield f"{page}-{seed}", image, elements
    finally:
        env.close()
