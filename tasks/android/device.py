"""Reading and preparing a phone's state through adb, the way it works on a real device.

Evaluators only use what a stock phone answers: ``settings get``, ``content query``,
``dumpsys``, ``uiautomator dump``. Oracles find what to tap in the uiautomator tree.

Every step fails loudly: ``content`` prints "Error while accessing provider" and still
exits 0 on a phone, so its output is read; a setup step that did not take effect raises
``TaskError`` (never a silent zero score).
"""

from __future__ import annotations

import re
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from qvl_agent.envs.actions import Click, Point
from qvl_agent.envs.android_device import AndroidDevice
from qvl_agent.envs.base import Env
from qvl_agent.envs.errors import TaskError

__all__ = [
    "device_of", "query", "insert", "delete", "settings_get", "settings_put", "clear_app",
    "go_home", "foreground_app", "Node", "ui_nodes", "find_node", "tap", "tap_switch", "digits",
    "set_radio", "radio_on", "add_contact", "wake_screen", "shipped", "PhoneKind",
    "phone_kind", "RAW_CONTACTS", "DATA", "PHONES", "VENDOR_PACKAGES",
]

RAW_CONTACTS = "content://com.android.contacts/raw_contacts"
DATA = "content://com.android.contacts/data"
PHONES = "content://com.android.contacts/data/phones"
# What vendors ship in place of an AOSP app (the first one installed is the phone's).
VENDOR_PACKAGES: dict[str, tuple[str, ...]] = {
    "com.android.contacts": ("com.android.contacts", "com.google.android.contacts",
                             "com.samsung.android.app.contacts"),
    "com.android.deskclock": ("com.android.deskclock", "com.google.android.deskclock",
                              "com.sec.android.app.clockpackage"),
}
_NAME_TYPE = "vnd.android.cursor.item/name"
_PHONE_TYPE = "vnd.android.cursor.item/phone_v2"
_PROVIDER_ERROR = "Error while accessing provider"

_BOUNDS = re.compile(r"\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]")


def device_of(env: Env) -> AndroidDevice:
    """``env`` as the phone it is (``AndroidEnv``); a TaskError for any other screen."""
    if not isinstance(env, AndroidDevice):
        raise TaskError(f"this needs a phone over adb (an AndroidEnv), got a {type(env).__name__} "
                        f"({env.kind.value})")
    return env


def digits(text: Any) -> str:
    return re.sub(r"\D", "", str(text or ""))


def _content(env: Env, args: list[str]) -> str:
    """Run ``content ...``; its refusals (printed, exit code 0) become a ``TaskError``."""
    output = device_of(env).shell(args)
    if _PROVIDER_ERROR in output or output.startswith("Error:"):
        raise TaskError(f"`content {args[1]} --uri {args[3]}` failed on the phone: "
                        f"{' '.join(output.split())[:300]}")
    return output


def query(env: Env, uri: str, columns: list[str], where: str | None = None,
          sort: str | None = None) -> list[dict[str, str]]:
    """Rows of ``content query`` as dicts (values are strings, as adb prints them).

    Raises:
        TaskError: the provider refused the query.
    """
    args = ["content", "query", "--uri", uri, "--projection", ":".join(columns)]
    if where:
        args += ["--where", where]
    if sort:
        args += ["--sort", sort]
    output = _content(env, args)
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


def insert(env: Env, uri: str, **values: str | int | None) -> None:
    """``content insert`` one row (None binds SQL NULL).

    Raises:
        TaskError: the provider refused the row.
    """
    args = ["content", "insert", "--uri", uri]
    for key, value in values.items():
        if value is None:
            args += ["--bind", f"{key}:n:"]
            continue
        kind = "i" if isinstance(value, int) and not isinstance(value, bool) else "s"
        args += ["--bind", f"{key}:{kind}:{value}"]
    _content(env, args)


