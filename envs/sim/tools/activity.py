"""``am`` (start, force-stop, broadcast) and ``monkey``: how apps are started from a shell.

``am broadcast -a ADB_INPUT_TEXT --es msg TEXT`` (and ``ADB_INPUT_B64``, ``ADB_INPUT_CODE``,
``ADB_EDITOR_CODE``, ``ADB_CLEAR_TEXT``) reaches ADB Keyboard only while it is installed and
the current input method, as on a phone where its receiver lives in the running keyboard;
either way the broadcast itself completes with ``result=0``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.apps.settings_pages import SETTINGS_ACTIONS, page_for_action
from qvl_agent.envs.sim.tools.common import UsageError, fail, ok

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["ACTIVITY", "Intent", "parse_intent"]

_ONE_ARG = {"-a", "-d", "-t", "-i", "-c", "-n", "-f", "-p", "--user", "--display", "-R", "-P",
            "--windowingMode", "--activityType", "--start-profiler", "--sampling",
            "--attach-agent", "--attach-agent-bind", "--task", "--receiver-permission", "--esn",
            "--allow-background-activity-starts", "--splashscreen-theme"}
_TWO_ARGS = {"-e", "--es", "--ez", "--ei", "--el", "--ef", "--ed", "--eu", "--ecn", "--eia",
             "--eial", "--ela", "--elal", "--efa", "--efal", "--esa", "--esal", "--eda",
             "--edal"}
_USAGE = ("usage: am [start|broadcast|force-stop|kill|get-current-user] ...\n"
          "  start [-W] [-S] [--user <USER_ID>] <INTENT>\n"
          "  broadcast [--user <USER_ID>] <INTENT>\n"
          "  force-stop [--user <USER_ID>] <PACKAGE>\n")
_ACTION_APPS = {**{action: "com.android.settings" for action in SETTINGS_ACTIONS},
                "android.intent.action.SHOW_ALARMS": "com.android.deskclock",
                "android.intent.action.SET_ALARM": "com.android.deskclock",
                "android.intent.action.INSERT": "com.android.contacts"}
_IME_NEXT = 5       # EditorInfo.IME_ACTION_NEXT


@dataclass
class Intent:
    """What ``am`` understood of an intent's command-line form."""

    action: str | None = None
    categories: list[str] = field(default_factory=list)
    data: str | None = None
    mime: str | None = None
    component: str | None = None
    package: str | None = None
    flags: int = 0
    extras: dict[str, str] = field(default_factory=dict)
    options: set[str] = field(default_factory=set)      # -W, -S, ...

    def describe(self, flags: int | None = None) -> str:
        """``Intent { ... }`` as Intent.toShortString prints it."""
        parts = []
        if self.action:
            parts.append(f"act={self.action}")
        if self.categories:
            parts.append(f"cat=[{','.join(self.categories)}]")
        if self.data:
            parts.append(f"dat={self.data}")
        if self.mime:
            parts.append(f"typ={self.mime}")
        if flags if flags is not None else self.flags:
            parts.append(f"flg={flags if flags is not None else self.flags:#x}")
        if self.package:
            parts.append(f"pkg={self.package}")
        if self.component:
            parts.append(f"cmp={self.component}")
        if self.extras:
            parts.append("(has extras)")
        return "Intent { " + " ".join(parts) + " }"


def parse_intent(args: list[str]) -> Intent:
    """Read ``am``'s intent options; a last bare word is a component, a URI or a package."""
    intent, index = Intent(), 0
    while index < len(args):
        option = args[index]
        if option in _ONE_ARG or option in _TWO_ARGS:
            needed = 1 if option in _ONE_ARG else 2
            if index + needed >= len(args):
                raise UsageError(f"Error: No argument for option {option}\n{_USAGE}", 1)
            values = args[index + 1:index + 1 + needed]
            match option:
                case "-a":
                    intent.action = values[0]
                case "-c":
                    intent.categories.append(values[0])
                case "-d":
                    intent.data = values[0]
                case "-t":
                    intent.mime = values[0]
                case "-n":
                    intent.component = values[0]
                case "-p":
                    intent.package = values[0]
                case "-f":
                    try:
                        intent.flags = int(values[0], 0)
                    except ValueError:
                        raise UsageError(f"Error: bad flags: {values[0]}") from None
                case _ if option in _TWO_ARGS:
                    intent.extras[values[0]] = values[1]
            index += 1 + needed
        elif option.startswith("-") and len(option) > 1:
            intent.options.add(option)
            index += 1
        else:
            if "/" in option and "://" not in option:
                intent.component = option
            elif ":" in option:
                intent.data = option
            else:
                intent.package = option
            index += 1
    return intent


