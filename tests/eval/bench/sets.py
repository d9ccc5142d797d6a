"""Small grounding sets written in the published layouts, and a fake Qwen that answers them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

from tests.fakeqwen import QwenRequest, tool_call

# (split, image name, image size, [(instruction, (x1, y1, x2, y2), ui_type), ...])
SCREENS = [
    ("mobile", "phone.png", (360, 780), [
        ("open wifi settings", (20, 100, 340, 160), "text"),
        ("the search icon", (300, 20, 344, 64), "icon"),
        ("add a contact", (250, 680, 340, 760), "icon"),
        ("turn on bluetooth", (20, 200, 340, 260), "text"),
    ]),
    ("desktop", "desk.png", (1000, 600), [
        ("close the window", (950, 5, 990, 35), "icon"),
        ("the File menu", (10, 5, 60, 30), "text"),
        ("save the document", (120, 60, 220, 100), "text"),
        ("open the terminal", (400, 520, 460, 580), "icon"),
    ]),
    ("web", "page.png", (800, 500), [
        ("the Submit button", (340, 400, 460, 440), "text"),
        ("the name field", (200, 100, 600, 140), "text"),
        ("the logo", (20, 20, 90, 70), "icon"),
        ("next page", (700, 450, 780, 490), "text"),
    ]),
    ("web", "shop.png", (640, 480), [
        ("add to cart", (440, 380, 620, 430), "text"),
        ("the cart icon", (580, 10, 630, 50), "icon"),
        ("search products", (120, 10, 460, 50), "text"),
        ("the first product image", (20, 80, 220, 280), "icon"),
    ]),
    ("mobile", "clock.png", (400, 700), [
        ("add an alarm", (170, 600, 230, 660), "icon"),
        ("the 7:30 alarm switch", (320, 120, 380, 160), "icon"),
        ("the Timer tab", (140, 20, 260, 60), "text"),
        ("delete the alarm", (20, 300, 120, 340), "text"),
    ]),
]


def _draw(path: Path, size: tuple[int, int], items: list[tuple[str, tuple, str]]) -> None:
    image = Image.new("RGB", size, (245, 245, 250))
    draw = ImageDraw.Draw(image)
    for text, box, _ in items:
        draw.rectangle(box, outline=(40, 40, 160), width=2, fill=(220, 225, 240))
        draw.text((box[0] + 4, box[1] + 4), text[:18], fill=(0, 0, 0))
    image.save(path)


def records() -> list[dict[str, Any]]:
    """Every element as a neutral record: split, image, size, box (x1,y1,x2,y2), instruction."""
    return [{"split": split, "img_filename": name, "size": size, "box": box, "instruction": text,
             "ui_type": kind} for split, name, size, items in SCREENS for text, box, kind in items]


def write_v2(folder: Path, *, v1: bool = False) -> Path:
    """The set in ScreenSpot-v2's layout (or v1's): bbox as [x, y, w, h]."""
    images = folder / ("screenspot_imgs" if v1 else "screenspotv2_image")
    images.mkdir(parents=True, exist_ok=True)
    by_split: dict[str, list[dict[str, Any]]] = {}
    for split, name, size, items in SCREENS:
        _draw(images / name, size, items)
        by_split.setdefault(split, []).extend(
            {"img_filename": name, "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]],
             "instruction": text, "data_type": kind, "data_source": f"synthetic-{split}"}
            for text, b, kind in items)
    suffix = "" if v1 else "_v2"
    for split, rows in by_split.items():
        (folder / f"screenspot_{split}{suffix}.json").write_text(json.dumps(rows))
    return folder


def write_pro(folder: Path) -> Path:
    """The same records in ScreenSpot-Pro's layout: bbox as [x1, y1, x2, y2], more fields."""
    (folder / "annotations").mkdir(parents=True, exist_ok=True)
    for split, name, size, items in SCREENS:
        app = name.removesuffix(".png")
        (folder / "images" / app).mkdir(parents=True, exist_ok=True)
        _draw(folder / "images" / app / name, size, items)
        rows = [{"id": f"{app}_{i}", "img_filename": f"{app}/{name}", "img_size": list(size),
                 "bbox": list(b), "instruction": text, "application": app,
                 "platform": "android" if split == "mobile" else "linux",
                 "group": "Office" if split == "desktop" else "Dev", "ui_type": kind}
                for i, (text, b, kind) in enumerate(items)]
        (folder / "annotations" / f"{app}_{split}.json").write_text(json.dumps(rows))
    return folder


