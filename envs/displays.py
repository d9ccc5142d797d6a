"""``open_display(spec)``: the X display a ``--display`` spec names, with or without a sandbox.

It sits above the two kinds of managed display it chooses between, ``envs.xdisplay`` (Xvfb on
this machine) and ``envs.sandbox`` (Xvfb and every program in a bubblewrap sandbox), so
neither of them imports the other's way of starting one.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from qvl_agent.envs.sandbox import start_sandboxed_display
from qvl_agent.envs.xdisplay import Display, parse_display_spec, start_virtual_display

__all__ = ["open_display"]


def open_display(spec: str | None = None, *, sandbox: bool = True) -> Display:
    """The display ``spec`` names: a fresh managed one for ``virtual...`` (in a sandbox unless
    ``sandbox`` is False), else an existing one (``:N``, or ``$DISPLAY`` for None)."""
    name, sizes = parse_display_spec(spec)
    if name == "virtual" and not sandbox:
        return start_virtual_display(sizes)
    if name == "virtual":
        # The whole episode in a throwaway bubblewrap sandbox (envs.sandbox): what a task's
        # commands or the agent do to files never reaches this machine's.
        return start_sandboxed_display(sizes)
    # Apps that tasks start on someone's own display still get a scratch HOME: a task file's
    # "~/notes.txt" must never overwrite that person's files.
    runtime = Path(tempfile.mkdtemp(prefix="qvl-display-"))
    (runtime / "home").mkdir()
    return Display(name=name, home=runtime / "home", runtime=runtime)
