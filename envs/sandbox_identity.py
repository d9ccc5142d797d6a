"""Who a desktop sandbox's programs are: ``user`` (uid 1000) inside, never root outside.

bubblewrap maps the sandbox's uid to the uid that started it. Started by a normal user that
is right: programs inside have that user's rights and no more (``--unshare-user``). Started
by root it would make every program inside root on this machine, able to read
``/etc/shadow`` and write as root wherever a path leads. So, as root, the user namespace is
made here instead and handed to bubblewrap (``--userns FD``), with this mapping:

    inside 1000  (user)    <-> outside an unused unprivileged uid (``HostIdentity.uid``)
    inside 65534 (nobody)  <-> outside 0 (root), so root's files show as nobody's, as in any
                               rootless container, and bubblewrap can set up its mounts

Nothing inside can become 65534: bubblewrap drops every capability, empties the bounding
set and sets ``no_new_privs`` (set-uid programs do not change uid), and a nested user
namespace (the sandbox's ``sudo``) can only map the uid its creator has.

Where the namespace cannot be made (no free uid in this process's own user namespace: a
container that maps one uid), bubblewrap's own ``--unshare-user`` is used: uid 0 there is
already an unprivileged user of the machine.
"""

from __future__ import annotations

import ctypes
import grp
import os
import pwd
import subprocess
import time
from dataclasses import dataclass, field

from qvl_agent.envs.errors import EnvNotFoundError

__all__ = ["SANDBOX_UID", "HostIdentity", "host_identity"]

SANDBOX_UID = 1000  # "user", as on OSWorld's VM
_CLONE_NEWUSER = 0x10000000
_FIRST_CHOICE = 2_000_000_000  # far above any account a system or a directory service hands out
_RESERVED = {0, 65534, 65535, 4294967294, 4294967295}


@dataclass
class HostIdentity:
    """bubblewrap's options for the sandbox's user, and what it needs to use them."""

    args: list[str]
    uid: int = field(default_factory=os.getuid)  # the sandbox user's uid on this machine
    gid: int = field(default_factory=os.getgid)
    fd: int | None = None  # the user namespace, for --userns

    @property
    def owner(self) -> tuple[int, int] | None:
        """Who files the host puts in the sandbox must belong to; None: the host's own uid."""
        return (self.uid, self.gid) if self.uid != os.getuid() else None

    @property
    def pass_fds(self) -> tuple[int, ...]:
        return (self.fd,) if self.fd is not None else ()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def host_identity() -> HostIdentity:
    """The sandbox user for a bubblewrap started now by this process.

    Raises:
        EnvNotFoundError: as root, the kernel refused a user namespace (said in one line).
    """
    plain = HostIdentity(args=["--unshare-user", "--uid", str(SANDBOX_UID), "--gid",
                               str(SANDBOX_UID)])
    if os.geteuid() != 0:
        return plain
    uid = _free_id(_ranges("/proc/self/uid_map"), pwd.getpwuid)
    gid = _free_id(_ranges("/proc/self/gid_map"), grp.getgrgid) if uid is not None else None
    if uid is None or gid is None:
        return plain  # a user namespace of one uid: its "root" is nobody special outside
    fd = _user_namespace(f"{SANDBOX_UID} {uid} 1\n65534 0 1\n", f"{SANDBOX_UID} {gid} 1\n65534 0 1\n")
    return HostIdentity(args=["--userns", str(fd), "--uid", str(SANDBOX_UID), "--gid",
                              str(SANDBOX_UID)], uid=uid, gid=gid, fd=fd)


def _ranges(path: str) -> list[tuple[int, int]]:
    """This process's user namespace's ids, as (first, count)."""
    try:
        with open(path, encoding="ascii") as lines:
            return [(int(inside), int(count)) for inside, _, count in
                    (line.split() for line in lines if line.strip())]
    except OSError:
        return []


def _free_id(ranges: list[tuple[int, int]], lookup) -> int | None:
    """An id mapped here that no account or group uses, and not root's or nobody's."""
    candidates = [_FIRST_CHOICE] + [first + count - back for first, count in ranges
                                    for back in range(2, 6)]
    for candidate in candidates:
        if candidate in _RESERVED or not any(f <= candidate < f + c for f, c in ranges):
            continue
        try:
            lookup(candidate)
        except KeyError:
            return candidate
    return None


def _user_namespace(uid_map: str, gid_map: str) -> int:
    """A descriptor of a new user namespace with these maps (written as root, from outside)."""
    unshare = ctypes.CDLL(None, use_errno=True).unshare  # resolved before the fork

    def enter() -> None:
        if unshare(_CLONE_NEWUSER) != 0:
            os._exit(ctypes.get_errno() or 1)  # the exit code says why

    own = os.readlink("/proc/self/ns/user")
    helper = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              preexec_fn=enter, env={})
    try:
        deadline = time.monotonic() + 10
        while True:
            code = helper.poll()
            if code is not None:
                reason = os.strerror(code) if code < 256 else f"exit code {code}"
                raise EnvNotFoundError(
                    f"bubblewrap cannot create its sandbox here (a user namespace: {reason}). "
                    "Enable user namespaces: user.max_user_namespaces > 0 (sysctl), and in a "
                    "container allow unshare (e.g. docker --security-opt seccomp=unconfined)")
            try:
                if os.readlink(f"/proc/{helper.pid}/ns/user") != own:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise EnvNotFoundError("bubblewrap cannot create its sandbox here (a user "
                                       "namespace did not appear within 10 s)")
            time.sleep(0.001)
        for name, text in (("uid_map", uid_map), ("gid_map", gid_map)):
            try:
                with open(f"/proc/{helper.pid}/{name}", "w", encoding="ascii") as out:
                    out.write(text)
            except OSError as exc:
                raise EnvNotFoundError(f"bubblewrap cannot create its sandbox here (writing the "
                                       f"user namespace's {name}: {exc.strerror})") from None
        return os.open(f"/proc/{helper.pid}/ns/user", os.O_RDONLY | os.O_CLOEXEC)
    finally:
        helper.stdin.close()  # type: ignore[union-attr]
        try:
            helper.wait(timeout=5)
        except subprocess.TimeoutExpired:
            helper.kill()
            helper.wait()
