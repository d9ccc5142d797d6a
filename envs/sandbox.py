"""A throwaway bubblewrap sandbox for a desktop: what a task or an agent does stays in it.

``start_sandboxed_display(sizes)`` starts ``bwrap`` with:
- a new root that holds what a VM would (``envs.sandbox_mounts``): the system's folders
  read-only, the folders ``python`` needs, and nothing else of the host's (no home folders,
  no ``/root``, no project trees, no host ``/tmp`` or ``/run``);
- a fresh writable home at ``/home/user`` (OSWorld's path) with ``Desktop``, ``Documents``,
  ``Downloads``, ... ; it is a folder of the host's runtime directory, bound in, so the host
  can copy task files in and read results out, never through a link a program inside made
  (``envs.homefiles``); it is also bound at its host path, so a host path to it means the
  same file on both sides;
- no environment of the host's (bwrap itself starts with an empty one, ``--clearenv``):
  programs get only what ``SandboxDisplay.env`` gives, so no API key reaches
  ``/proc/*/environ`` inside;
- its own PID, IPC, UTS and network namespaces (only a loopback inside: the sandbox cannot
  reach the host's servers, adb's included, nor the host's X displays' abstract sockets), a
  user namespace where programs run as ``user`` (uid 1000, OSWorld's VM user) with no
  capabilities (``--cap-drop ALL``): the invoking user outside, or, when that is root, an
  unused unprivileged uid (``envs.sandbox_identity``), and ``--die-with-parent``;
- a ``sudo`` that accepts the sandbox's own password (OSWorld's ``{CLIENT_PASSWORD}``) and
  runs the command as the sandbox's root: uid 0 of a nested user namespace, which can do
  nothing ``user`` cannot outside it;
- a desktop session like OSWorld's VM's (``envs.sandbox_session``): a D-Bus session bus with
  dconf, PulseAudio, a terminal on ctrl+alt+t.

Inside, ``envs/sandbox_supervisor.py`` starts every program: Xvfb as display ``:0``, the
window manager, the apps, setup commands and getters. The X socket: the sandbox's
``/tmp/.X11-unix`` is a runtime folder of the host, so Xvfb's socket file is visible there;
the host reaches it as an ordinary display ``:N`` through a symlink
``/tmp/.X11-unix/XN`` -> that socket, with the X lock file ``/tmp/.XN-lock`` holding the
sandbox's pid so that no other X server takes the number. mss, pyautogui and xdotool on the
host then talk to the sandbox's server and to nothing else, and only the host's env (the
agent) acts there from outside. The host connects before any task's program runs.

The files bound in, the link and the lock are made by ``envs.sandbox_host``.

One sandbox is one task's world: a desktop env makes a new one for each task
(``DesktopEnv.fresh_display``), so every task has a new home, a new ``/tmp`` and its own
PID namespace. Programs a setup command leaves in the background live on, as on a VM, until
the episode ends (the next task's reset, or the env's close); then they end with the
namespace. A display that is not replaced (one given to an env) ends them with
``close_apps``, which ends every process of the sandbox but the X server and the window
manager, wherever it was started from. Everything (processes, home, runtime, the symlink
and the lock) goes when the display stops; a SIGKILLed parent takes bwrap with it
(``--die-with-parent``) and the next start sweeps the files left behind.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from qvl_agent.envs.errors import EnvError, EnvNotFoundError
from qvl_agent.envs.homefiles import read_below
from qvl_agent.envs.processes import die_with_parent
from qvl_agent.envs.sandbox_files import SandboxFiles
from qvl_agent.envs.sandbox_host import USER_HOME, link_display, sweep, write_etc
from qvl_agent.envs.sandbox_identity import HostIdentity, host_identity
from qvl_agent.envs.sandbox_mounts import system_view
from qvl_agent.envs.sandbox_session import BUS, DESKTOP_DIR, RUNTIME_DIR, start_session, \
    terminal_text, write_session_files
from qvl_agent.envs.xdisplay import Display, Monitor, start_window_manager

__all__ = ["SandboxDisplay", "SandboxProcess", "start_sandboxed_display", "check_bubblewrap",
           "USER_HOME"]

_SUPERVISOR = Path(__file__).with_name("sandbox_supervisor.py")
_FOLDERS = ("Desktop", "Documents", "Downloads", "Music", "Pictures", "Public", "Templates",
            "Videos")
# Namespaces and the rest; the user namespace's options come from envs.sandbox_identity.
_ISOLATION = ["--cap-drop", "ALL", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
              "--unshare-net", "--unshare-cgroup-try", "--die-with-parent", "--new-session",
              "--clearenv"]
_INSTALL = ("install bubblewrap (Debian/Ubuntu: apt install bubblewrap; Fedora: dnf install "
            "bubblewrap; Arch: pacman -S bubblewrap)")


def check_bubblewrap() -> None:
    """Raise EnvNotFoundError, saying what to install or enable, when the sandbox cannot run."""
    problem = _probe(shutil.which("bwrap") or "")
    if problem:
        raise EnvNotFoundError(problem)


def _probe_now(bwrap: str) -> str | None:
    """What stops the sandbox here (None: nothing); ``_probe`` keeps the answer."""
    if platform.system() != "Linux":
        return (f"--display virtual runs desktop tasks in a bubblewrap sandbox, which needs "
                f"Linux (this is {platform.system()}); run them on Linux, or on your own "
                "display with --display :N --unsafe-host (tasks may then change your files)")
    if not bwrap:
        return f"--display virtual runs desktop tasks in a bubblewrap sandbox: {_INSTALL}"
    try:
        identity = host_identity()
    except EnvNotFoundError as exc:
        return str(exc)
    try:
        probe = subprocess.run([bwrap, *identity.args, *_ISOLATION, "--ro-bind", "/", "/",
                                "--dev", "/dev", "--proc", "/proc", "true"], capture_output=True,
                               text=True, timeout=30, pass_fds=identity.pass_fds,
                               preexec_fn=_no_groups, env={})
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"cannot run {bwrap}: {exc}"
    finally:
        identity.close()
    if probe.returncode == 0:
        return None
    said = probe.stderr.strip().splitlines()[-1] if probe.stderr.strip() else "no message"
    return (f"bubblewrap cannot create its sandbox here ({said}). Enable unprivileged user "
            "namespaces: sysctl -w kernel.unprivileged_userns_clone=1 (Debian) and "
            "user.max_user_namespaces > 0; on Ubuntu 23.10+ also "
            "kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile for bwrap); "
            "in a container, allow unshare/mount (e.g. docker --security-opt seccomp=unconfined "
            "--security-opt apparmor=unconfined, or a privileged container)")


# The answer per bwrap path, for the process. Wrapped, not decorated: mutation testing
# (benchmarks/mutation.py) leaves decorated functions alone, and these messages are what a
# user reads when the sandbox cannot run.
_probe = lru_cache(maxsize=4)(_probe_now)


class SandboxProcess:
    """A program started inside the sandbox: the part of ``subprocess.Popen`` callers use.
    ``pid`` is its pid inside the sandbox's PID namespace."""

    def __init__(self, display: "SandboxDisplay", pid: int, args: list[str]) -> None:
        self.display, self.pid, self.args = display, pid, args
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            if self.display._stopped:
                self.returncode = -signal.SIGKILL
            else:
                self.returncode = self.display._request({"op": "poll", "pid": self.pid})["returncode"]
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(self.args, timeout or 0)
            time.sleep(0.05)
        return self.returncode  # type: ignore[return-value]

    def terminate(self) -> None:
        """End it and what it started (SIGTERM, then SIGKILL)."""
        if self.returncode is None and not self.display._stopped:
            self.returncode = self.display._request({"op": "end", "pid": self.pid})["returncode"]

    kill = terminate


