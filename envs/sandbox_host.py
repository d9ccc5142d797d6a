"""What a desktop sandbox (``envs.sandbox``) keeps on the host: the files bound into it
(``/etc/passwd`` and ``/etc/group`` with its user, the ``sudo`` that takes its password, an
Xauthority), the X display link and lock that let the host reach its X server, and the sweep
of what a SIGKILLed run left behind.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from qvl_agent.envs.errors import EnvNotFoundError

__all__ = ["write_etc", "link_display", "sweep", "USER_HOME"]

USER_HOME = Path("/home/user")
_X11 = Path("/tmp/.X11-unix")


def write_etc(etc: Path, password: str) -> None:
    """/etc/passwd and /etc/group with user ``user``; the ``sudo`` shim with the password."""
    passwd = Path("/etc/passwd").read_text(errors="replace").splitlines()
    group = Path("/etc/group").read_text(errors="replace").splitlines()
    # uid/gid 1000 is "user" here, whoever it is on the host.
    passwd = [line for line in passwd if line.split(":")[0] != "user"
              and line.split(":")[2:3] != ["1000"]]
    group = [line for line in group if line.split(":")[0] != "user"
             and line.split(":")[2:3] != ["1000"]]
    passwd.append(f"user:x:1000:1000:user:{USER_HOME}:/bin/bash")
    group.append("user:x:1000:")
    (etc / "passwd").write_text("\n".join(passwd) + "\n")
    (etc / "group").write_text("\n".join(group) + "\n")
    # python-xlib wants an Xauthority file; one entry that matches no display (the host's own
    # cookies stay outside).
    entry = b"".join(len(v).to_bytes(2, "big") + v for v in (b"qvl-none", b"0", b"none", b""))
    (etc / "Xauthority").write_bytes((256).to_bytes(2, "big") + entry)
    sudo = etc / "bin" / "sudo"
    sudo.write_text(_SUDO.replace("@PASSWORD@", password))
    sudo.chmod(0o755)


# sudo checks the sandbox's password like the real one (-S: from stdin; otherwise from the
# terminal) and runs the command as the sandbox's root (uid 0 of a nested user namespace).
_SUDO = r"""#!/bin/sh
# sudo inside a qvl-agent desktop sandbox: checks this sandbox's password, runs as its root.
stdin=0
while [ $# -gt 0 ]; do
  case "$1" in
    -S|--stdin) stdin=1; shift ;;
    -u|-g|-p|-C|-h|-r|-t|-U|-D) shift 2 ;;
    -k|-K|-E|-H|-n|-b|-i|-s|-A|-P|--preserve-env*|--) [ "$1" = "--" ] && { shift; break; }; shift ;;
    -*) shift ;;
    *) break ;;
  esac
done
if [ "$stdin" = 1 ]; then IFS= read -r given; else
  printf '[sudo] password for user: ' >&2; stty -echo 2>/dev/null; IFS= read -r given; stty echo 2>/dev/null; echo >&2
fi
if [ "$given" != '@PASSWORD@' ]; then echo "sudo: 1 incorrect password attempt" >&2; exit 1; fi
[ $# -eq 0 ] && exit 0
# The sandbox's root: a nested user namespace where this user is uid 0 (files it makes are
# still this user's; it holds no power outside the sandbox).
if command -v unshare >/dev/null 2>&1 && unshare --map-root-user true 2>/dev/null; then
  exec unshare --map-root-user -- "$@"
fi
exec "$@"
"""


def link_display(pid: int, socket_path: Path, created: list[Path]) -> str:
    """Reserve a free display number N on the host (X's lock file) and point
    ``/tmp/.X11-unix/XN`` at the sandbox's socket; the host's name of the display, ``:N``."""
    if not _X11.is_dir():
        _X11.mkdir(mode=0o1777, exist_ok=True)
        _X11.chmod(0o1777)
    for number in range(20, 1000):
        lock = Path(f"/tmp/.X{number}-lock")
        scratch = Path(f"/tmp/.tX{number}-lock-{os.getpid()}")
        scratch.write_text(f"{pid:>10}\n")
        try:
            os.link(scratch, lock)  # atomic: fails when the number is taken (as X does)
        except FileExistsError:
            if not _stale(lock):
                continue
            lock.unlink(missing_ok=True)
            try:
                os.link(scratch, lock)
            except FileExistsError:
                continue
        finally:
            scratch.unlink(missing_ok=True)
        created.append(lock)
        link = _X11 / f"X{number}"
        link.unlink(missing_ok=True)  # a dead server's socket (the lock was ours to take)
        link.symlink_to(socket_path)
        created.insert(0, link)
        return f":{number}"
    raise EnvNotFoundError("no free X display number for the sandbox (/tmp/.X*-lock)")


def _stale(lock: Path) -> bool:
    try:
        pid = int(lock.read_text().strip())
    except (OSError, ValueError):
        return False  # being written by someone right now
    return not Path(f"/proc/{pid}").exists()


def sweep() -> None:
    """Remove what SIGKILLed parents left: runtimes whose bwrap is gone, links into them."""
    for folder in Path(tempfile.gettempdir()).glob("qvl-sandbox-*"):
        try:
            pid = int((folder / "bwrap.pid").read_text())
        except (OSError, ValueError):
            continue
        if not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)
    if _X11.is_dir():
        for link in _X11.glob("X*"):
            if link.is_symlink() and "qvl-sandbox-" in os.readlink(link) and not link.exists():
                lock = Path(f"/tmp/.{link.name}-lock")
                if lock.exists() and _stale(lock):
                    lock.unlink(missing_ok=True)
                link.unlink(missing_ok=True)
