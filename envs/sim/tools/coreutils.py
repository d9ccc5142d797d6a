"""The small everyday commands: echo, true/false, exit, sleep, id, cat, rm, ls, grep, head...

They behave like Android's toybox and mksh builtins for the ways agents and adbutils call
them (``rm -f PATH; uiautomator dump PATH && echo success``, ``dumpsys window | grep
mCurrentFocus``).
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from qvl_agent.envs.sim.adbd import ShellResult
from qvl_agent.envs.sim.files import FileError
from qvl_agent.envs.sim.tools.common import ShellExit, UsageError, ok

if TYPE_CHECKING:
    from qvl_agent.envs.sim.phone import Phone

__all__ = ["COREUTILS", "basic_regex"]

_ID = ("uid=2000(shell) gid=2000(shell) groups=2000(shell),1004(input),1007(log),1011(adb),"
       "1015(sdcard_rw),1028(sdcard_r),1078(ext_data_rw),1079(ext_obb_rw),3001(net_bt_admin),"
       "3002(net_bt),3003(inet),3006(net_bw_stats),3009(readproc),3011(uhid),3012(readtracefs)"
       " context=u:r:shell:s0\n")
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "a": "\a", "b": "\b", "r": "\r", "v": "\v",
            "f": "\f", "e": "\x1b"}


def echo(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    newline, escapes = True, False
    while args and re.fullmatch(r"-[neE]+", args[0]):
        newline = newline and "n" not in args[0]
        escapes = "e" in args[0] or (escapes and "E" not in args[0])
        args = args[1:]
    text = " ".join(args)
    if escapes:
        text = re.sub(r"\\(.)", lambda m: _ESCAPES.get(m.group(1), m.group(0)), text)
    return ok(text + ("\n" if newline else ""))


def true(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    return ok()


def false(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    return ShellResult(1, b"")


def exit_(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    if args and not re.fullmatch(r"-?\d+", args[0]):
        raise UsageError(f"/system/bin/sh: exit: {args[0]}: bad number")
    raise ShellExit(int(args[0]) & 0xFF if args else 0)


def sleep(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    try:
        seconds = float(args[0].rstrip("s")) if args else -1
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise UsageError(f"sleep: invalid number '{args[0] if args else ''}'")
    time.sleep(seconds)
    return ok()


def id_(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    return ok(_ID)


def whoami(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    return ok("shell\n")


def cat(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    paths = [arg for arg in args if arg != "-" and not arg.startswith("-")] or ["-"]
    out, errors = bytearray(), []
    for path in paths:
        if path == "-":
            out += stdin
            continue
        try:
            out += phone.files.read(path)
        except FileError as exc:
            errors.append(f"cat: {path}: {exc}\n")
    return ShellResult(1 if errors else 0, bytes(out), "".join(errors).encode())


def rm(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    flags = "".join(arg[1:] for arg in args if arg.startswith("-") and len(arg) > 1)
    force = "f" in flags
    errors = []
    for path in (arg for arg in args if not arg.startswith("-") or arg == "-"):
        try:
            phone.files.remove(path)
        except FileError as exc:
            if not (force and "No such file" in str(exc)):
                errors.append(f"rm: {path}: {exc}\n")
    return ShellResult(1 if errors else 0, b"", "".join(errors).encode())


def ls(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    out, errors = [], []
    for path in [arg for arg in args if not arg.startswith("-")] or ["/"]:
        if not phone.files.exists(path):
            errors.append(f"ls: {path}: No such file or directory\n")
            continue
        try:
            phone.files.read(path)
            out.append(path)                            # a file lists as itself
        except FileError:
            out.extend(phone.files.listing(path))       # a directory lists its names
    return ShellResult(1 if errors else 0, "".join(f"{n}\n" for n in out).encode(),
                       "".join(errors).encode())


def basic_regex(pattern: str) -> str:
    """A POSIX basic regular expression in Python's syntax (``\\|`` is alternation there)."""
    out, index = [], 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            following = pattern[index + 1]
            out.append(following if following in "|(){}+?" else "\\" + following)
            index += 2
            continue
        out.append("\\" + char if char in "|(){}+?" else char)
        index += 1
    return "".join(out)


