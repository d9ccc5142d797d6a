"""X displays for the desktop env: a managed virtual one (Xvfb + a window manager), or an
existing one (``:N`` or ``$DISPLAY``).

``parse_display_spec(spec)`` understands ``virtual`` (1280x720), ``virtual:1920x1080``,
``virtual:1280x720+800x600`` (two monitors side by side), ``:N``, and None (``$DISPLAY``).
``envs.displays.open_display(spec)``, above this module and ``envs.sandbox``, opens what a
spec names: a ``virtual`` display in a bubblewrap sandbox (``envs.sandbox``), or without one
through ``start_virtual_display`` here (tests of the display itself).

Every program that runs on a display, the X server and the window manager included, is
started by ``Display.launch`` (or ``Display.run`` for a command whose output is wanted): that
is the one place a sandbox wraps (``envs.sandbox.SandboxDisplay`` runs them inside bwrap).

No orphans: each child gets ``PR_SET_PDEATHSIG`` (SIGTERM when the process that started it
dies, SIGKILL included) and its own session, so ``stop()`` ends its whole process tree
(``envs.processes``). Apps left over anyway lose their X server with it and exit. Linux
only, as Xvfb is.

Monitors: Xvfb cannot report RandR monitors (it ignores ``xrandr --setmonitor``), so a
virtual two-monitor layout is one X screen wide enough for both, with the monitors declared
here, as a Xinerama/RandR desktop is (one X screen, monitors are rectangles of it). On an
existing display the monitors come from mss (RandR).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from qvl_agent.envs.errors import ConfigError, EnvError, EnvNotFoundError
from qvl_agent.envs.processes import die_with_parent, end

__all__ = ["Monitor", "Display", "start_virtual_display", "start_window_manager",
           "parse_display_spec", "ensure_xauthority"]

_SPEC = re.compile(r"^virtual(?::(\d+x\d+(?:\+\d+x\d+)*))?$")


@dataclass(frozen=True)
class Monitor:
    """A monitor: a rectangle of the X screen, in pixels."""

    left: int
    top: int
    width: int
    height: int


@dataclass
class Display:
    """An X display and what was started on it."""

    name: str
    managed: bool = False
    monitors: list[Monitor] | None = None  # None: ask the X server (mss, RandR)
    home: Path | None = None  # a fresh HOME for apps on a managed display
    runtime: Path | None = None
    _children: list[subprocess.Popen] = field(default_factory=list, repr=False)
    _infrastructure: set[int] = field(default_factory=set, repr=False)  # server, window manager
    _stopped: bool = field(default=False, repr=False)

    @property
    def env(self) -> dict[str, str]:
        """The environment of a program on this display."""
        # This interpreter's folder first on PATH: `python` has pyautogui, as on OSWorld's VM.
        path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
        env = {**os.environ, "DISPLAY": self.name, "XAUTHORITY": ensure_xauthority(),
               "PATH": path, "NO_AT_BRIDGE": "1"}  # no accessibility bus: GTK apps wait for it
        if self.home is not None:
            env["HOME"] = str(self.home)
            env["XDG_CONFIG_HOME"] = str(self.home / ".config")
            env["XDG_DATA_HOME"] = str(self.home / ".local" / "share")
            env["XDG_CACHE_HOME"] = str(self.home / ".cache")
        return env

    @property
    def user_home(self) -> Path | None:
        """The home as programs on this display see it ($HOME); a sandbox's is /home/user."""
        return self.home

    def host_path(self, path: str | Path) -> Path:
        """This machine's path of a file that a program on the display names (``~/x``)."""
        text = str(path)
        if self.home is not None and (text == "~" or text.startswith("~/")):
            return self.home / text[2:]
        return Path(text)

    def fetch(self, path: str | Path) -> Path | None:
        """A path on this machine with the content of the file a program here names; None
        when there is no such file."""
        local = self.host_path(path)
        return local if local.is_file() else None

    def put_file(self, path: str | Path, data: bytes) -> None:
        """Write ``data`` where a program on this display names it (``~/x``: the task home,
        where a link is replaced, never written through)."""
        text = str(path)
        if self.home is not None and (text == "~" or text.startswith("~/")):
            from qvl_agent.envs.homefiles import write_below

            write_below(self.home, text[2:], data)
            return
        target = Path(text)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def is_dir(self, path: str | Path) -> bool:
        """True when the path a program here names is a folder."""
        return self.host_path(path).is_dir()

    def launch(self, args: Sequence[str], *, cwd: str | Path | None = None,
               log: str | None = None) -> subprocess.Popen:
        """Start a program on this display; it is stopped with the display (or its parent)."""
        if self._stopped:
            raise EnvError(f"display {self.name} is stopped")
        args = list(args)
        if shutil.which(args[0]) is None:
            raise EnvNotFoundError(f"{args[0]} is not installed (Debian: see .ci/setup)")
        out = subprocess.DEVNULL
        if log and self.runtime is not None:
            out = open(self.runtime / f"{log}.log", "ab")  # noqa: SIM115 - the child owns it
        try:
            process = subprocess.Popen(args, env=self.env, cwd=cwd, stdin=subprocess.DEVNULL,
                                       stdout=out, stderr=out, start_new_session=True,
                                       preexec_fn=die_with_parent(os.getpid()))
        finally:
            if out is not subprocess.DEVNULL:
                out.close()
        self._children.append(process)
        return process

    def run(self, args: Sequence[str] | str, *, shell: bool = False, timeout: float = 60.0,
            cwd: str | Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run a command on this display and wait for it (a task's setup or check)."""
        try:
            return subprocess.run(args, shell=shell, env=self.env, cwd=cwd or self.home,
                                  capture_output=True, text=True, timeout=timeout,
                                  start_new_session=True, preexec_fn=die_with_parent(os.getpid()))
        except subprocess.TimeoutExpired:
            raise EnvError(f"{args!r} did not finish within {timeout:g} s") from None
        except FileNotFoundError as exc:
            raise EnvNotFoundError(f"cannot run {args!r}: {exc.strerror}") from None

    @property
    def window_manager_args(self) -> list[str]:
        """Options for openbox (a sandbox gives it a configuration with ctrl+alt+t)."""
        return []

    @property
    def shared_folder(self) -> Path | None:
        """A folder that programs on this display and this process both see at the same path
        (the runtime folder; a sandbox binds its logs folder); None without one."""
        return self.runtime

    def start_session(self) -> None:
        """Start the desktop session's services (a sandbox's D-Bus and PulseAudio); a display
        on this machine has the user's own, or none."""

    def close_apps(self) -> None:
        """End every program started here except the X server and the window manager."""
        keep = [p for p in self._children if p.pid in self._infrastructure]
        for process in reversed(self._children):
            if process.pid not in self._infrastructure:
                end(process)
        self._children = keep

    def stop(self) -> None:
        """End everything started here, newest first, then the server (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        for process in reversed(self._children):
            end(process)
        self._children.clear()
        if self.runtime is not None:
            shutil.rmtree(self.runtime, ignore_errors=True)

    def __enter__(self) -> "Display":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def parse_display_spec(spec: str | None) -> tuple[str, list[tuple[int, int]]]:
    """(``"virtual"`` or a display name, monitor sizes); a ConfigError for anything else."""
    if spec is None or spec == "":
        name = os.environ.get("DISPLAY")
        if not name:
            raise ConfigError("no X display: $DISPLAY is not set; give --display virtual "
                              "(a managed Xvfb) or --display :N")
        return name, []
    match = _SPEC.match(spec.strip().lower())
    if match:
        sizes = [tuple(int(v) for v in s.split("x")) for s in (match.group(1) or "1280x720").split("+")]
        for width, height in sizes:
            if not (100 <= width <= 7680 and 100 <= height <= 4320):
                raise ConfigError(f"--display {spec}: {width}x{height} is not a screen size "
                                  "(100x100 to 7680x4320)")
        return "virtual", sizes  # type: ignore[return-value]
    if re.fullmatch(r"[\w.\-]*:\d+(\.\d+)?", spec.strip()):
        return spec.strip(), []
    raise ConfigError(f"--display must be 'virtual', 'virtual:WxH', 'virtual:WxH+WxH' or ':N', "
                      f"got {spec!r}")


def start_virtual_display(sizes: Sequence[tuple[int, int]] = ((1280, 720),), *,
                          window_manager: bool = True, timeout: float = 30.0) -> Display:
    """Xvfb with the monitors ``sizes`` side by side, and openbox on it."""
    if shutil.which("Xvfb") is None:
        raise EnvNotFoundError("--display virtual needs Xvfb (Debian: apt install xvfb)")
    width = sum(w for w, _ in sizes)
    height = max(h for _, h in sizes)
    _sweep_stale_runtimes()
    runtime = Path(tempfile.mkdtemp(prefix="qvl-display-"))
    home = runtime / "home"
    home.mkdir()
    read, write = os.pipe()
    # -displayfd: the server picks a free display number and writes it to the pipe, so
    # parallel workers and other users' servers never collide on a fixed :99.
    with open(runtime / "xvfb.log", "wb") as log:
        server = subprocess.Popen(
            ["Xvfb", "-displayfd", str(write), "-screen", "0", f"{width}x{height}x24",
             "-nolisten", "tcp", "-dpi", "96", "-noreset"],
            pass_fds=(write,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
            start_new_session=True, preexec_fn=die_with_parent(os.getpid()))
    os.close(write)
    (runtime / "xvfb.pid").write_text(str(server.pid))
    try:
        number = _read_number(read, server, timeout)
    finally:
        os.close(read)
    monitors, left = [], 0
    for w, h in sizes:
        monitors.append(Monitor(left=left, top=0, width=w, height=h))
        left += w
    display = Display(name=f":{number}", managed=True, monitors=monitors, home=home, runtime=runtime)
    display._children.append(server)
    display._infrastructure.add(server.pid)
    try:
        if window_manager:
            start_window_manager(display, timeout)
    except BaseException:
        display.stop()
        raise
    return display


def ensure_xauthority() -> str:
    """A path for $XAUTHORITY. python-xlib (pyautogui's) refuses to connect when the file is
    missing, even to a server that needs no cookie, as Xvfb started here does not."""
    path = os.environ.get("XAUTHORITY") or os.path.expanduser("~/.Xauthority")
    if not os.path.exists(path):
        path = os.path.join(tempfile.gettempdir(), f"qvl-xauthority-{os.getuid()}")
        if not os.path.exists(path):
            # One entry that matches no display (python-xlib warns on an empty file).
            entry = b"".join(len(v).to_bytes(2, "big") + v for v in (b"qvl-none", b"0", b"none", b""))
            Path(path).write_bytes((256).to_bytes(2, "big") + entry)
        os.environ["XAUTHORITY"] = path
    return path


def _sweep_stale_runtimes() -> None:
    """Remove the folders of displays whose server is gone without a stop() (a SIGKILLed
    parent): the processes die with their parent, the files would stay."""
    for folder in Path(tempfile.gettempdir()).glob("qvl-display-*"):
        try:
            pid = int((folder / "xvfb.pid").read_text())
        except (OSError, ValueError):
            continue  # no pid file: not a managed display's, or one being started right now
        if not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)


def _read_number(fd: int, server: subprocess.Popen, timeout: float) -> str:
    import select

    deadline = time.monotonic() + timeout
    data = b""
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or server.poll() is not None:
            end(server)
            raise EnvNotFoundError(f"Xvfb did not start within {timeout:g} s "
                                   f"(exit code {server.returncode})")
        ready, _, _ = select.select([fd], [], [], min(remaining, 0.5))
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                continue
            data += chunk
    return data.decode().strip()


def start_window_manager(display: Display, timeout: float) -> None:
    """openbox: windows get decorations and focus as on a user's desktop.

    Returns once openbox runs its ``--startup`` command, at the end of its set-up (key bindings
    included), not at ``_NET_SUPPORTING_WM_CHECK``, which it sets when it takes the screen,
    before the rest: a shortcut sent in between could be lost.
    """
    if shutil.which("openbox") is None:
        raise EnvNotFoundError("--display virtual starts the openbox window manager, which is "
                               "not installed (Debian: apt install openbox)")
    assert display.shared_folder is not None, "a display this process started has a runtime folder"
    ready = display.shared_folder / "openbox.ready"
    ready.unlink(missing_ok=True)
    manager = display.launch(["openbox", "--sm-disable", *display.window_manager_args,
                              "--startup", shlex.join(["touch", str(ready)])], log="openbox")
    display._infrastructure.add(manager.pid)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready.exists():
            return
        time.sleep(0.05)
    raise EnvNotFoundError(f"the window manager did not start on {display.name} within {timeout:g} s")
