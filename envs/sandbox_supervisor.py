"""The first process inside a desktop sandbox: it starts and ends programs for the host.

Runs as ``python -I supervisor.py FD`` under bubblewrap, standard library only (it must not
import this package: the sandbox sees the system read-only and nothing else of the host's).
Every program of the sandbox (Xvfb, the window manager, apps, setup commands, getters) is a
child of this process, so each is in the sandbox's namespaces and ends with it.

Protocol: one JSON object per line on the socket ``FD``, one answer per request, in order.
    {"op": "launch", "args": [...], "env": {...}, "cwd": "...", "log": "/path" | null}
        -> {"pid": N}
    {"op": "run", "args": [...] | "...", "shell": bool, "env", "cwd", "timeout": s,
     "input": base64 | absent}
        -> {"returncode": N, "stdout": "...", "stderr": "..."} | {"error": "timeout"}
    {"op": "poll", "pid": N} -> {"returncode": N | null}
    {"op": "end", "pid": N}  -> {"returncode": N}   (SIGTERM its group, then SIGKILL)
    {"op": "sweep", "keep": [N, ...]} -> {"ended": N}   (every other process of the sandbox)
A closed socket (the host is done, or gone) ends every process of the sandbox's PID
namespace (a sweep with a second's grace), then this one.

A command that ``run`` waits for may leave programs in the background (``nohup x &``, a
daemon that forks): as on OSWorld's VM they keep running, until the host ends the episode
with ``sweep``. ``run`` waits for the command itself, not for its output's end (its output
goes to files), so such a program holding stdout open does not hold the answer back.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

_children: dict[int, subprocess.Popen] = {}


def _launch(request: dict) -> dict:
    log = request.get("log")
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the child owns it
    try:
        process = subprocess.Popen(request["args"], env=request["env"], cwd=request.get("cwd"),
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                   start_new_session=True)
    finally:
        if out is not subprocess.DEVNULL:
            out.close()
    _children[process.pid] = process
    return {"pid": process.pid}


def _run(request: dict) -> dict:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryFile() as given:
        if request.get("input") is not None:  # the command's standard input (a file put inside)
            given.write(base64.b64decode(request["input"]))
            given.seek(0)
        try:
            process = subprocess.Popen(request["args"], shell=request.get("shell", False),
                                       env=request["env"], cwd=request.get("cwd"),
                                       stdin=given, stdout=out, stderr=err,
                                       start_new_session=True)
        except FileNotFoundError as exc:
            return {"error": "notfound", "message": exc.strerror or str(exc)}
        try:
            process.wait(timeout=request.get("timeout", 60))
        except subprocess.TimeoutExpired:
            _end(process)
            return {"error": "timeout"}
        # What it started in the background lives on, as on OSWorld's VM, until a sweep.
        return {"returncode": process.returncode, "stdout": _read(out), "stderr": _read(err)}


def _read(file) -> str:  # noqa: ANN001 - a binary temporary file
    file.seek(0)
    return file.read().decode("utf-8", errors="replace")


def _end(process: subprocess.Popen) -> int:
    if process.poll() is None:
        _signal(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    _signal(process.pid, signal.SIGKILL)  # helpers it started in its session too
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass
    return process.returncode if process.returncode is not None else -9


def _signal(pid: int, sig: int) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _sweep(keep: set[int], grace: float = 3.0) -> int:
    """End every process of the sandbox but this one, its pid 1 and ``keep`` (SIGTERM, then
    SIGKILL what is left after ``grace`` s); the number ended."""
    mine = {1, os.getpid(), *keep}

    def others() -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) not in mine and not _zombie(int(entry)):
                pids.append(int(entry))
        return pids

    found = others()
    for pid in found:
        _kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        _reap()
        if not others():
            break
        time.sleep(0.05)
    for pid in others():
        _kill(pid, signal.SIGKILL)
    _reap()
    for pid in [p for p in _children if p not in mine]:
        _children.pop(pid).poll()
    return len(found)


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] == b"Z"
    except (OSError, IndexError):
        return True  # gone already


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _reap() -> None:
    for process in _children.values():
        process.poll()


def _handle(request: dict) -> dict:
    op = request.get("op")
    try:
        if op == "launch":
            return _launch(request)
        if op == "run":
            return _run(request)
        if op == "sweep":
            return {"ended": _sweep({int(p) for p in request.get("keep", [])})}
        process = _children.get(int(request.get("pid", -1)))
        if process is None:
            return {"returncode": -1}
        if op == "poll":
            return {"returncode": process.poll()}
        if op == "end":
            code = _end(process)
            _children.pop(process.pid, None)
            return {"returncode": code}
        return {"error": "unknown", "message": f"unknown request {op!r}"}
    except FileNotFoundError as exc:
        return {"error": "notfound", "message": exc.strerror or str(exc)}
    except OSError as exc:
        return {"error": "os", "message": str(exc)}


def main() -> None:
    channel = socket.socket(fileno=int(sys.argv[1]))
    reader = channel.makefile("r", encoding="utf-8")
    for line in reader:
        answer = _handle(json.loads(line))
        channel.sendall((json.dumps(answer) + "\n").encode())
    # The host is done: the task's world ends, what setup steps left in the background too
    # (bwrap's pid 1 would otherwise wait for every one of them before it exits).
    _sweep(set(), grace=1.0)


if __name__ == "__main__":
    main()
