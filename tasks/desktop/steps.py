"""OSWorld's desktop setup steps and getters, on this machine's desktop.

Setup steps keep OSWorld's names and parameters: ``launch`` (start a program, do not wait),
``open`` (a file or folder in its application), ``execute`` / ``command`` (run and wait),
``sleep``, ``activate_window``; ``download`` is in ``tasks.desktop.files``. Getters:
``vm_file`` (a file on this desktop; its path, or None when it does not exist),
``vm_command_line`` / ``vm_command_error`` (a command's stdout / stderr),
``vm_terminal_output`` (what the focused terminal shows), ``rule`` (in
``tasks.generic``); ``task_file`` (a file shipped in the task folder) is our extension.

A command's exit code is the task's business, as on OSWorld's VM (``grep`` that finds
nothing, ``su`` to a user a task knows is missing). A command this desktop cannot run is
not: a program that is not installed, a GSettings schema or a system service that is not
there, a sound server that does not answer. Such a setup step or getter raises a TaskError
with the command's own words (an instance error), never a silent 0.

Paths: ``~`` is the desktop's home; on a managed virtual display that is ``/home/user``
inside its sandbox (``envs.sandbox``), and each task gets a new sandbox (``reset``): a new
home, a new ``/tmp``, its own processes; what a setup step starts in the background runs
until the task ends, then ends with its sandbox. Files go in and out through the display
(``put_file``, ``fetch``), which never follows a link a program inside made. OSWorld's
placeholders (``{CLIENT_PASSWORD}``, ``{SCREEN_WIDTH}``,
...) are filled in commands. Commands come from task files (the author's), never from the
model.
"""

from __future__ import annotations

import re
import shlex
import shutil
import time
from pathlib import Path
from typing import Any

from qvl_agent.envs.actions import Point
from qvl_agent.envs.base import Env, EnvKind
from qvl_agent.envs.errors import ConfigError, EnvError, TaskError
from qvl_agent.envs.homefiles import make_dirs_below
from qvl_agent.envs.spec import DesktopSpec, EnvSpec
from qvl_agent.tasks.hooks import (
    OPTION_CHECKS, ORACLE_LOCATORS, PLACEHOLDERS, RESETS, OracleStep, register_getter,
    register_setup_step,
)

__all__ = ["desktop_of", "home_of", "inside", "fill", "cannot_run"]

DESKTOP = EnvKind.desktop
# Which program opens a file, by suffix (OSWorld's VM uses the desktop's defaults).
OPENERS = {
    ".txt": ["mousepad"], ".md": ["mousepad"], ".py": ["mousepad"], ".json": ["mousepad"],
    # CSV: comma, double quotes, UTF-8, from line 1; saved back without quoting every text
    # cell (LibreOffice's filter options), so a saved CSV is what a person expects.
    ".csv": ["localc", "--infilter=CSV:44,34,76,1,,0,false,true,true"],
    ".xlsx": ["localc"], ".ods": ["localc"], ".xls": ["localc"],
}


def desktop_of(env: Env) -> Any:
    if env.kind is not EnvKind.desktop:
        raise TaskError(f"this step needs a desktop env, not {env.kind.value}")
    return env


def home_of(env: Env) -> Path:
    display = desktop_of(env).display
    if display.home is None:
        raise TaskError(f"display {display.name} has no task home; open it with "
                        "qvl_agent.envs.displays.open_display")
    return display.home


def inside(env: Env, path: str) -> str:
    """The path as programs on the desktop see it (``~`` is their $HOME)."""
    home = desktop_of(env).display.user_home
    if home is not None and (path == "~" or path.startswith("~/")):
        return str(home / path[2:])
    return path


