"""Reading ScreenSpot, ScreenSpot-v2 and ScreenSpot-Pro as their authors publish them.

Layouts, detected from the folder:

- ScreenSpot (v1): ``screenspot_{mobile,desktop,web}.json`` and ``screenspot_imgs/``.
- ScreenSpot-v2: ``screenspot_{mobile,desktop,web}_v2.json`` and ``screenspotv2_image/``.
  Both: a JSON list of ``{img_filename, bbox: [x, y, w, h], instruction, data_type,
  data_source}``.
- ScreenSpot-Pro: ``annotations/*.json`` and ``images/``; records ``{id, img_filename,
  img_size, bbox: [x1, y1, x2, y2], instruction, application, platform, group, ui_type}``.

Every record becomes a ``GroundingSample`` with its box as (x1, y1, x2, y2) in the image's
pixels, so scoring never needs to know which layout it came from.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from qvl_agent.envs.errors import ConfigError

__all__ = ["GroundingSample", "Layout", "detect_layout", "load_screenspot", "V1_V2_SPLITS"]

V1_V2_SPLITS = ("mobile", "desktop", "web")
Layout = Literal["v1", "v2", "pro"]
_V1_V2_FIELDS = ("img_filename", "bbox", "instruction", "data_type", "data_source")
_PRO_FIELDS = ("img_filename", "img_size", "bbox", "instruction", "application", "platform",
               "group", "ui_type")


class GroundingSample(BaseModel):
    """One instruction on one screenshot and the box that answers it (image pixels)."""

    model_config = ConfigDict(frozen=True)
    id: str = Field(description="unique in the set: split/index")
    record_id: str | None = Field(None, description="the record's own id (ScreenSpot-Pro)")
    split: str = Field(description="mobile/desktop/web, or the Pro annotation file's name")
    image: Path = Field(description="the screenshot file")
    box: tuple[float, float, float, float] = Field(description="x1, y1, x2, y2 in image pixels")
    instruction: str
    ui_type: str | None = Field(None, description="text or icon (v1/v2 data_type, Pro ui_type)")
    data_source: str | None = None
    platform: str | None = None
    application: str | None = None
    group: str | None = None
    record: str = Field("", description="the annotation file and record index, for messages")

    def contains(self, x: float, y: float) -> bool:
        x1, y1, x2, y2 = self.box
        return x1 <= x <= x2 and y1 <= y <= y2

    @property
    def center(self) -> tuple[float, float]:
        x1, y1, x2, y2 = self.box
        return (x1 + x2) / 2, (y1 + y2) / 2


def detect_layout(folder: Path) -> Layout:
    """Which published layout ``folder`` holds, or a ``ConfigError`` that says what was expected."""
    if not folder.is_dir():
        raise ConfigError(f"--data {folder}: no such folder")
    if (folder / "annotations").is_dir() and any((folder / "annotations").glob("*.json")):
        return "pro"
    if any((folder / f"screenspot_{s}_v2.json").is_file() for s in V1_V2_SPLITS):
        return "v2"
    if any((folder / f"screenspot_{s}.json").is_file() for s in V1_V2_SPLITS):
        return "v1"
    raise ConfigError(
        f"--data {folder} is not a ScreenSpot folder: expected screenspot_{{mobile,desktop,web}}"
        "[_v2].json with screenspot_imgs/ or screenspotv2_image/ (ScreenSpot v1/v2), or "
        "annotations/*.json with images/ (ScreenSpot-Pro)"
    )


def load_screenspot(folder: Path, splits: Sequence[str] = (), *,
                    check_images: bool = True) -> tuple[Layout, list[GroundingSample]]:
    """Every sample of the set in ``folder`` (only ``splits`` when given), in file order.

    Raises:
        ConfigError: an unknown layout or split, unreadable JSON, a record with a missing or
            malformed field, a box outside its image; the message names the file and record.
    """
    folder = Path(folder)
    layout = detect_layout(folder)
    files = _annotation_files(folder, layout)
    unknown = [s for s in splits if s not in files]
    if unknown:
        raise ConfigError(f"--split {', '.join(unknown)}: {folder} has splits "
                          f"{', '.join(files) or 'none'}")
    images = _image_folder(folder, layout)
    samples: list[GroundingSample] = []
    for split, path in files.items():
        if splits and split not in splits:
            continue
        for index, record in enumerate(_read_list(path)):
            where = f"{path}, record {index}"
            samples.append(_sample(layout, split, index, record, images, where))
    if check_images:
        _check_boxes_inside_images(samples)
    return layout, samples


def _annotation_files(folder: Path, layout: Layout) -> dict[str, Path]:
    if layout == "pro":
        return {p.stem: p for p in sorted((folder / "annotations").glob("*.json"))}
    suffix = "_v2" if layout == "v2" else ""
    return {s: folder / f"screenspot_{s}{suffix}.json" for s in V1_V2_SPLITS
            if (folder / f"screenspot_{s}{suffix}.json").is_file()}


def _image_folder(folder: Path, layout: Layout) -> Path:
    names = {"pro": ["images"], "v2": ["screenspotv2_image", "screenspot_imgs"],
             "v1": ["screenspot_imgs", "screenspotv2_image"]}[layout]
    for name in names:
        if (folder / name).is_dir():
            return folder / name
    raise ConfigError(f"--data {folder}: the {layout} layout needs its images in "
                      f"{folder / names[0]}/, which is missing")


def _read_list(path: Path) -> list[Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path} as JSON: {exc}") from None
    if not isinstance(data, list):
        raise ConfigError(f"{path}: expected a JSON list of records, got {type(data).__name__}")
    return data


def _sample(layout: Layout, split: str, index: int, record: Any, images: Path,
            where: str) -> GroundingSample:
    if not isinstance(record, dict):
        raise ConfigError(f"{where}: expected an object, got {type(record).__name__}")
    needed = _PRO_FIELDS if layout == "pro" else _V1_V2_FIELDS
    missing = [f for f in needed if f not in record]
    if missing:
        raise ConfigError(f"{where}: missing field(s) {', '.join(missing)}")
    bbox = record["bbox"]
    if (not isinstance(bbox, list) or len(bbox) != 4
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in bbox)):
        raise ConfigError(f"{where}: bbox must be four numbers, got {bbox!r:.80}")
    if layout == "pro":
        box = tuple(float(v) for v in bbox)
    else:  # v1/v2 store [x, y, width, height]
        x, y, w, h = (float(v) for v in bbox)
        box = (x, y, x + w, y + h)
    if not (box[0] < box[2] and box[1] < box[3]):
        raise ConfigError(f"{where}: bbox {bbox} is empty (layout {layout}: "
                          f"{'x1, y1, x2, y2' if layout == 'pro' else 'x, y, w, h'})")
    instruction = record["instruction"]
    if not isinstance(instruction, str) or not instruction.strip():
        raise ConfigError(f"{where}: instruction must be a non-empty string")
    if not isinstance(record["img_filename"], str) or not record["img_filename"]:
        raise ConfigError(f"{where}: img_filename must be a file name")
    # split/index is unique whatever the records' own ids are (a Pro id is kept apart).
    sample_id = f"{split}/{index}"
    common = dict(id=sample_id, split=split, image=images / record["img_filename"], box=box,
                  instruction=instruction.strip(), record=where)
    if layout == "pro":
        size = record["img_size"]
        if not (isinstance(size, list) and len(size) == 2):
            raise ConfigError(f"{where}: img_size must be [width, height], got {size!r:.40}")
        # One pixel of slack, as for v1/v2 below: annotators' boxes may end on the edge + 1.
        if not (-1 <= box[0] and -1 <= box[1] and box[2] <= size[0] + 1 and box[3] <= size[1] + 1):
            raise ConfigError(f"{where}: bbox {bbox} lies outside the image ({size[0]}x{size[1]})")
        return GroundingSample(**common, record_id=_opt(record, "id"), ui_type=_opt(record, "ui_type"),
                               platform=_opt(record, "platform"),
                               application=_opt(record, "application"), group=_opt(record, "group"))
    return GroundingSample(**common, ui_type=_opt(record, "data_type"),
                           data_source=_opt(record, "data_source"),
                           platform=_opt(record, "platform"))


def _opt(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    return None if value is None else str(value)


def _check_boxes_inside_images(samples: list[GroundingSample]) -> None:
    """Every image exists and holds its box (reads image headers only, not pixels)."""
    from PIL import Image, UnidentifiedImageError

    sizes: dict[Path, tuple[int, int]] = {}
    for sample in samples:
        if sample.image not in sizes:
            try:
                with Image.open(sample.image) as image:
                    sizes[sample.image] = image.size
            except FileNotFoundError:
                raise ConfigError(f"{sample.record}: image {sample.image} not found") from None
            except (UnidentifiedImageError, OSError) as exc:
                raise ConfigError(f"{sample.record}: cannot read {sample.image} "
                                  f"({exc.__class__.__name__})") from None
        width, height = sizes[sample.image]
        x1, y1, x2, y2 = sample.box
        # One pixel of slack: published v1/v2 boxes sometimes end one pixel past the edge.
        if x1 < -1 or y1 < -1 or x2 > width + 1 or y2 > height + 1:
            raise ConfigError(f"{sample.record}: bbox [{x1:g}, {y1:g}, {x2:g}, {y2:g}] "
                              f"(as x1, y1, x2, y2) lies outside its image {sample.image.name} "
                              f"({width}x{height})")
