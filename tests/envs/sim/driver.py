"""Driving a virtual phone the way a task oracle would: through its shell only.

``Driver`` wraps anything that runs a command line and returns a ``ShellResult`` (a
``Phone`` in process, or adbutils over the real adb server), reads ``uiautomator dump`` to
find widgets, and taps their centres, so a test passes only if the dump, the touch model
and the state agree.
"""

from __future__ import annotations

import re
import time
import shlex
import xml.etree.ElementTree as ET
from collections.abc import Callable

from qvl_agent.envs.sim.adbd import ShellResult

_DONE = "UI hierchary dumped to: /dev/tty"


class Driver:
    def __init__(self, run: Callable[[str], ShellResult]) -> None:
        self.run = run

    def sh(self, command: str) -> str:
        """Run ``command``, insist that it succeeds, return its stdout."""
        result = self.run(command)
        assert result.exit_code == 0, (command, result)
        return result.stdout.decode()

    def dump(self) -> ET.Element:
        # While the screen still moves after an input, uiautomator cannot get an idle state
        # (it says so and exits 0, as on a phone): wait and ask again, like a careful client.
        for _ in range(50):
            result = self.run("uiautomator dump /dev/tty")
            assert result.exit_code == 0, result
            text = result.stdout.decode()
            if b"could not get idle state" not in result.stdout + result.stderr:
                break
            time.sleep(0.05)
        assert text.endswith(_DONE + "\n")
        return ET.fromstring(text[:-len(_DONE) - 1])

    def nodes(self, **attributes: str) -> list[ET.Element]:
        """Nodes whose attributes match (``rid`` is ``resource-id``, ``desc`` content-desc)."""
        names = {"rid": "resource-id", "desc": "content-desc"}
        wanted = {names.get(key, key): value for key, value in attributes.items()}
        return [node for node in self.dump().iter("node")
                if all(node.get(key) == value for key, value in wanted.items())]

    def node(self, **attributes: str) -> ET.Element:
        found = self.nodes(**attributes)
        assert found, f"no node with {attributes}"
        return found[0]

    def texts(self, rid: str) -> list[str]:
        return [node.get("text", "") for node in self.nodes(rid=rid)]

    @staticmethod
    def bounds(node: ET.Element) -> tuple[int, int, int, int]:
        left, top, right, bottom = map(int, re.findall(r"\d+", node.get("bounds", "")))
        return left, top, right, bottom

    def center(self, **attributes: str) -> tuple[int, int]:
        left, top, right, bottom = self.bounds(self.node(**attributes))
        return (left + right) // 2, (top + bottom) // 2

    def tap(self, **attributes: str) -> None:
        x, y = self.center(**attributes)
        self.sh(f"input tap {x} {y}")

    def type(self, text: str) -> None:
        self.sh(shlex.join(["input", "text", text.replace(" ", "%s")]))

    def fill(self, rid: str, text: str) -> None:
        """Tap a field and type into it, as an agent would."""
        self.tap(rid=rid)
        self.type(text)

    def query(self, uri: str, projection: str, where: str | None = None) -> list[dict[str, str]]:
        """``content query`` rows as dicts (values must not contain ``, NAME=``)."""
        command = ["content", "query", "--uri", uri, "--projection", projection]
        if where is not None:
            command += ["--where", where]
        out = self.sh(shlex.join(command))
        if out == "No result found.\n":
            return []
        columns = projection.split(":")
        rows = []
        for line in out.splitlines():
            body = line.split(" ", 2)[2]
            pattern = ", ".join(f"{re.escape(c)}=(.*)" for c in columns)
            match = re.fullmatch(pattern, body)
            assert match, line
            rows.append(dict(zip(columns, match.groups())))
        return rows

    def focus(self) -> str:
        """The package/activity in front, from ``dumpsys window``."""
        out = self.sh("dumpsys window")
        match = re.search(r"mCurrentFocus=Window\{\S+ u0 (\S+)\}", out)
        assert match, out
        return match.group(1)
