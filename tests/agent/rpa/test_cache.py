"""The cache file: Midscene's layout, prompts used in order, strategies, patch checks."""

from __future__ import annotations

import yaml
from PIL import Image, ImageDraw

from qvl_agent.agent.rpa.cache import CachedElement, TaskCache, image_patch, patch_matches


def element(x: float) -> CachedElement:
    return CachedElement(point=[x, 10], screen=[100, 100], xpaths=["/html[1]"], text="ok")


def test_repeated_prompts_use_their_entries_in_order(tmp_path):
    cache = TaskCache(tmp_path, "my flow")
    cache.store("the Next button", element(1))
    cache.store("the Next button", element(2))
    data = yaml.safe_load((tmp_path / "my-flow.cache.yaml").read_text())
    assert data["cacheId"] == "my-flow"
    assert [c["type"] for c in data["caches"]] == ["locate", "locate"]
    assert data["caches"][0]["prompt"] == "the Next button"
    assert data["caches"][0]["cache"]["xpaths"] == ["/html[1]"]
    again = TaskCache(tmp_path, "my flow")
    assert [again.match("the Next button")[1].cache.point[0] for _ in range(2)] == [1, 2]
    assert again.match("the Next button") is None  # each entry once per run
    again.store("the Next button", element(5), index=0)  # a stale entry is replaced, not added
    assert [c.cache.point[0] for c in TaskCache(tmp_path, "my flow").entries] == [5, 2]


def test_strategies(tmp_path):
    TaskCache(tmp_path, "s").store("p", element(1))
    read_only = TaskCache(tmp_path, "s", "read-only")
    assert read_only.match("p") is not None
    read_only.store("the read-only prompt", element(2))
    assert [e.prompt for e in TaskCache(tmp_path, "s").entries] == ["p"]  # the file is unchanged
    write_only = TaskCache(tmp_path, "s", "write-only")
    assert write_only.match("p") is None
    write_only.store("r", element(3))
    assert [e.prompt for e in TaskCache(tmp_path, "s").entries] == ["r"]


def test_a_patch_matches_the_same_spot_only():
    image = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(image).rectangle([40, 40, 90, 70], fill="black")
    patch = image_patch(image, 65, 55)
    assert patch_matches(image, 65, 55, patch)
    moved = Image.new("RGB", (300, 200), "white")
    ImageDraw.Draw(moved).rectangle([180, 120, 230, 150], fill="black")
    assert not patch_matches(moved, 65, 55, patch)
