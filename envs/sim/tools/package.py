"""``pm`` and ``cmd package``: what is installed, where, and which activities launch apps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.apps.base import App
from qvl_agent.envs.sim.tools.activity import parse_intent
from qvl_agent.envs.sim.tools.common import UsageError, fail, ok

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["PACKAGE", "pm"]

_MAIN, _LAUNCHER, _HOME = ("android.intent.action.MAIN", "android.intent.category.LAUNCHER",
                           "android.intent.category.HOME")
_USAGE = ("usage: pm [list packages|path|clear|dump|grant|revoke] ...\n"
          "  list packages [-f] [-d] [-e] [-s] [-3] [-i] [-u] [--user USER_ID] [FILTER]\n"
          "  path [--user USER_ID] PACKAGE\n"
          "  clear [--user USER_ID] PACKAGE\n")
_RESOLVE = "priority=0 preferredOrder=0 match=0x108000 specificIndex=-1 isDefault=false"


def _operands(args: list[str]) -> list[str]:
    """Arguments that are not options (``--user 0`` counts as an option)."""
    return [arg for i, arg in enumerate(args)
            if not arg.startswith("-") and (i == 0 or args[i - 1] != "--user")]


def _list_packages(phone: Phone, args: list[str]) -> ShellResult:
    flags = {arg for arg in args if arg.startswith("-")}
    operands = _operands(args)
    wanted = operands[0] if operands else ""
    lines = []
    for package in phone.packages.values():
        if ("-3" in flags and package.system) or ("-s" in flags and not package.system) \
                or "-d" in flags or wanted not in package.name:
            continue
        line = f"package:{package.path}={package.name}" if "-f" in flags \
            else f"package:{package.name}"
        if "-i" in flags:
            line += "  installer=null"
        if "-U" in flags:
            line += f" uid:{10000 + list(phone.packages).index(package.name)}"
        lines.append(line + "\n")
    return ok("".join(lines))


def _matching(phone: Phone, args: list[str]) -> list[App]:
    """The activities an intent (given as ``-a``/``-c`` options, maybe a package) resolves to."""
    intent = parse_intent([arg for arg in args if arg not in ("--brief", "--components")])
    if intent.component:
        app = phone.app_for_component(intent.component)
        return [app] if app else []
    if intent.action not in (None, _MAIN):
        apps = [phone.apps["com.android.settings"]] if (intent.action or "").startswith(
            "android.settings.") else []
    elif _HOME in intent.categories:
        apps = [phone.launcher]
    elif set(intent.categories) <= {_LAUNCHER, "android.intent.category.DEFAULT"}:
        apps = [app for app in phone.apps.values() if app.launchable]
    else:
        apps = []
    return [app for app in apps if intent.package in (None, app.package)]


def _activity_lines(app: App, brief: bool, components: bool) -> list[str]:
    if components:
        return [app.component]
    if brief:
        return [f"    {_RESOLVE}", f"    {app.component}"]
    return [f"    {_RESOLVE}", "    ActivityInfo:", f"      name={app.activity_class()}",
            f"      packageName={app.package}", "      enabled=true exported=true "
            "directBootAware=false", f"      taskAffinity={app.package} "
            "targetActivity=null persistableMode=PERSIST_ROOT_ONLY", "      launchMode=0 "
            "flags=0x3 privateFlags=0x0 theme=0x0", "      screenOrientation=-1 "
            "configChanges=0x0 softInputMode=0x0"]


def _query_activities(phone: Phone, args: list[str]) -> ShellResult:
    apps = _matching(phone, args)
    if not apps:
        return ok("No activities found\n")
    components = "--components" in args
    lines = [] if components else [f"{len(apps)} activities found:"]
    for number, app in enumerate(apps):
        if not components:
            lines.append(f"  Activity #{number}:")
        lines += _activity_lines(app, "--brief" in args, components)
    return ok("\n".join(lines) + "\n")


def _resolve_activity(phone: Phone, args: list[str]) -> ShellResult:
    apps = _matching(phone, args)
    if not apps:
        return ok("No activity found\n")
    if "--components" in args:
        return ok(apps[0].component + "\n")
    lines = _activity_lines(apps[0], "--brief" in args, False)
    return ok("\n".join(line[4:] for line in lines) + "\n")


def pm(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    if not args:
        raise UsageError(_USAGE, 1)
    command, rest = args[0], args[1:]
    operands = _operands(rest)
    match command:
        case "list":
            if rest[:1] != ["packages"]:
                raise UsageError(f"Error: unknown list type '{rest[0] if rest else ''}'", 1)
            return _list_packages(phone, rest[1:])
        case "path":
            package = phone.packages.get(operands[0] if operands else "")
            return ok(f"package:{package.path}\n") if package else ShellResult(1, b"")
        case "clear":
            if not operands or operands[0] not in phone.packages \
                    or not phone.packages[operands[0]].clearable:
                return fail("Failed", 1, stdout="")
            phone.clear(operands[0])
            return ok("Success\n")
        case "dump":
            from qvl_agent.envs.sim.tools.dumpsys import package_dump

            return ok(package_dump(phone, operands[0] if operands else ""))
        case "grant" | "revoke":
            if len(operands) < 2:
                raise UsageError(f"Error: no package or permission specified\n{_USAGE}", 1)
            if operands[0] not in phone.packages:
                return fail(f"Exception occurred while executing '{command}':\n"
                            f"java.lang.IllegalArgumentException: Unknown package: "
                            f"{operands[0]}", 255)
            return ok()
        case "query-activities":
            return _query_activities(phone, rest)
        case "resolve-activity":
            return _resolve_activity(phone, rest)
        case _:
            raise UsageError(f"Unknown command: {command}\n{_USAGE}", 1)


PACKAGE = {"pm": pm}
