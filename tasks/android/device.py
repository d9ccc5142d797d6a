"""Reading and preparing a phone's state through adb, the way it works on a real device.

Evaluators only use what a stock phone answers: ``settings get``, ``content query``,
``dumpsys window``, ``uiautomator dump``. Oracles find what to tap in the uiautomator tree.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from envs.actions import Click, Point
from envs.errors import TaskError

__all__ = [
    "query", "insert", "settings_get", "settings_put", "clear_app", "go_home", "foreground_app",
    "Node", "ui_nodes", "find_node", "tap", "digits",
]

_BOUNDS = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")


def digits(text: Any) -> str:
    return re.sub(r"\D", "", str(text or ""))


def query(env: Any, uri: str, columns: list[str], where: str | None = None) -> list[dict[str, str]]:
    """Rows of ``content query`` as dicts (values are strings, as adb prints them)."""
    args = ["content", "query", "--uri", uri, "--projection", ":".join(columns)]
    if where:
        args += ["--where", where]
    output = env.shell(args)
    rows = []
    # Values may contain ", ", so split only before a known "column=".
    splitter = re.compile(r", (?=(?:" + "|".join(map(re.escape, columns)) + r")=)")
    for line in output.splitlines():
        match = re.match(r"Row: \d+ (.*)$", line)
        if not match:
            continue
        row = {}
        for pair in splitter.split(match.group(1)):
            key, _, value = pair.partition("=")
            row[key] = value
        rows.append(row)
    return rows


def insert(env: Any, uri: str, **values: str | int) -> None:
    args = ["content", "insert", "--uri", uri]
    for key, value in values.items():
        kind = "i" if isinstance(value, int) and not isinstance(value, bool) else "s"
        args += ["--bind", f"{key}:{kind}:{value}"]
    env.shell(args)


def settings_get(env: Any, namespace: str, key: str) -> str:
    return env.shell(["settings", "get", namespace, key]).strip()


def settings_put(env: Any, namespace: str, key: str, value: str) -> None:
    env.shell(["settings", "put", namespace, key, value])


def clear_app(env: Any, package: str) -> None:
    """``pm clear``: the app's data back to a fresh install."""
    output = env.shell(["pm", "clear", package])
    if "Success" not in output:
        raise TaskError(f"pm clear {package} failed: {output.strip()[:200]}")


def go_home(env: Any) -> None:
    env.shell(["input", "keyevent", "KEYCODE_HOME"])


def foreground_app(env: Any) -> str | None:
    return env.foreground_app()


@dataclass(frozen=True)
class Node:
    """One element of the uiautomator tree."""

    text: str
    resource_id: str
    content_desc: str
    cls: str
    checked: bool
    bounds: tuple[int, int, int, int]

    @property
    def center(self) -> Point:
        x1, y1, x2, y2 = self.bounds
        return Point(x=(x1 + x2) / 2, y=(y1 + y2) / 2)


def ui_nodes(env: Any) -> list[Node]:
    """The screen's elements from ``uiautomator dump`` (a file on the device, then ``cat``)."""
    path = "/sdcard/qvl_window_dump.xml"
    env.shell(["uiautomator", "dump", path])
    xml = env.shell(["cat", path])
    start = xml.find("<?xml")
    if start < 0:
        raise TaskError(f"uiautomator dump gave no XML: {xml[:120]!r}")
    root = ET.fromstring(xml[start:].strip().encode("utf-8"))
    nodes = []
    for element in root.iter("node"):
        match = _BOUNDS.match(element.get("bounds", ""))
        if not match:
            continue
        nodes.append(Node(text=element.get("text", ""), resource_id=element.get("resource-id", ""),
                          content_desc=element.get("content-desc", ""), cls=element.get("class", ""),
                          checked=element.get("checked") == "true",
                          bounds=tuple(int(v) for v in match.groups())))  # type: ignore[arg-type]
    return nodes


def find_node(env: Any, *, text: str | None = None, resource_id: str | None = None,
              content_desc: str | None = None, nodes: list[Node] | None = None) -> Node:
    for node in nodes if nodes is not None else ui_nodes(env):
        if ((text is None or node.text == text)
                and (resource_id is None or node.resource_id == resource_id)
                and (content_desc is None or node.content_desc == content_desc)):
            return node
    wanted = ", ".join(f"{k}={v!r}" for k, v in
                       (("text", text), ("resource-id", resource_id), ("content-desc", content_desc)) if v)
    raise TaskError(f"nothing on screen with {wanted}")


def tap(env: Any, **match: str) -> Click:
    """The Click on the centre of the element that matches (text=, resource_id=, content_desc=)."""
    return Click(at=find_node(env, **match).center)