def delete(env: Env, uri: str, where: str) -> None:
    """``content delete`` the rows ``where`` selects (never a whole table by accident).

    Raises:
        TaskError: the provider refused.
    """
    if not where.strip():
        raise TaskError(f"refusing to delete every row of {uri}: a task deletes only its own")
    _content(env, ["content", "delete", "--uri", uri, "--where", where])


def add_contact(env: Env, name: str, number: str) -> int:
    """A contact as a stock ContactsProvider2 takes one: a raw contact, then its name and
    phone rows in ``data``; checked through ``data/phones`` afterwards. Returns its raw id.

    Raises:
        TaskError: the provider refused a row, or the contact is not there afterwards.
    """
    insert(env, RAW_CONTACTS, account_name=None, account_type=None)
    newest = query(env, RAW_CONTACTS, ["_id"], sort="_id DESC")
    if not newest:
        raise TaskError(f"the phone made no raw contact for {name!r}")
    raw = int(newest[0]["_id"])
    insert(env, DATA, raw_contact_id=raw, mimetype=_NAME_TYPE, data1=name)
    insert(env, DATA, raw_contact_id=raw, mimetype=_PHONE_TYPE, data1=number, data2=2)
    rows = query(env, PHONES, ["display_name", "data1"], where=f"raw_contact_id={raw}")
    if [(r["display_name"], r["data1"]) for r in rows] != [(name, number)]:
        raise TaskError(f"the contact {name!r} ({number}) did not take: the phone lists {rows}")
    return raw


_RADIO_COMMANDS = {
    "wifi_on": (["svc", "wifi", "enable"], ["svc", "wifi", "disable"]),
    "bluetooth_on": (["svc", "bluetooth", "enable"], ["svc", "bluetooth", "disable"]),
    "airplane_mode_on": (["cmd", "connectivity", "airplane-mode", "enable"],
                         ["cmd", "connectivity", "airplane-mode", "disable"]),
}


def radio_on(env: Env, key: str) -> bool:
    """Whether a radio is on, from the value its service writes: Wi-Fi is "1", or "2" when
    on in airplane mode ("3": off because of airplane mode); Bluetooth is "1" ("2" means it
    was on before airplane mode and is off now); airplane mode "1"."""
    on = ("1", "2") if key == "wifi_on" else ("1",)
    return settings_get(env, "global", key) in on


RADIO_TIMEOUT_S = 10.0      # a real radio takes a second or two to come up


def set_radio(env: Env, key: str, on: bool, timeout: float | None = None) -> None:
    """Switch a radio the way a stock phone lets the shell (``svc``, ``cmd connectivity``),
    and wait until its setting says so; ``settings put`` would switch nothing.

    Raises:
        TaskError: the radio did not reach the state within ``timeout``.
    """
    enable, disable = _RADIO_COMMANDS[key]
    output = device_of(env).shell(enable if on else disable, check=False)
    deadline = time.monotonic() + (RADIO_TIMEOUT_S if timeout is None else timeout)
    while radio_on(env, key) != on:
        if time.monotonic() > deadline:
            raise TaskError(f"could not turn {key.removesuffix('_on')} {'on' if on else 'off'} "
                            f"(`{' '.join(enable if on else disable)}` said: "
                            f"{output.strip()[:160] or 'nothing'}; settings global {key} = "
                            f"{settings_get(env, 'global', key)})")
        time.sleep(0.1)


def settings_get(env: Env, namespace: str, key: str) -> str:
    return device_of(env).shell(["settings", "get", namespace, key]).strip()


def settings_put(env: Env, namespace: str, key: str, value: str) -> None:
    device_of(env).shell(["settings", "put", namespace, key, value])


def wake_screen(env: Env) -> None:
    """Before an episode: the screen on, unlocked and kept on (``AndroidEnv.wake``)."""
    device_of(env).wake()


@dataclass(frozen=True)
class PhoneKind:
    """Who made the phone and which release it runs: what its Settings look like."""

    manufacturer: str
    sdk: int


