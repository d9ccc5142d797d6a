"""Child processes that never outlive us: started to die with their parent, ended as a group.

Every program a display starts (the X server, the window manager, apps, a sandbox's
``bwrap``) runs in its own session, so its process group is everything it started; it is
ended with ``end`` (SIGTERM to the group, then SIGKILL to what is left). ``die_with_parent``
is the ``preexec_fn`` that asks Linux to SIGTERM the child when its parent dies, SIGKILL
included (``PR_SET_PDEATHSIG``). Linux only, as Xvfb and bubblewrap are.

``envs/sandbox_supervisor.py`` keeps its own copy of ``end``: it runs inside the sandbox as a
script that cannot import this package.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from collections.abc import Callable

__all__ = ["die_with_parent", "end", "signal_group"]

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> Callable[[], None]:
    """preexec_fn: SIGTERM this child when ``parent`` dies (even by SIGKILL)."""
    # Resolved here, in the parent: loading a library between fork and exec can deadlock
    # on the loader's lock in a process with threads (a Ray worker's).
    prctl = ctypes.CDLL(None, use_errno=True).prctl

    def setup() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl: do not start at all
            os._exit(1)
    return setup


def end(process: subprocess.Popen) -> None:
    """SIGTERM the child's process group, then SIGKILL what is left."""
    if process.poll() is None:
        signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    # Helpers the program started in its session (soffice.bin under oosplash) go too.
    signal_group(process, signal.SIGKILL)
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def signal_group(process: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the process group the child leads; nothing if it is gone."""
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
