"""The desktop session inside a sandbox: what makes it behave like OSWorld's Ubuntu VM where
OSWorld's tasks depend on it.

- A D-Bus session bus at ``/run/user/1000/bus`` (the address OSWorld's task files export),
  with dconf behind GSettings: ``gsettings set`` persists, and the GNOME schemas those tasks
  read are installed on the system (Debian: gsettings-desktop-schemas,
  gnome-settings-daemon-common, gnome-shell-common; see .ci/setup).
- PulseAudio with its null sink, so ``pactl`` answers; it starts at 40% volume, not at
  PulseAudio's 100% (a task asks to turn a quiet system up to the maximum).
- A terminal on ctrl+alt+t (an openbox key binding): an xterm titled ``Terminal``, the name
  OSWorld's setup steps activate, whose screen tmux keeps so that the ``vm_terminal_output``
  getter reads what it shows (OSWorld reads GNOME Terminal's accessibility text).

``start_session(display)`` starts the bus and PulseAudio; the host's reset of a task ends
them with everything else (``SandboxDisplay.close_apps``) and starts fresh ones, with the
home's state of both gone, so a setting one task made never leaks into the next.
A service whose program is not installed is left out: a task that needs it then fails with
its getter's own "not found", which the task layer reports as an instance error.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from qvl_agent.envs.errors import EnvError

__all__ = ["RUNTIME_DIR", "BUS", "DESKTOP_DIR", "START_VOLUME", "SESSION_STATE",
           "write_session_files", "start_session", "terminal_text"]

RUNTIME_DIR = "/run/user/1000"  # $XDG_RUNTIME_DIR of uid 1000, as on OSWorld's VM
BUS = f"unix:path={RUNTIME_DIR}/bus"
DESKTOP_DIR = "/run/qvl/desktop"  # the files below, bound read-only into the sandbox
START_VOLUME = "40%"
TMUX = ["tmux", "-L", "qvl", "-f", f"{DESKTOP_DIR}/tmux.conf"]
# What a session leaves in the home (dconf's database, PulseAudio's volumes and cookie).
SESSION_STATE = (".config/dconf", ".config/pulse")

_TERMINAL = f"""#!/bin/sh
# The desktop's terminal (ctrl+alt+t, as on OSWorld's Ubuntu): an xterm titled "Terminal"
# whose screen tmux keeps (session "w<window id>"), so that the host can read what it shows.
exec xterm -title Terminal -e /bin/sh -c 'exec {" ".join(TMUX)} new-session -s "w$WINDOWID"'
"""

_TMUX_CONF = """\
# The terminal's tmux: invisible (no status line), a long history, no escape delay.
set -g status off
set -g history-limit 10000
set -sg escape-time 0
set -g default-terminal xterm-256color
"""

_KEYBIND = """<keybind key="C-A-t"><action name="Execute">
      <command>/run/qvl/desktop/terminal</command></action></keybind>
  """


def write_session_files(folder: Path) -> None:
    """The terminal script, its tmux configuration and openbox's configuration with the
    ctrl+alt+t binding (the system's rc.xml plus that key), into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    terminal = folder / "terminal"
    terminal.write_text(_TERMINAL)
    terminal.chmod(0o755)
    (folder / "tmux.conf").write_text(_TMUX_CONF)
    system = Path("/etc/xdg/openbox/rc.xml")
    config = system.read_text(encoding="utf-8") if system.is_file() else \
        "<openbox_config><keyboard></keyboard></openbox_config>"
    (folder / "openbox.xml").write_text(config.replace("</keyboard>", _KEYBIND + "</keyboard>", 1),
                                        encoding="utf-8")


def start_session(display: Any, timeout: float = 20.0) -> None:
    """Start the session bus and PulseAudio in the sandbox and wait until both answer."""
    display.run(["rm", "-rf", f"{RUNTIME_DIR}/bus", f"{RUNTIME_DIR}/pulse"], timeout=15)
    waits = []
    if shutil.which("dbus-daemon"):
        display.launch(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                        f"--address={BUS}"], log="dbus")
        waits.append(f'[ -S {RUNTIME_DIR}/bus ]')
    if shutil.which("pulseaudio"):
        display.launch(["pulseaudio", "--daemonize=no", "--exit-idle-time=-1"], log="pulseaudio")
        volume = f"pactl set-sink-volume @DEFAULT_SINK@ {START_VOLUME}" \
            if shutil.which("pactl") else "true"
        waits.append(f"pactl info >/dev/null 2>&1 && {volume}" if shutil.which("pactl") else
                     f"[ -S {RUNTIME_DIR}/pulse/native ]")
    if not waits:
        return
    ready = " && ".join(f"( {w} )" for w in waits)
    script = (f"i=0; until {ready}; do i=$((i+1)); [ $i -gt {int(timeout * 20)} ] && exit 1; "
              "sleep 0.05; done")
    if display.run(["sh", "-c", script], timeout=timeout + 10).returncode != 0:
        raise EnvError(f"the desktop session (D-Bus, PulseAudio) did not start in the sandbox "
                       f"within {timeout:g} s; see {display.runtime}/logs/dbus.log and "
                       "pulseaudio.log")


def terminal_text(display: Any) -> str | None:
    """The text of the focused terminal, scrollback included (OSWorld's ``vm_terminal_output``):
    None when the active window is not one of the desktop's terminals."""
    active = display.run(["xdotool", "getactivewindow"], timeout=15)
    window = active.stdout.strip()
    if active.returncode != 0 or not window.isdigit():
        return None
    sessions = display.run([*TMUX, "list-sessions", "-F", "#{session_name}"], timeout=15)
    if f"w{window}" not in sessions.stdout.split():
        return None
    shown = display.run([*TMUX, "capture-pane", "-p", "-J", "-S", "-", "-t", f"w{window}"],
                        timeout=15)
    if shown.returncode != 0:
        raise EnvError(f"cannot read the terminal's screen: {shown.stderr.strip()[-200:]}")
    return shown.stdout.rstrip()