@dataclass
class SandboxDisplay(SandboxFiles, Display):
    """A managed display whose server, window manager and programs live in a sandbox."""

    password: str = ""
    inner_name: str = ":0"
    screen: tuple[int, int] = (1280, 720)
    _bwrap: subprocess.Popen | None = field(default=None, repr=False)
    _channel: socket.socket | None = field(default=None, repr=False)
    _reader: object = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _links: list[Path] = field(default_factory=list, repr=False)
    owner: tuple[int, int] | None = field(default=None, repr=False)  # who files put in belong to

    @property
    def user_home(self) -> Path:
        return USER_HOME

    @property
    def folders(self) -> tuple[str, ...]:
        """The usual folders of the home, there at the start of every task."""
        return _FOLDERS

    @property
    def env(self) -> dict[str, str]:
        """A clean environment: nothing of the host's (no API keys) but the locale."""
        assert self.home is not None
        python_bin = os.path.dirname(sys.executable)
        path = os.pathsep.join(["/run/qvl/bin", python_bin, str(USER_HOME / ".local" / "bin"),
                                "/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin",
                                "/usr/sbin", "/sbin"])
        env = {"PATH": path, "HOME": str(USER_HOME), "USER": "user", "LOGNAME": "user",
               "SHELL": "/bin/bash", "DISPLAY": self.inner_name,
               "XAUTHORITY": "/run/qvl/Xauthority", "NO_AT_BRIDGE": "1", "TMPDIR": "/tmp",
               "XDG_CONFIG_HOME": str(USER_HOME / ".config"),
               "XDG_DATA_HOME": str(USER_HOME / ".local" / "share"),
               "XDG_CACHE_HOME": str(USER_HOME / ".cache"),
               "XDG_RUNTIME_DIR": RUNTIME_DIR, "DBUS_SESSION_BUS_ADDRESS": BUS,
               "TERM": "xterm"}
        for name in ("LANG", "LC_ALL", "LC_CTYPE", "TZ"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def launch(self, args: Sequence[str], *, cwd: str | Path | None = None,
               log: str | None = None) -> SandboxProcess:  # type: ignore[override]
        if self._stopped:
            raise EnvError(f"display {self.name} is stopped")
        args = [str(a) for a in args]
        logfile = str(self.runtime / "logs" / f"{log}.log") if log and self.runtime else None
        answer = self._request({"op": "launch", "args": args, "env": self.env,
                                "cwd": self._inner_cwd(cwd), "log": logfile})
        if "error" in answer:
            raise EnvNotFoundError(f"{args[0]} cannot be started in the sandbox: "
                                   f"{answer.get('message')} (Debian: see .ci/setup)")
        process = SandboxProcess(self, answer["pid"], args)
        self._children.append(process)  # type: ignore[arg-type]
        return process

    def run(self, args: Sequence[str] | str, *, shell: bool = False, timeout: float = 60.0,
            cwd: str | Path | None = None,
            input: bytes | None = None) -> subprocess.CompletedProcess[str]:  # noqa: A002
        """Run a command inside and wait for it (``input``: its standard input). What it
        starts in the background stays until the sandbox stops (the task's end)."""
        if self._stopped:
            raise EnvError(f"display {self.name} is stopped")
        wire = args if isinstance(args, str) else [str(a) for a in args]
        request = {"op": "run", "args": wire, "shell": shell, "env": self.env,
                   "cwd": self._inner_cwd(cwd), "timeout": timeout}
        if input is not None:
            request["input"] = base64.b64encode(input).decode("ascii")
        answer = self._request(request, wait=timeout + 30)
        if answer.get("error") == "timeout":
            raise EnvError(f"{args!r} did not finish within {timeout:g} s")
        if answer.get("error"):
            raise EnvNotFoundError(f"cannot run {args!r} in the sandbox: {answer.get('message')}")
        return subprocess.CompletedProcess(args, answer["returncode"], answer["stdout"],
                                           answer["stderr"])

    def close_apps(self) -> None:
        """End every process of the sandbox but the X server and the window manager: the
        apps, the session's services and what setup commands left in the background."""
        keep = [p for p in self._children if p.pid in self._infrastructure]
        for process in reversed(self._children):
            if process.pid not in self._infrastructure:
                process.terminate()
        self._children = keep
        if not self._stopped:
            self._request({"op": "sweep", "keep": sorted(self._infrastructure)}, wait=60)

    def start_session(self) -> None:
        """The desktop session's services: a D-Bus session bus (dconf) and PulseAudio."""
        start_session(self)

    def terminal_text(self) -> str | None:
        """What the focused terminal (ctrl+alt+t) shows; None when no terminal is focused."""
        return terminal_text(self)

    @property
    def window_manager_args(self) -> list[str]:
        return ["--config-file", f"{DESKTOP_DIR}/openbox.xml"]  # with ctrl+alt+t

    @property
    def shared_folder(self) -> Path | None:
        return self.runtime / "logs" if self.runtime is not None else None  # bound at its own path

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self._channel is not None:
            # The supervisor ends every program when its socket closes, then bwrap exits.
            # (shutdown: close() alone waits for the reader's file object to go too.)
            try:
                self._channel.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._reader.close()  # type: ignore[attr-defined]
            self._channel.close()
        if self._bwrap is not None:
            try:
                self._bwrap.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self._bwrap.kill()
                self._bwrap.wait()
        self._children.clear()
        for link in self._links:
            try:
                link.unlink()
            except FileNotFoundError:
                pass
        if self.runtime is not None:
            shutil.rmtree(self.runtime, ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------

    def _inner_cwd(self, cwd: str | Path | None) -> str:
        """A working directory that exists inside: the home unless ``cwd`` is in it."""
        if cwd is None:
            return str(USER_HOME)
        inner = self._in_home(cwd)
        return str(USER_HOME / inner) if inner is not None else str(USER_HOME)

    def _request(self, request: dict, wait: float = 30.0) -> dict:
        with self._lock:
            if self._channel is None or self._stopped:
                raise EnvError(f"the sandbox of display {self.name} is stopped")
            try:
                self._channel.settimeout(wait)
                self._channel.sendall((json.dumps(request) + "\n").encode())
                line = self._reader.readline()  # type: ignore[attr-defined]
            except (OSError, TimeoutError) as exc:
                raise EnvError(f"the sandbox of display {self.name} does not answer: {exc}") from None
            if not line:
                raise EnvError(f"the sandbox of display {self.name} has ended"
                               f"{self._bwrap_said()}")
            return json.loads(line)

    def _bwrap_said(self) -> str:
        if self.runtime is None:
            return ""
        try:  # the host's own log (not in the logs folder the sandbox can write)
            text = (self.runtime / "bwrap.log").read_text(errors="replace").strip()
        except OSError:
            return ""
        return f" (bwrap: {text.splitlines()[-1]})" if text else ""


def start_sandboxed_display(sizes: Sequence[tuple[int, int]] = ((1280, 720),), *,
                            window_manager: bool = True, timeout: float = 30.0) -> SandboxDisplay:
    """A sandbox with Xvfb (the monitors ``sizes`` side by side) and openbox in it."""
    check_bubblewrap()
    if shutil.which("Xvfb") is None:
        raise EnvNotFoundError("--display virtual needs Xvfb (Debian: apt install xvfb)")
    sweep()
    width, height = sum(w for w, _ in sizes), max(h for _, h in sizes)
    runtime = Path(tempfile.mkdtemp(prefix="qvl-sandbox-"))
    home, x11, logs, etc = (runtime / n for n in ("home", "x11", "logs", "etc"))
    for folder in (home, x11, logs, etc / "bin"):
        folder.mkdir(parents=True)
    x11.chmod(0o1777)
    identity = host_identity()
    try:
        for folder in (home, logs, *(home / name for name in _FOLDERS)):
            folder.mkdir(exist_ok=True)
            if identity.owner is not None:
                os.chown(folder, *identity.owner)
        password = secrets.token_urlsafe(12)
        write_etc(etc, password)
        write_session_files(etc / "desktop")
    except BaseException:
        identity.close()
        shutil.rmtree(runtime, ignore_errors=True)
        raise
    monitors, left = [], 0
    for w, h in sizes:
        monitors.append(Monitor(left=left, top=0, width=w, height=h))
        left += w
    display = SandboxDisplay(name="", managed=True, monitors=monitors, home=home, runtime=runtime,
                             password=password, screen=(width, height), owner=identity.owner)
    try:
        _start_bwrap(display, runtime, identity)
        server = display.launch(["Xvfb", ":0", "-screen", "0", f"{width}x{height}x24",
                                 "-nolisten", "tcp", "-dpi", "96", "-noreset"], log="xvfb")
        display._infrastructure.add(server.pid)
        _wait_for_socket(display, x11 / "X0", server, timeout)
        assert display._bwrap is not None
        display.name = link_display(display._bwrap.pid, x11 / "X0", display._links)
        if window_manager:
            start_window_manager(display, timeout)
        display.start_session()
    except BaseException:
        display.stop()
        raise
    return display


def _start_bwrap(display: SandboxDisplay, runtime: Path, identity: HostIdentity) -> None:
    ours, theirs = socket.socketpair()
    home = str(runtime / "home")
    command = [
        shutil.which("bwrap") or "bwrap", *identity.args, *_ISOLATION, "--hostname", "sandbox",
        *system_view(),
        "--bind", home, str(USER_HOME), "--bind", home, home,
        "--bind", str(runtime / "x11"), "/tmp/.X11-unix",
        "--bind", str(runtime / "logs"), str(runtime / "logs"),
        "--ro-bind", str(runtime / "etc" / "bin"), "/run/qvl/bin",
        "--ro-bind", str(runtime / "etc" / "Xauthority"), "/run/qvl/Xauthority",
        "--ro-bind", str(runtime / "etc" / "desktop"), DESKTOP_DIR,
        "--ro-bind", str(_SUPERVISOR), "/run/qvl/supervisor.py",
        "--perms", "0700", "--dir", RUNTIME_DIR, "--chdir", str(USER_HOME),
    ]
    for name in ("passwd", "group"):
        command += ["--ro-bind", str(runtime / "etc" / name), f"/etc/{name}"]
    command += ["--", sys.executable, "-I", "/run/qvl/supervisor.py", str(theirs.fileno())]
    dies_with_us = die_with_parent(os.getpid())

    def prepare() -> None:
        _no_groups()
        dies_with_us()

    try:
        # bwrap's own log stays the host's: the logs folder is writable inside.
        with open(runtime / "bwrap.log", "wb") as log:
            # An empty environment: the sandbox's first processes (bwrap's pid 1, the
            # supervisor) must not carry the host's variables either.
            display._bwrap = subprocess.Popen(
                command, pass_fds=(theirs.fileno(), *identity.pass_fds), stdin=subprocess.DEVNULL,
                stdout=log, stderr=log, start_new_session=True, preexec_fn=prepare, env={})
    finally:
        theirs.close()
        identity.close()  # bwrap holds the user namespace now
    (runtime / "bwrap.pid").write_text(str(display._bwrap.pid))
    display._channel = ours
    display._reader = ours.makefile("r", encoding="utf-8")


def _no_groups() -> None:
    """preexec_fn: root's supplementary groups (root, ...) must not follow it into bwrap."""
    if os.geteuid() == 0:
        try:
            os.setgroups([])
        except PermissionError:
            pass  # a user namespace that denies setgroups: its groups are not the host's root


def _wait_for_socket(display: SandboxDisplay, socket_path: Path, server: SandboxProcess,
                     timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not socket_path.exists():
        if server.poll() is not None or time.monotonic() > deadline:
            said = (read_below(display.runtime, "logs/xvfb.log") or b"")  # type: ignore[arg-type]
            said_text = said.decode(errors="replace").strip()[-300:]
            raise EnvNotFoundError(f"Xvfb did not start in the sandbox within {timeout:g} s: "
                                   f"{said_text}{display._bwrap_said()}")
        time.sleep(0.02)