def _start(phone: Phone, args: list[str]) -> ShellResult:
    intent = parse_intent(args)
    if intent.action is None and intent.component is None and intent.package is None:
        raise UsageError(f"Error: Intent does not match any activities\n{_USAGE}", 1)
    shown = intent.describe()
    if intent.component is not None:
        app = phone.app_for_component(intent.component)
        if app is None:
            package, _, activity = intent.component.partition("/")
            activity_class = package + activity if activity.startswith(".") else activity
            return fail(f"Error type 3\nError: Activity class {{{package}/{activity_class}}} "
                        "does not exist.", 1, stdout=f"Starting: {shown}\n")
    else:
        wanted = intent.package or phone.profile.vendor.package(
            _ACTION_APPS.get(intent.action or "", ""))
        if intent.action == "android.intent.action.MAIN" and \
                "android.intent.category.HOME" in intent.categories:
            wanted = phone.launcher.package
        app = phone.apps.get(wanted or "")
        if app is None or not (app.launchable or app is phone.launcher):
            return fail(f"Error: Activity not started, unable to resolve {shown}", 1,
                        stdout=f"Starting: {shown}\n")
    if "-S" in intent.options:
        phone.force_stop(app.package)
    was_running = phone.is_running(app.package)
    was_front = phone.foreground == app.package
    fresh = bool(intent.flags & 0x8000) or "--activity-clear-task" in intent.options
    if fresh:
        phone.force_stop(app.package)
    page = page_for_action(phone.profile, intent.action or "") \
        if intent.component is None and intent.action in SETTINGS_ACTIONS else None
    if page is not None:
        phone.start_page(app.package, page)
    else:
        phone.launch(app.package)
    phone.animate()
    phone.logcat.write("ActivityTaskManager" if phone.profile.sdk >= 29 else "ActivityManager",
                       f"START u0 {{{shown.removeprefix('Intent { ').removesuffix(' }')}}} "
                       "from uid 2000", pid=1261,
                       buffer="system")
    lines = [f"Starting: {shown}"]
    if was_front and not fresh:
        lines.append("Warning: Activity not started, intent has been delivered to currently "
                     "running top-most instance.")
    elif was_running and not fresh:
        lines.append("Warning: Activity not started, its current task has been brought to "
                     "the front")
    if "-W" in intent.options:
        lines += ["Status: ok", f"LaunchState: {'HOT' if was_running else 'COLD'}",
                  f"Activity: {app.component}", "TotalTime: 250", "WaitTime: 255", "Complete"]
    return ok("\n".join(lines) + "\n")


def _adb_keyboard(phone: Phone, intent: Intent) -> None:
    """What ADB Keyboard's receiver does with a broadcast, when it is the current keyboard."""
    message = intent.extras.get("msg", "")
    match intent.action:
        case "ADB_INPUT_TEXT":
            phone.commit_text(message)
        case "ADB_INPUT_B64":
            try:
                phone.commit_text(base64.b64decode(message, validate=False).decode("utf-8"))
            except (binascii.Error, UnicodeDecodeError, ValueError):
                pass            # the real receiver logs and drops it
        case "ADB_INPUT_CHARS":
            try:
                phone.commit_text("".join(chr(int(c)) for c in
                                          intent.extras.get("chars", "").split(",") if c))
            except (ValueError, OverflowError):
                pass
        case "ADB_INPUT_CODE":
            code = intent.extras.get("code", "")
            if code.lstrip("-").isdigit():
                phone.key(int(code))
        case "ADB_EDITOR_CODE":
            if intent.extras.get("code") == str(_IME_NEXT):
                phone.current_screen().next_field()
        case "ADB_CLEAR_TEXT":
            phone.current_screen().clear()


def _broadcast(phone: Phone, args: list[str]) -> ShellResult:
    intent = parse_intent(args)
    if phone.adb_keyboard_active():
        _adb_keyboard(phone, intent)
    # am sends broadcasts with FLAG_RECEIVER_INCLUDE_BACKGROUND set.
    return ok(f"Broadcasting: {intent.describe(intent.flags | 0x400000)}\n"
              "Broadcast completed: result=0\n")


def am(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    if not args:
        raise UsageError(_USAGE, 1)
    command, rest = args[0], args[1:]
    match command:
        case "start" | "start-activity":
            return _start(phone, rest)
        case "broadcast":
            return _broadcast(phone, rest)
        case "force-stop" | "kill" | "stop-app":
            packages = [arg for i, arg in enumerate(rest)
                        if not arg.startswith("-") and (i == 0 or rest[i - 1] != "--user")]
            if not packages:
                raise UsageError(f"Error: no package specified\n{_USAGE}", 1)
            if command != "kill" or phone.foreground != packages[0]:
                phone.force_stop(packages[0])
            return ok()
        case "get-current-user":
            return ok("0\n")
        case _:
            raise UsageError(f"Unknown command: {command}\n{_USAGE}", 1)


def monkey(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    """``monkey -p PKG -c android.intent.category.LAUNCHER 1``: launch an app's main activity."""
    packages, count, index = [], 0, 0
    while index < len(args):
        arg = args[index]
        if arg == "-p" and index + 1 < len(args):
            packages.append(args[index + 1])
            index += 1
        elif arg in ("-c", "-s", "--throttle", "--pct-touch", "--pct-motion", "--pct-syskeys",
                     "--pct-appswitch", "--pct-anyevent") and index + 1 < len(args):
            index += 1
        elif arg.isdigit():
            count = int(arg)
        index += 1
    lines = [f"  bash arg: {arg}" for arg in args]
    apps = [phone.apps[p] for p in packages if p in phone.apps and phone.apps[p].launchable]
    if not apps:
        return fail("** No activities found to run, monkey aborted.", 252,
                    stdout="\n".join(lines) + "\n")
    if count > 0:
        phone.launch(apps[0].package)
        phone.animate()
    lines += [f"Events injected: {count}",
              "## Network stats: elapsed time=12ms (0ms mobile, 0ms wifi, 12ms not connected)"]
    return ok("\n".join(lines) + "\n")


ACTIVITY = {"am": am, "monkey": monkey}