def fill(env: Env, text: str) -> str:
    """OSWorld's placeholders: {CLIENT_PASSWORD} (the sandbox's sudo password),
    {SCREEN_WIDTH}, {SCREEN_HEIGHT} and their _HALF (the desktop's monitor)."""
    if "{" not in text:
        return text
    desktop = desktop_of(env)
    width, height = desktop.monitor.width, desktop.monitor.height
    for name, value in (("SCREEN_WIDTH_HALF", width // 2), ("SCREEN_HEIGHT_HALF", height // 2),
                        ("SCREEN_WIDTH", width), ("SCREEN_HEIGHT", height)):
        text = text.replace("{%s}" % name, str(value))
    if "{CLIENT_PASSWORD}" in text:
        password = getattr(desktop.display, "password", None)
        if not password:
            raise TaskError("this task runs sudo with {CLIENT_PASSWORD}, which only a sandboxed "
                            "desktop has (--display virtual); it never gets a real password")
        text = text.replace("{CLIENT_PASSWORD}", password)
    return text


def _command(env: Env, command: list[str] | str, shell: bool) -> list[str] | str:
    if isinstance(command, str):
        command = fill(env, command)
        if not shell:
            command = shlex.split(command)  # as OSWorld's VM server does
    if isinstance(command, list):
        command = [inside(env, fill(env, str(c))) for c in command]
    return command


# -- setup steps ---------------------------------------------------------------------------

@register_setup_step("launch", DESKTOP)
def launch(env: Env, task_dir: Path, command: list[str] | str, shell: bool = False) -> None:
    """Start a program on the desktop and go on (OSWorld: ``launch``)."""
    args = _command(env, command, shell)
    if isinstance(args, str):
        args = ["sh", "-c", args]
    desktop_of(env).display.launch(args, cwd=home_of(env), log=Path(args[0]).name)


@register_setup_step("open", DESKTOP)
def open_(env: Env, task_dir: Path, path: str) -> None:
    """Open a file in its application, or a folder in the file manager."""
    if desktop_of(env).display.is_dir(path):
        opener = ["pcmanfm"]
    else:
        opener = OPENERS.get(Path(path).suffix.lower(), ["xdg-open"])
    desktop_of(env).display.launch([*opener, inside(env, path) if path.startswith("~") else path],
                                   cwd=home_of(env), log=opener[0])


@register_setup_step("execute", DESKTOP)
@register_setup_step("command", DESKTOP)
def execute(env: Env, task_dir: Path, command: list[str] | str, shell: bool = False,
            stdout: str | None = None, stderr: str | None = None, until: Any = None,
            timeout: float = 120.0) -> None:
    """Run a command and wait for it (OSWorld's 120 s). Its exit code is not checked, as
    OSWorld does not (a task may run ``su`` to a user it knows is missing); a command this
    desktop cannot run is a TaskError."""
    _run(env, command, shell, timeout=timeout, what="setup step execute")


@register_setup_step("activate_window", DESKTOP)
def activate_window(env: Env, task_dir: Path, window_name: str, strict: bool = False,
                    by_class: bool = False, timeout: float = 60.0) -> None:
    """Wait for the window to appear, then raise and focus it (OSWorld: ``activate_window``)."""
    window = find_window(env, window_name, strict=strict, by_class=by_class, timeout=timeout)
    display = desktop_of(env).display
    display.run(["xdotool", "windowactivate", "--sync", window], timeout=15)
    env.settle()


@register_setup_step("copy_task_file", DESKTOP)
def copy_task_file(env: Env, task_dir: Path, source: str, path: str) -> None:
    """Put a file from the task folder on the desktop (OSWorld downloads it instead)."""
    home_of(env)
    if not (task_dir / source).is_file():
        raise TaskError(f"copy_task_file: {task_dir / source} is missing; the task's files "
                        "ship beside its JSON (reinstall qvl-agent if they are gone)")
    desktop_of(env).display.put_file(path, (task_dir / source).read_bytes())


def find_window(env: Env, name: str, *, strict: bool = False, by_class: bool = False,
                timeout: float = 60.0) -> str:
    """The id of the newest visible window whose title (or class) matches ``name``."""
    pattern = f"^{_regex_escape(name)}$" if strict else _regex_escape(name)
    how = "--class" if by_class else "--name"
    display = desktop_of(env).display
    deadline = time.monotonic() + timeout
    while True:
        found = display.run(["xdotool", "search", "--onlyvisible", how, pattern], timeout=15)
        windows = found.stdout.split()
        if windows:
            return windows[-1]
        if time.monotonic() > deadline:
            raise TaskError(f"no window {'of class' if by_class else 'named'} {name!r} appeared "
                            f"within {timeout:g} s")
        time.sleep(0.2)


def _regex_escape(text: str) -> str:
    return "".join("\\" + c if c in ".^$*+?()[]{}|\\" else c for c in text)


# -- getters ---------------------------------------------------------------------------------

@register_getter("vm_file", DESKTOP)
def vm_file(env: Env, trajectory: Any, task_dir: Path, path: str, dest: str | None = None,
            multi: bool = False, gives: list[int] | None = None, **_: Any) -> Any:
    """A local copy's path of the desktop's file, or None when it does not exist (OSWorld's
    meaning); a file in the desktop's home is read where it is."""
    display = desktop_of(env).display
    home_of(env)
    if multi:
        found = [_local(display.fetch(p)) for p in path]
        return [found[i] for i in gives] if gives else found
    return _local(display.fetch(path))


def _local(path: Path | None) -> str | None:
    return str(path) if path is not None else None


@register_getter("vm_command_line", DESKTOP)
def vm_command_line(env: Env, trajectory: Any, task_dir: Path, command: list[str] | str,
                    shell: bool = False, **_: Any) -> str:
    """What a command prints on stdout, run on the desktop in its home."""
    return _run(env, command, shell, what="getter vm_command_line").stdout


@register_getter("vm_command_error", DESKTOP)
def vm_command_error(env: Env, trajectory: Any, task_dir: Path, command: list[str] | str,
                     shell: bool = False, **_: Any) -> str:
    return _run(env, command, shell, what="getter vm_command_error").stderr


@register_getter("vm_terminal_output", DESKTOP)
def vm_terminal_output(env: Env, trajectory: Any, task_dir: Path, **_: Any) -> str | None:
    """What the focused terminal shows, scrollback included, once it is still; None when the
    focused window is not a terminal (OSWorld reads GNOME Terminal's text the same way)."""
    display = desktop_of(env).display
    read = getattr(display, "terminal_text", None)
    if read is None:
        raise TaskError("vm_terminal_output reads the sandbox's terminal (ctrl+alt+t); this "
                        "display has none: use --display virtual")
    text, deadline = read(), time.monotonic() + 3.0
    while time.monotonic() < deadline:  # a command typed just before may still be printing
        time.sleep(0.3)
        again = read()
        if again == text:
            break
        text = again
    return text


@register_getter("task_file", DESKTOP)
def task_file(env: Env, trajectory: Any, task_dir: Path, path: str, **_: Any) -> str:
    target = task_dir / path
    if not target.is_file():
        raise TaskError(f"{target}: the task's expected file does not exist")
    return str(target)


def _run(env: Env, command: list[str] | str, shell: bool, *, what: str,
         timeout: float = 120.0) -> Any:
    """Run a task's command in the home; a TaskError when this desktop cannot run it."""
    try:
        result = desktop_of(env).display.run(_command(env, command, shell), shell=shell,
                                             timeout=timeout, cwd=home_of(env))
    except (EnvError, OSError) as exc:
        raise TaskError(f"{what} {_short(command)}: {exc}") from None
    problem = cannot_run(result.returncode, result.stderr)
    if problem:
        raise TaskError(f"{what} {_short(command)}: this desktop cannot run it: {problem}")
    return result


# What a shell, GSettings, systemd's tools and pactl say when what they need is not there.
_CANNOT = [re.compile(p) for p in (
    r"^(?:/bin/)?(?:ba|da)?sh: (?:line )?\d+: (.+?): (?:command )?not found$",
    r"^(?:/bin/)?(?:ba|da)?sh: (.+?): (?:command )?not found$",
    r"^No such schema .+$",
    r"^System has not been booted with systemd.*$",
    r"^Failed to connect to bus: .+$",
    r"^Connection failure: Connection refused$",
)]


def cannot_run(returncode: int, stderr: str) -> str | None:
    """The line that says a command could not run on this desktop at all, or None."""
    for line in stderr.splitlines():
        for pattern in _CANNOT:
            if pattern.match(line.strip()):
                return line.strip()
    if returncode in (126, 127):
        return f"exit code {returncode} ({stderr.strip()[-200:] or 'no message'})"
    return None


def _short(command: list[str] | str) -> str:
    text = command if isinstance(command, str) else shlex.join(str(c) for c in command)
    text = " ".join(text.split())
    return repr(text if len(text) <= 120 else text[:117] + "...")


# -- reset and the oracle locator --------------------------------------------------------------

def reset(env: Env) -> None:
    """Give the task a desktop of its own: on a managed virtual display a new sandbox (a new
    home and /tmp, a fresh session, the last episode's processes gone with its PID
    namespace); elsewhere (a display given to the env, a user's own) every process the last
    episode left ended (in a sandbox: its session's services too), the scratch home emptied
    (their own files are never touched) and a fresh session started."""
    fresh = env.fresh_display()  # type: ignore[attr-defined]
    display = desktop_of(env).display
    if not fresh:
        display.close_apps()
        home = home_of(env)
        for entry in home.iterdir():  # the home is made anew: no state of one task's is kept
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)  # never follows links (fd-based on Linux)
            else:
                entry.unlink()
        for name in getattr(display, "folders", ()):  # a sandbox's ~/Desktop, ~/Documents, ...
            make_dirs_below(home, name, owner=getattr(display, "owner", None))
    _seed_profiles(display)
    if not fresh:
        display.start_session()  # (a new sandbox started its own)
    env.settle()


