"""What a desktop sandbox's file system holds: what a VM would, and nothing else of the host's.

The root is new and empty; into it, read-only, go the system's own folders (``/usr``,
``/etc``, ``/opt``, ``/var``, ``/sys`` and the ``/bin``, ``/lib*`` links or folders), and
the folders this Python needs to run ``python`` inside (its prefix, its base installation,
its site-packages, wherever they are). Everything else of the host is absent: home
folders, ``/root``, ``/mnt``, ``/media``, ``/srv``, project trees such as a checkout and its
``.env``, the host's ``/tmp`` and ``/run``, logs and mail in ``/var``. The sandbox's own
parts (its home, its X socket folder, its logs, ``/etc/passwd``, ``sudo``) are bound in by
``envs.sandbox``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["system_view", "python_folders", "SYSTEM", "EMPTY", "HIDDEN_IN_VAR"]

# Top-level folders of the host shown read-only (when they exist; links stay links).
SYSTEM = ("usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "opt", "var", "sys")
# Top-level folders a VM has, present and empty.
EMPTY = ("home", "root", "mnt", "media", "srv", "tmp", "run")
# Parts of /var that hold the host's own records, not software.
HIDDEN_IN_VAR = ("log", "mail", "spool", "backups", "tmp", "crash")


def system_view() -> list[str]:
    """bubblewrap options: a new root with the system folders, read-only, and empty ones."""
    options: list[str] = []
    for name in SYSTEM:
        path = Path("/") / name
        if path.is_symlink():
            options += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            options += ["--ro-bind", str(path), str(path)]
    options += ["--dev", "/dev", "--proc", "/proc"]
    for name in EMPTY:
        options += ["--tmpfs", f"/{name}"]
    if Path("/var").is_dir() and not Path("/var").is_symlink():
        for name in HIDDEN_IN_VAR:
            path = Path("/var") / name
            if path.is_dir() and not path.is_symlink():
                options += ["--tmpfs", str(path)]
    for folder in python_folders():
        options += ["--ro-bind", folder, folder]
    return options


def python_folders() -> list[str]:
    """The folders ``python`` inside needs that the system folders do not already show."""
    needed = {sys.prefix, sys.base_prefix, os.path.dirname(os.path.realpath(sys.executable))}
    # site-packages of other environments this one uses (a .pth naming another venv's)
    needed |= {p for p in sys.path if p.rstrip("/").endswith(("site-packages", "dist-packages"))}
    folders = []
    for folder in sorted({os.path.realpath(f) for f in needed if os.path.isdir(f)} |
                         {f for f in needed if os.path.isdir(f)}):
        if not _shown(folder) and not any(_under(folder, other) for other in folders):
            folders.append(folder)
    return folders


def _shown(folder: str) -> bool:
    """True when ``folder`` is inside a system folder that is bound anyway."""
    top = Path(folder).parts[1] if len(Path(folder).parts) > 1 else ""
    return top in SYSTEM and top != "var" and not Path("/", top).is_symlink()


def _under(folder: str, other: str) -> bool:
    return folder == other or folder.startswith(other.rstrip("/") + "/")
