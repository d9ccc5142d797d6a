"""The location cache: ``<cache id>.cache.yaml``, Midscene's file layout, verify-then-trust.

Like Midscene's ``TaskCache`` the file holds ``cacheId`` and ``caches``, a list of entries
``{type: locate, prompt, cache: {...}}``; an entry is found by its prompt, and a prompt that
appears several times in a script uses its entries in order (each entry once per run). What
we keep under ``cache`` is enough to check the entry before trusting it: in a browser the
element's ``xpaths`` and ``text`` (Midscene keeps the XPaths too), elsewhere the ``point`` and
a small ``patch`` of the screenshot around it. A replay that no longer matches is a miss;
the new location then replaces the entry.

Strategies (Midscene's): ``read-write`` uses and updates the file, ``read-only`` uses it but
never writes, ``write-only`` ignores what is there and writes afresh.
"""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from PIL import Image, ImageChops, ImageStat
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from qvl_agent.envs.errors import ConfigError

__all__ = ["CachedElement", "LocateEntry", "TaskCache", "CACHE_EXT", "image_patch", "patch_matches",
           "PatchDifference", "patch_difference"]

CACHE_EXT = ".cache.yaml"
PATCH_SIZE = 48  # screenshot pixels each side of the point kept to recognise the spot again
PATCH_TOLERANCE = 6.0  # mean absolute difference (0-255) below which a patch still matches...
PIXEL_CHANGED = 24  # ...and a grey level this far from the stored one is a changed pixel,
PATCH_CHANGED_MAX = 0.01  # of which a matching patch has at most this share (a relabelled
# button changes a few percent of its patch while the mean stays low; a caret, less)


class CachedElement(BaseModel):
    """What a locate found, and what a replay checks before it trusts it."""

    model_config = ConfigDict(extra="allow")  # keep keys written by newer versions
    point: list[float] = Field(description="the target in screen coordinates [x, y]")
    screen: list[int] = Field(description="the screen size [w, h] it was found on")
    xpaths: list[str] | None = Field(None, description="browser: the element's XPath")
    text: str | None = Field(None, description="browser: the element's accessible name")
    role: str | None = Field(None, description="browser: the kind of control (button, input, "
                             "link, checkbox, switch, any); checked when present")
    elementId: str | None = Field(None, description="browser: the id attribute; checked when "  # noqa: N815
                                  "present")
    patch: str | None = Field(None, description="elsewhere: PNG (base64) around the point")
    grounder: str | None = Field(None, description="who found it first: dom, uia, ocr or qwen")


class LocateEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: Literal["locate"] = "locate"
    prompt: str
    cache: CachedElement | None = None


class TaskCache:
    """One cache file. ``match`` finds an unused entry; ``store`` updates or appends one."""

    def __init__(self, cache_dir: str | Path, cache_id: str,
                 strategy: Literal["read-write", "read-only", "write-only"] = "read-write") -> None:
        safe = re.sub(r"[^\w.-]+", "-", cache_id).strip("-") or "cache"
        self.cache_id = safe
        self.path = Path(cache_dir) / f"{safe}{CACHE_EXT}"
        self.read_only = strategy == "read-only"
        self.use = strategy != "write-only"
        self.other: list[dict[str, Any]] = []  # Midscene's plan entries: kept, never used
        self.entries: list[LocateEntry] = []
        if self.use and self.path.is_file():
            self._load()
        self._original = len(self.entries) if self.use else 0
        self._used: set[int] = set()

    def _load(self) -> None:
        try:
            data = yaml.safe_load(self.path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read the cache {self.path} ({exc.__class__.__name__}); "
                              "delete it or use --cache-dir for another") from None
        items = data.get("caches") if isinstance(data, dict) else None
        for item in items or []:
            if isinstance(item, dict) and item.get("type") == "locate":
                try:
                    self.entries.append(LocateEntry.model_validate(item))
                    continue
                except ValidationError:
                    pass  # an entry we cannot read is a miss, re-located and rewritten
            if isinstance(item, dict):
                self.other.append(item)

    def match(self, prompt: str) -> tuple[int, LocateEntry] | None:
        """The first entry for ``prompt`` not yet used in this run (and marks it used)."""
        for index in range(self._original):
            entry = self.entries[index]
            if index not in self._used and entry.prompt == prompt and entry.cache is not None:
                self._used.add(index)
                return index, entry
        return None

    def store(self, prompt: str, element: CachedElement, index: int | None = None) -> None:
        """Replace entry ``index`` (a stale match) or append a new one, then write the file."""
        if index is not None:
            self.entries[index].cache = element
        else:
            self.entries.append(LocateEntry(prompt=prompt, cache=element))
        if not self.read_only:
            self.flush()

    def flush(self) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            ours = version("qvl-agent")
        except PackageNotFoundError:
            ours = "dev"
        data = {"qvlAgentVersion": ours, "cacheId": self.cache_id,
                "caches": self.other + [e.model_dump(exclude_none=True) for e in self.entries]}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100),
                       encoding="utf-8")
        os.replace(tmp, self.path)


def image_patch(image: Image.Image, x: float, y: float) -> str:
    """The square of ``image`` around pixel (x, y), as base64 PNG (grey: colour adds little)."""
    box = _patch_box(image, x, y)
    buffer = io.BytesIO()
    image.crop(box).convert("L").save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


class PatchDifference(BaseModel):
    """How the screen around a point differs from a stored patch."""

    mean: float = Field(description="mean absolute grey-level difference, 0-255")
    changed: float = Field(description="the fraction of pixels more than PIXEL_CHANGED apart")

    @property
    def matches(self) -> bool:
        return self.mean <= PATCH_TOLERANCE and self.changed <= PATCH_CHANGED_MAX


def patch_difference(image: Image.Image, x: float, y: float, patch: str) -> PatchDifference | None:
    """How ``image`` around (x, y) differs from ``patch``; None when they cannot be compared
    (an unreadable patch, or one cut from a screenshot of another size)."""
    try:
        stored = Image.open(io.BytesIO(base64.b64decode(patch))).convert("L")
    except (OSError, ValueError):
        return None
    current = image.crop(_patch_box(image, x, y)).convert("L")
    if current.size != stored.size:
        return None
    difference = ImageChops.difference(current, stored)
    histogram = difference.histogram()
    changed = sum(histogram[PIXEL_CHANGED + 1:]) / max(1, sum(histogram))
    return PatchDifference(mean=ImageStat.Stat(difference).mean[0], changed=changed)


def patch_matches(image: Image.Image, x: float, y: float, patch: str) -> bool:
    """True when ``image`` still shows ``patch`` around (x, y)."""
    difference = patch_difference(image, x, y, patch)
    return difference is not None and difference.matches


def _patch_box(image: Image.Image, x: float, y: float) -> tuple[int, int, int, int]:
    cx, cy = round(x), round(y)
    return (max(0, cx - PATCH_SIZE), max(0, cy - PATCH_SIZE),
            min(image.width, cx + PATCH_SIZE), min(image.height, cy + PATCH_SIZE))