def grep(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    flags: set[str] = set()
    patterns: list[str] = []
    index = 0
    while index < len(args) and args[index].startswith("-") and len(args[index]) > 1:
        if args[index] == "--":
            index += 1
            break
        if args[index] == "-e" and index + 1 < len(args):
            patterns.append(args[index + 1])
            index += 2
            continue
        flags.update(args[index][1:])
        index += 1
    files = args[index:]
    if not patterns and files:
        patterns, files = [files[0]], files[1:]
    if not patterns:
        raise UsageError("usage: grep [-EFivcqo] [-e PATTERN] PATTERN [FILE...]", 2)
    try:
        if "F" in flags:
            sources = [re.escape(p) for p in patterns]
        else:
            sources = [p if "E" in flags else basic_regex(p) for p in patterns]
        regex = re.compile("|".join(f"(?:{s})" for s in sources),
                           re.IGNORECASE if "i" in flags else 0)
    except re.error as exc:
        raise UsageError(f"grep: bad regex '{patterns[0]}': {exc}", 2) from None
    try:
        data = b"".join(phone.files.read(f) for f in files) if files else stdin
    except FileError as exc:
        raise UsageError(f"grep: {files[0]}: {exc}", 2) from None
    lines = data.decode("utf-8", "surrogateescape").splitlines()
    hits = [line for line in lines if bool(regex.search(line)) != ("v" in flags)]
    if "q" in flags:
        return ShellResult(0 if hits else 1, b"")
    if "c" in flags:
        return ShellResult(0 if hits else 1, f"{len(hits)}\n".encode())
    if "o" in flags:
        hits = [m.group(0) for line in hits for m in regex.finditer(line)]
    text = "".join(f"{line}\n" for line in hits)
    return ShellResult(0 if hits else 1, text.encode("utf-8", "surrogateescape"))


def _count(name: str, args: list[str]) -> tuple[int, list[str]]:
    """``-n N`` or ``-N`` (default 10) and the file operands of head or tail."""
    count, rest, index = 10, [], 0
    while index < len(args):
        arg = args[index]
        text = args[index + 1] if arg == "-n" and index + 1 < len(args) else None
        if text is not None:
            index += 1
        elif re.fullmatch(r"-n?\d+", arg):
            text = arg.lstrip("-n")
        elif arg.startswith("-") and len(arg) > 1:
            raise UsageError(f"{name}: Unknown option '{arg}'", 1)
        else:
            rest.append(arg)
        if text is not None:
            if not text.lstrip("+-").isdigit():
                raise UsageError(f"{name}: -n: not integer: {text}", 1)
            count = abs(int(text))
        index += 1
    return count, rest


def _input(name: str, phone: Phone, files: list[str], stdin: bytes) -> bytes:
    """The files' contents one after the other, or stdin when there are none."""
    if not files:
        return stdin
    data = bytearray()
    for path in files:
        try:
            data += phone.files.read(path)
        except FileError as exc:
            raise UsageError(f"{name}: {path}: {exc}", 1) from None
    return bytes(data)


def head(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    if args[:1] == ["-c"] or (args and re.fullmatch(r"-c\d+", args[0])):
        text = args[0][2:] or (args[1] if len(args) > 1 else "")
        if not text.isdigit():
            raise UsageError(f"head: -c: not integer: {text}", 1)
        files = args[1:] if args[0][2:] else args[2:]
        return ok(_input("head", phone, files, stdin)[:int(text)])
    count, files = _count("head", args)
    return ok(b"".join(_input("head", phone, files, stdin).splitlines(keepends=True)[:count]))


def tail(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    count, files = _count("tail", args)
    lines = _input("tail", phone, files, stdin).splitlines(keepends=True)
    return ok(b"".join(lines[-count:] if count else []))


def wc(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    data = _input("wc", phone, [a for a in args if not a.startswith("-")], stdin)
    counts = {"l": data.count(b"\n"), "w": len(data.split()), "c": len(data)}
    wanted = "".join(a[1:] for a in args if a.startswith("-")) or "lwc"
    return ok(" ".join(str(counts[k]) for k in "lwc" if k in wanted) + "\n")


def which(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    from qvl_agent.envs.sim.tools import TOOLS       # the registry imports this module

    found = [f"/system/bin/{name}\n" for name in args if name in TOOLS]
    return ShellResult(0 if len(found) == len(args) and args else 1, "".join(found).encode())


def quiet(phone: Phone, args: list[str], stdin: bytes) -> ShellResult:
    """``cd``, ``mkdir``, ``touch``, ``sync``: accepted and without effect here."""
    return ok()


COREUTILS = {
    "echo": echo, "true": true, ":": true, "false": false, "exit": exit_, "sleep": sleep,
    "id": id_, "whoami": whoami, "cat": cat, "rm": rm, "ls": ls, "grep": grep, "head": head,
    "tail": tail, "wc": wc, "which": which, "cd": quiet, "mkdir": quiet, "touch": quiet,
    "sync": quiet, "export": quiet,
}
