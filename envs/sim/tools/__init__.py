"""The virtual phone's shell tools by name, and ``cmd``, which reaches the same services.

    coreutils   echo true false exit sleep id whoami cat rm ls grep head tail wc which ...
    input       input (tap, swipe, text, keyevent, keycombination, motionevent)
    activity    am (start, force-stop, broadcast), monkey
    package     pm (list packages, path, clear, query-activities, resolve-activity)
    dumpsys     dumpsys (window, activity, display, package, power, ...), wm, getprop
    settings    settings, svc, ime, locksettings; cmd wifi / bluetooth_manager / connectivity
    toybox      date ps pidof cut sed find logcat
    content     content (query, insert, update, delete)
    screen      screencap, uiautomator
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.tools.activity import ACTIVITY, am
from qvl_agent.envs.sim.tools.common import Tool, UsageError, ok
from qvl_agent.envs.sim.tools.content import CONTENT
from qvl_agent.envs.sim.tools.coreutils import COREUTILS
from qvl_agent.envs.sim.tools.dumpsys import DUMPSYS
from qvl_agent.envs.sim.tools.input import INPUT, input_
from qvl_agent.envs.sim.tools.package import PACKAGE, pm
from qvl_agent.envs.sim.tools.screen import SCREEN
from qvl_agent.envs.sim.tools.toybox import TOYBOX
from qvl_agent.envs.sim.tools.settings import (
    SETTINGS, bluetooth_service, connectivity_service, locksettings, settings, wifi_service,
)

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["TOOLS", "UNLOCKED"]


def cmd(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    """``cmd SERVICE ARGS``: the binder shell commands behind am, pm, input, settings..."""
    if not args or args[0] == "-l":
        return ok("Currently running services:\n" + "".join(
            f"  {name}\n" for name in sorted({*_CMD_TOOLS, *_CMD_SERVICES, "statusbar"})))
    service, rest = args[0], args[1:]
    if service in _CMD_TOOLS:
        return _CMD_TOOLS[service](phone, rest, stdin)
    if service in _CMD_SERVICES:
        return _CMD_SERVICES[service](phone, rest)
    if service == "statusbar":
        return ok()             # expand/collapse the shade: nothing to show here
    raise UsageError(f"cmd: Can't find service: {service}", 20)


_CMD_TOOLS: dict[str, Tool] = {"activity": am, "package": pm, "input": input_,
                               "settings": settings, "lock_settings": locksettings}
_CMD_SERVICES = {"wifi": wifi_service, "bluetooth_manager": bluetooth_service,
                 "connectivity": connectivity_service}

TOOLS: dict[str, Tool] = {
    **COREUTILS, **TOYBOX, **INPUT, **ACTIVITY, **PACKAGE, **DUMPSYS, **SETTINGS, **CONTENT,
    **SCREEN, "cmd": cmd,
}
UNLOCKED = frozenset({"sleep", "input", "uiautomator"})
"""Tools that run without holding the phone's lock: they wait (a sleep, a swipe's duration,
uiautomator's idle wait) and take the lock themselves for each step."""