def _thumb(image: Image.Image) -> list[int]:
    return list(image.convert("L").resize((24, 24)).tobytes())


class CentreAnswerer:
    """A fake model for any ScreenSpot-layout folder: it finds which screenshot it was sent
    (nearest thumbnail among the screenshots that have the instruction), then answers that
    element's box centre in the frame it received. Instructions in ``shifted`` get a point
    just outside the box instead. ``box=True``: a computer_use answer gives a 4-number
    coordinate, a box twice the element's size around its centre (its corners are off the
    element)."""

    def __init__(self, folder: Path, shifted: set[str] = frozenset(), prompt: str = "computer_use",
                 box: bool = False) -> None:
        from qvl_agent.eval.bench.screenspot_data import load_screenspot

        _, samples = load_screenspot(folder)
        self.samples: dict[str, list[Any]] = {}
        self.thumbs: dict[Path, list[int]] = {}
        self.sizes: dict[Path, tuple[int, int]] = {}
        for sample in samples:
            self.samples.setdefault(sample.instruction, []).append(sample)
            if sample.image not in self.thumbs:
                with Image.open(sample.image) as image:
                    self.thumbs[sample.image] = _thumb(image)
                    self.sizes[sample.image] = image.size
        self.shifted = set(shifted)
        self.prompt = prompt
        self.box = box

    def __call__(self, request: QwenRequest) -> str:
        text = request.texts[-1]
        if self.prompt == "grounding":
            text = text.removeprefix("Locate ").removesuffix(
                " in the image, output its bbox coordinates using JSON format.")
        seen = _thumb(request.image)
        sample = min(self.samples[text], key=lambda s: sum(
            (a - b) ** 2 for a, b in zip(self.thumbs[s.image], seen)))
        width, height = self.sizes[sample.image]
        x1, y1, x2, y2 = sample.box
        x, y = (x1 + x2) / 2, (y1 + y2) / 2
        if text in self.shifted:
            x = x2 + 8 if x2 + 8 < width else x1 - 8
        frame = request.frame if self.prompt == "computer_use" else request.image.size
        assert request.image.size == frame, "the image is not the frame the prompt states"
        fx, fy = x * frame[0] / width, y * frame[1] / height
        if self.prompt == "grounding":
            return f'```json\n[{{"point_2d": [{fx:.1f}, {fy:.1f}], "label": "x"}}]\n```'
        if self.box:
            w, h = (x2 - x1) * frame[0] / width, (y2 - y1) * frame[1] / height
            return tool_call("computer_use", action="left_click",
                             coordinate=[round(fx - w), round(fy - h), round(fx + w), round(fy + h)])
        return tool_call("computer_use", action="left_click", coordinate=[round(fx), round(fy)])


def v2_to_pro(folder: Path, out: Path) -> Path:
    """A v2-layout set rewritten in ScreenSpot-Pro's layout (boxes as x1, y1, x2, y2)."""
    import shutil

    (out / "annotations").mkdir(parents=True, exist_ok=True)
    shutil.copytree(folder / "screenspotv2_image", out / "images")
    for path in sorted(folder.glob("screenspot_*_v2.json")):
        split = path.stem.removeprefix("screenspot_").removesuffix("_v2")
        rows = []
        for i, r in enumerate(json.loads(path.read_text())):
            x, y, w, h = r["bbox"]
            with Image.open(folder / "screenspotv2_image" / r["img_filename"]) as image:
                size = list(image.size)
            rows.append({"id": f"{split}_{i}", "img_filename": r["img_filename"], "img_size": size,
                         "bbox": [x, y, x + w, y + h], "instruction": r["instruction"],
                         "application": r["data_source"], "platform": split, "group": "ours",
                         "ui_type": r["data_type"]})
        (out / "annotations" / f"{split}.json").write_text(json.dumps(rows))
    return out
