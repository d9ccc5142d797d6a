"""Toybox tools every release has: date, ps, pidof, cut, sed, find, logcat.

They take the options agents and people use on a phone (``date +%s``, ``ps -A``, ``pidof
com.android.settings``, ``cut -d: -f2``, ``sed -n 's/a/b/p'``, ``find /sdcard -name '*.xml'``,
``logcat -d``) and print what toybox prints. ``logcat`` without ``-d`` would stream until
interrupted on a phone; here it prints the buffers and ends, as with ``-d``.
"""

from __future__ import annotations

import fnmatch
import re
import time
from typing import TYPE_CHECKING

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.tools.common import UsageError, fail, ok
from qvl_agent.envs.sim.tools.coreutils import basic_regex

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["TOYBOX", "processes"]

_SHELL_PID = 4242


def date(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    now = time.gmtime(phone.logcat.wall())
    formats = [arg[1:] for arg in args if arg.startswith("+")]
    for arg in args:
        if not arg.startswith("+") and arg not in ("-u",):
            return fail(f"date: bad date '{arg}'")
    if formats:
        text = formats[0].replace("%s", str(int(phone.logcat.wall())))
        return ok(time.strftime(text, now) + "\n")
    return ok(time.strftime("%a %b %e %H:%M:%S UTC %Y", now) + "\n")


def processes(phone: Phone) -> list[tuple[str, int, int, str]]:
    """(user, pid, ppid, name) of what runs: the system, the apps with tasks, this shell."""
    rows = [("root", 1, 0, "init"), ("root", 588, 1, "zygote64"),
            ("system", 1261, 588, "system_server"), ("u0_a90", 1502, 588, "com.android.systemui"),
            ("root", 620, 1, "adbd")]
    for package in sorted(phone.running_packages(), key=phone.task_id):
        rows.append((f"u0_a{100 + phone.task_id(package)}", 4000 + phone.task_id(package), 588,
                     package))
    rows.append(("shell", _SHELL_PID, 620, "sh"))
    return rows


def ps(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    every = any(arg in ("-A", "-e", "-ef", "-Af") for arg in args)
    rows = processes(phone) if every else [("shell", _SHELL_PID, 620, "sh")]
    rows = rows + [("shell", _SHELL_PID + 1, _SHELL_PID, "ps")]
    names = [arg for arg in args if not arg.startswith("-")]
    if names:
        rows = [row for row in rows if row[3] in names or str(row[1]) in names]
    lines = ["USER            PID   PPID     VSZ    RSS WCHAN            ADDR S NAME"]
    for user, pid, ppid, name in rows:
        state = "R" if name == "ps" else "S"
        lines.append(f"{user:<12}{pid:>7}{ppid:>7}{10782796 + pid:>9}{3304 + pid % 997:>7} "
                     f"{'0':<16}{'0':>5} {state} {name}")
    return ok("\n".join(lines) + "\n")


def pidof(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    pids = [str(pid) for name in args if not name.startswith("-")
            for _, pid, _, process in processes(phone) if process == name]
    return ShellResult(0 if pids else 1, (" ".join(pids) + "\n").encode() if pids else b"")


def _ranges(spec: str, name: str) -> list[tuple[int, int]]:
    ranges = []
    for part in spec.split(","):
        match = re.fullmatch(r"(\d*)(-?)(\d*)", part)
        if not match or not (match.group(1) or match.group(3)):
            raise UsageError(f"{name}: bad list '{spec}'", 1)
        start = int(match.group(1) or 1)
        end = int(match.group(3)) if match.group(3) else (10 ** 9 if match.group(2) else start)
        ranges.append((start, end))
    return ranges


def cut(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    delimiter, fields, chars, files, index = "\t", None, None, [], 0
    while index < len(args):
        arg = args[index]
        for flag in ("-d", "-f", "-c"):
            if arg.startswith(flag):
                value = arg[2:] or (args[index + 1] if index + 1 < len(args) else "")
                index += 0 if arg[2:] else 1
                if flag == "-d":
                    delimiter = value[:1]
                elif flag == "-f":
                    fields = _ranges(value, "cut")
                else:
                    chars = _ranges(value, "cut")
                break
        else:
            files.append(arg)
        index += 1
    if fields is None and chars is None:
        raise UsageError("cut: Needs -fcb", 1)
    data = b"".join(phone.files.read(f) for f in files) if files else stdin
    out = []
    for line in data.decode("utf-8", "surrogateescape").splitlines():
        if chars is not None:
            out.append("".join(line[s - 1:e] for s, e in chars))
        elif delimiter not in line:
            out.append(line)        # a line without the delimiter passes whole
        else:
            parts = line.split(delimiter)
            picked = [parts[i] for i in range(len(parts))
                      if any(s <= i + 1 <= e for s, e in fields or [])]
            out.append(delimiter.join(picked))
    return ok("".join(f"{line}\n" for line in out).encode("utf-8", "surrogateescape"))


def _sed_commands(script: str, extended: bool) -> list[tuple[str | None, str, tuple]]:
    """(address, command, arguments) for each ``;``- or newline-separated command."""
    commands = []
    for text in re.split(r"[;\n]", script):
        text = text.strip()
        if not text:
            continue
        match = re.match(r"(\d+|\$|/(?:[^/\\]|\\.)*/)?\s*(.*)", text, re.S)
        address, rest = (match.group(1), match.group(2)) if match else (None, text)
        if rest.startswith("s") and len(rest) > 1:
            sep = rest[1]
            parts = re.split(rf"(?<!\\){re.escape(sep)}", rest[2:])
            if len(parts) < 3:
                raise UsageError(f"sed: bad regex '{text}'", 1)
            pattern = parts[0] if extended else basic_regex(parts[0])
            replacement = re.sub(r"\\(\d)", r"\\\1", parts[1]).replace("&", r"\g<0>")
            commands.append((address, "s", (re.compile(pattern), replacement, parts[2])))
        elif rest in ("p", "d", "q"):
            commands.append((address, rest, ()))
        else:
            raise UsageError(f"sed: Unknown command '{rest[:1]}'", 1)
    return commands


def sed(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    quiet = "-n" in args
    extended = "-E" in args or "-r" in args
    scripts, files, index = [], [], 0
    while index < len(args):
        if args[index] == "-e" and index + 1 < len(args):
            scripts.append(args[index + 1])
            index += 2
            continue
        if not args[index].startswith("-"):
            files.append(args[index])
        index += 1
    if not scripts and files:
        scripts.append(files.pop(0))
    if not scripts:
        raise UsageError("usage: sed [-inrzE] [-e SCRIPT]...|SCRIPT [-f SCRIPT_FILE]... "
                         "[FILE...]", 1)
    commands = [c for script in scripts for c in _sed_commands(script, extended)]
    data = b"".join(phone.files.read(f) for f in files) if files else stdin
    lines = data.decode("utf-8", "surrogateescape").splitlines()
    out: list[str] = []
    for number, line in enumerate(lines, 1):
        deleted = False
        for address, command, extra in commands:
            if address is not None and not (
                    (address == "$" and number == len(lines))
                    or (address.isdigit() and int(address) == number)
                    or (address.startswith("/") and re.search(
                        address[1:-1] if extended else basic_regex(address[1:-1]), line))):
                continue
            if command == "s":
                pattern, replacement, flags = extra
                line, count = pattern.subn(replacement, line, count=0 if "g" in flags else 1)
                if count and "p" in flags:
                    out.append(line)
            elif command == "p":
                out.append(line)
            elif command == "d":
                deleted = True
                break
            elif command == "q":
                if not quiet:
                    out.append(line)
                return ok("".join(f"{o}\n" for o in out).encode("utf-8", "surrogateescape"))
        if not deleted and not quiet:
            out.append(line)
    return ok("".join(f"{o}\n" for o in out).encode("utf-8", "surrogateescape"))


def find(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    roots = [arg for arg in args[:1] if not arg.startswith("-")] or ["."]
    pattern = kind = None
    depth = 10 ** 6
    options = args[len(roots) if args[:1] == roots else 0:]
    for option, value in zip(options[::2], options[1::2]):
        if option in ("-name", "-iname"):
            pattern = value
        elif option == "-type":
            kind = {"f": "file", "d": "dir"}.get(value)
        elif option == "-maxdepth" and value.isdigit():
            depth = int(value)
    found, errors = [], []
    for root in roots:
        start = "/" if root == "." else root.rstrip("/") or "/"
        if phone.files.kind(start) is None:
            errors.append(f"find: {root}: No such file or directory\n")
            continue
        stack = [(start, 0)]
        while stack:
            path, level = stack.pop()
            what = phone.files.kind(path)
            name = path.rsplit("/", 1)[-1] or "/"
            if (pattern is None or fnmatch.fnmatchcase(name, pattern)) \
                    and (kind is None or kind == what):
                found.append(path)
            if what == "dir" and level < depth:
                for child in reversed(phone.files.listing(path)):
                    stack.append((f"{path.rstrip('/')}/{child}", level + 1))
    return ShellResult(1 if errors else 0, "".join(f"{p}\n" for p in found).encode(),
                       "".join(errors).encode())


def logcat(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    if "-c" in args:
        phone.logcat.clear()
        return ok()
    buffers: tuple = ("main", "system", "crash")
    if "-b" in args and args.index("-b") + 1 < len(args):
        wanted = args[args.index("-b") + 1]
        buffers = buffers if wanted in ("all", "default") else tuple(wanted.split(","))
    text = phone.logcat.dump(buffers)
    lines = text.splitlines(keepends=True)
    if "-t" in args and args.index("-t") + 1 < len(args) and args[args.index("-t") + 1].isdigit():
        lines = lines[-int(args[args.index("-t") + 1]):]
    tags = [arg.split(":")[0] for arg in args if ":" in arg and not arg.startswith("*")]
    if tags:
        lines = [line for line in lines if any(f" {tag}: " in line for tag in tags)]
    return ok("".join(lines))


TOYBOX = {"date": date, "ps": ps, "pidof": pidof, "cut": cut, "sed": sed, "find": find,
          "logcat": logcat}