def _seed_profiles(display: Any) -> None:
    """LibreOffice without its first-start dialogs (tip of the day, what's new)."""
    items = [
        ("/org.openoffice.Office.Common/Misc", "ShowTipOfTheDay", "boolean", "false"),
        ("/org.openoffice.Office.Common/Misc", "FirstRun", "boolean", "false"),
        ("/org.openoffice.Setup/Office", "ooSetupInstCompleted", "boolean", "true"),
        ("/org.openoffice.Setup/Product", "ooSetupLastVersion", "string", "99.0"),
        ("/org.openoffice.Office.Common/Save/Document", "WarnAlienFormat", "boolean", "false"),
        ("/org.openoffice.Office.Recovery/RecoveryInfo", "Enabled", "boolean", "false"),
    ]
    lines = "\n".join(f'<item oor:path="{p}"><prop oor:name="{n}" oor:op="fuse"><value>{v}</value>'
                      f"</prop></item>" for p, n, _, v in items)
    display.put_file("~/.config/libreoffice/4/user/registrymodifications.xcu", (
        '<?xml version="1.0" encoding="UTF-8"?>\n<oor:items '
        'xmlns:oor="http://openoffice.org/2001/registry" '
        'xmlns:xs="http://www.w3.org/2001/XMLSchema" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        f"{lines}\n</oor:items>\n").encode("utf-8"))


def _locate(env: Env, step: OracleStep) -> Point:
    """An oracle click on a desktop: the centre of the window named by ``selector``."""
    if not step.selector:
        raise TaskError("a desktop oracle click needs a 'selector' (a window title)")
    window = find_window(env, step.selector, timeout=30)
    geometry = desktop_of(env).display.run(["xdotool", "getwindowgeometry", "--shell", window],
                                           timeout=15).stdout
    values = dict(line.split("=", 1) for line in geometry.split() if "=" in line)
    monitor = desktop_of(env).monitor
    x = int(values["X"]) + int(values["WIDTH"]) // 2 - monitor.left
    y = int(values["Y"]) + int(values["HEIGHT"]) // 2 - monitor.top
    return Point(x=max(0, x), y=max(0, y))


def check_options(spec: EnvSpec, workers: int) -> None:
    assert isinstance(spec, DesktopSpec)
    display = spec.display
    if not spec.virtual and not spec.unsafe_host:
        # OSWorld's task files were written for a throwaway VM: their commands (sudo, rm,
        # files in ~) and the agent's typing would act on this person's own machine.
        raise ConfigError(f"the desktop suite runs tasks' shell commands and an agent's actions; "
                          f"on your own display ({display or '$DISPLAY'}) they would change your "
                          "files and desktop. Use --display virtual (a throwaway sandbox), or add "
                          "--unsafe-host if that is really what you want")
    if spec.virtual and spec.sandbox:
        from qvl_agent.envs.sandbox import check_bubblewrap

        check_bubblewrap()  # one line before any worker starts, never a fallback to the host
    if workers > 1 and not spec.virtual:
        raise ConfigError(f"--workers {workers} on one display ({display or '$DISPLAY'}) would "
                          "have the workers type into each other's windows; use --display "
                          "virtual (one Xvfb each) or --workers 1")


ORACLE_LOCATORS.add(EnvKind.desktop, _locate)
RESETS.add(EnvKind.desktop, reset)
OPTION_CHECKS.add(EnvKind.desktop, check_options)
PLACEHOLDERS.add(EnvKind.desktop, fill)