def phone_kind(env: Env) -> PhoneKind:
    lines = device_of(env).shell("getprop ro.product.manufacturer; getprop ro.build.version.sdk",
                      check=False, changes_screen=False).splitlines() + ["", ""]
    sdk = lines[1].strip()
    return PhoneKind(lines[0].strip().lower(), int(sdk) if sdk.isdigit() else 0)


def shipped(env: Env, package: str) -> str:
    """The package this phone has in place of the AOSP app ``package`` (Google's Clock,
    Samsung's Contacts, ...); ``package`` itself when no vendor renames it.

    Raises:
        TaskError: none of the known packages is installed.
    """
    candidates = VENDOR_PACKAGES.get(package, (package,))
    installed = device_of(env).shell(["pm", "list", "packages"], changes_screen=False).split()
    for candidate in candidates:
        if f"package:{candidate}" in installed:
            return candidate
    raise TaskError(f"the phone has none of {', '.join(candidates)}")


def clear_app(env: Env, package: str) -> None:
    """``pm clear``: the app's data back to a fresh install."""
    output = device_of(env).shell(["pm", "clear", package])
    if "Success" not in output:
        raise TaskError(f"pm clear {package} failed: {output.strip()[:200]}")


def go_home(env: Env) -> None:
    device_of(env).shell(["input", "keyevent", "KEYCODE_HOME"])


def foreground_app(env: Env) -> str | None:
    return device_of(env).foreground_app()


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
        """Its centre; a node whose centre lies off the screen (scrolled away) is an error
        here, never a tap sent somewhere else."""
        x1, y1, x2, y2 = self.bounds
        x, y = (x1 + x2) / 2, (y1 + y2) / 2
        if x < 0 or y < 0:
            raise TaskError(f"{self.text or self.resource_id or self.cls!r} is off the screen "
                            f"(bounds {list(self.bounds)}); scroll it into view first")
        return Point(x=x, y=y)


def ui_nodes(env: Env) -> list[Node]:
    """The screen's elements from a fresh ``uiautomator dump`` (``AndroidEnv.ui_xml``)."""
    root = ET.fromstring(device_of(env).ui_xml().encode("utf-8"))
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


def find_node(env: Env, *, text: str | None = None, resource_id: str | None = None,
              content_desc: str | None = None, nodes: list[Node] | None = None) -> Node:
    for node in nodes if nodes is not None else ui_nodes(env):
        if ((text is None or node.text == text)
                and (resource_id is None or node.resource_id == resource_id)
                and (content_desc is None or node.content_desc == content_desc)):
            return node
    wanted = ", ".join(f"{k}={v!r}" for k, v in
                       (("text", text), ("resource-id", resource_id), ("content-desc", content_desc)) if v)
    raise TaskError(f"nothing on screen with {wanted}")


def tap(env: Env, **match: str) -> Click:
    """The Click on the centre of the element that matches (text=, resource_id=, content_desc=)."""
    return Click(at=find_node(env, **match).center)


def tap_switch(env: Env, text: str | None = None) -> Click:
    """The Click on the switch of the row titled ``text`` (None: the page's first switch)."""
    nodes = ui_nodes(env)
    switches = [n for n in nodes if n.cls.endswith("Switch")]
    if not switches:
        raise TaskError("no switch on screen")
    if text is None:
        return Click(at=min(switches, key=lambda n: n.bounds[1]).center)
    row = find_node(env, text=text, nodes=nodes)
    middle = (row.bounds[1] + row.bounds[3]) / 2
    switch = min(switches, key=lambda n: abs((n.bounds[1] + n.bounds[3]) / 2 - middle))
    if abs((switch.bounds[1] + switch.bounds[3]) / 2 - middle) > (row.bounds[3] - row.bounds[1]):
        raise TaskError(f"the row {text!r} has no switch on screen")
    return Click(at=switch.center)
