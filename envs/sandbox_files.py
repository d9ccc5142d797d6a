"""How the host reads and writes a desktop sandbox's files (``SandboxDisplay``'s part).

The sandbox's home is a folder of the host, which programs inside can change at any time,
links included. The host reads and writes there only through ``envs.homefiles`` (no link
is ever followed); where a link is on the way, or the file is outside the home (the
sandbox's own ``/tmp``), the work is done inside, as the sandbox's user, where a link means
what it means on a VM and a host file the sandbox cannot see stays unseen. What is read
is handed to the host's code as a copy in the host's own runtime folder, so that what a
metric opens cannot be swapped for a link after the read.
"""

from __future__ import annotations

import base64
from pathlib import Path, PurePosixPath
from typing import Any

from qvl_agent.envs.errors import EnvError
from qvl_agent.envs.homefiles import LinkRefused, is_dir_below, read_below, write_below
from qvl_agent.envs.sandbox_host import USER_HOME

__all__ = ["SandboxFiles"]


class SandboxFiles:
    """File access for a display whose programs run in a sandbox (a mixin: it uses the
    display's ``home``, ``runtime``, ``owner`` and ``run``)."""

    home: Path | None
    runtime: Path | None
    owner: tuple[int, int] | None
    run: Any

    def fetch(self, path: str | Path) -> Path | None:
        """A host copy of the file a program inside names, as OSWorld's vm_file downloads it
        from its VM; None when there is no such file. A file of the home is read without
        following links; one behind a link, or outside the home (the sandbox's own /tmp),
        is read from inside, with the sandbox user's rights (a link to a host file the
        sandbox cannot see gives None)."""
        assert self.runtime is not None
        inner = self._in_home(path)
        data: bytes | None = None
        if inner is not None:
            try:
                data = read_below(self._home(), inner)
            except LinkRefused:
                inner = None
        if inner is None:
            data = self._read_inside(self._inside(path))
        if data is None:
            return None
        fetched = self.runtime / "fetched"  # the host's own: not bound into the sandbox
        fetched.mkdir(exist_ok=True)
        copy = fetched / f"{len(list(fetched.iterdir()))}-{PurePosixPath(str(path)).name or 'file'}"
        copy.write_bytes(data)
        return copy

    def put_file(self, path: str | Path, data: bytes) -> None:
        """Put ``data`` at the path a program inside names (``~/x``, ``/home/user/x``,
        ``/tmp/x``), owned by the sandbox's user; a link there is replaced, not followed."""
        inner = self._in_home(path)
        if inner is not None:
            try:
                write_below(self._home(), inner, data, owner=self.owner)
                return
            except LinkRefused:
                pass  # a folder on the way is a link: write as the sandbox user, inside
        target = self._inside(path)
        done = self.run(["sh", "-c", 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"', "sh",
                         target], input=data, timeout=120)
        if done.returncode != 0:
            raise EnvError(f"cannot write {target} in the sandbox: {done.stderr.strip()[-200:]}")

    def is_dir(self, path: str | Path) -> bool:
        """True when the path a program inside names is a folder (as it sees it)."""
        inner = self._in_home(path)
        if inner is not None:
            try:
                return is_dir_below(self._home(), inner)
            except LinkRefused:
                pass
        return self.run(["test", "-d", self._inside(path)], timeout=30).returncode == 0

    def _home(self) -> Path:
        assert self.home is not None
        return self.home

    def _in_home(self, path: str | Path) -> PurePosixPath | None:
        """The path relative to the home when a program inside would find it there."""
        text = str(path)
        for prefix in ("~", str(USER_HOME), str(self._home())):
            if text == prefix:
                return PurePosixPath(".")
            if text.startswith(prefix + "/"):
                relative = PurePosixPath(text[len(prefix) + 1:])
                return None if ".." in relative.parts else relative
        return None

    def _inside(self, path: str | Path) -> str:
        """The path as a program inside names it (``~`` spelled out)."""
        text = str(path)
        if text == "~" or text.startswith("~/"):
            return str(USER_HOME) + text[1:]
        return text

    def _read_inside(self, path: str) -> bytes | None:
        listing = self.run(["sh", "-c", 'test -f "$1" && test -r "$1" && base64 -w0 -- "$1"',
                            "sh", path], timeout=60)
        if listing.returncode != 0:
            return None
        return base64.b64decode(listing.stdout)
