"""When the desktop sandbox cannot run, or must not be skipped: one line that says what to do.

These run on every machine, with or without bubblewrap: a missing ``bwrap`` is a PATH
without it, and a kernel without unprivileged user namespaces is a ``bwrap`` that fails as
the real one does there (its own message, exit status 1). The real failure, bwrap inside a
user namespace that allows no nested one, is ``test_sandbox.py``'s (it needs bubblewrap).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from qvl_agent.envs import sandbox
from qvl_agent.envs.errors import ConfigError, EnvNotFoundError
from qvl_agent.envs.spec import DesktopSpec
from tests.conftest import run_cli

# What bubblewrap prints where unprivileged user namespaces are off (bubblewrap.c), exit 1.
NO_USERNS = ("bwrap: No permissions to creating new namespace, likely because the kernel does "
             "not allow non-privileged user namespaces. On e.g. debian this can be enabled with "
             "'sysctl kernel.unprivileged_userns_clone=1'.")


@pytest.fixture(autouse=True)
def fresh_probe():
    sandbox._probe.cache_clear()  # the answer is cached per bwrap path for a process
    yield
    sandbox._probe.cache_clear()


def fake_bwrap(folder: Path, *, says: str = "", status: int = 0) -> Path:
    """A ``bwrap`` on a PATH of its own that records its arguments (and $QVL_PROBE_MARK), says
    ``says`` on stderr and exits with ``status``."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "bwrap"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' \"$@\" > {folder}/args\n"
                      f"printf '%s' \"${{QVL_PROBE_MARK-unset}}\" > {folder}/mark\n"
                      f"printf '%s\\n' \"{says}\" >&2\nexit {status}\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def _eval_desktop(tmp_path: Path, path: str) -> tuple[int, list[str]]:
    result = run_cli("eval", "--suite", "desktop", "--display", "virtual", "--policy", "oracle",
                     "--tasks", "terminal-uname", "--out", str(tmp_path / "run"),
                     env={"PATH": path}, timeout=120)
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "results.jsonl").exists()  # nothing started
    return result.returncode, [line for line in result.stderr.splitlines() if line.strip()]


def test_no_bubblewrap_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EnvNotFoundError) as caught:
        sandbox.check_bubblewrap()
    assert "apt install bubblewrap" in str(caught.value) and "dnf install bubblewrap" in str(caught.value)


def test_no_user_namespaces_says_what_to_enable(tmp_path, monkeypatch):
    folder = fake_bwrap(tmp_path / "bin", says=NO_USERNS, status=1)
    monkeypatch.setenv("QVL_PROBE_MARK", "1")
    monkeypatch.setenv("PATH", str(folder))
    with pytest.raises(EnvNotFoundError) as caught:
        sandbox.check_bubblewrap()
    message = str(caught.value)
    assert f"bubblewrap cannot create its sandbox here ({NO_USERNS})" in message
    assert "kernel.unprivileged_userns_clone=1" in message and "max_user_namespaces" in message
    assert "apparmor_restrict_unprivileged_userns=0" in message
    assert message == (
        f"bubblewrap cannot create its sandbox here ({NO_USERNS}). Enable unprivileged user "
        "namespaces: sysctl -w kernel.unprivileged_userns_clone=1 (Debian) and "
        "user.max_user_namespaces > 0; on Ubuntu 23.10+ also "
        "kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile for bwrap); "
        "in a container, allow unshare/mount (e.g. docker --security-opt seccomp=unconfined "
        "--security-opt apparmor=unconfined, or a privileged container)")
    # bwrap gets no environment of ours, as the sandbox's own --clearenv.
    assert (folder / "mark").read_text() == "unset"
    # The probe asks for the namespaces the sandbox uses, with the system read-only.
    args = (folder / "args").read_text().split("\n")[:-1]
    tail = ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "true"]
    assert args[-len(tail):] == tail
    assert args[-len(tail) - len(sandbox._ISOLATION):-len(tail)] == sandbox._ISOLATION
    assert "--unshare-user" in args or "--userns" in args


@pytest.mark.parametrize(("bwrap", "said"), [
    (None, "apt install bubblewrap"),
    (NO_USERNS, "max_user_namespaces"),
])
def test_the_cli_says_it_in_one_line(tmp_path, bwrap, said):
    path = str(tmp_path)
    if bwrap is not None:
        path = f"{fake_bwrap(tmp_path / 'bin', says=bwrap, status=1)}{os.pathsep}{os.environ['PATH']}"
    status, lines = _eval_desktop(tmp_path, path)
    assert status != 0 and len(lines) == 1 and said in lines[0]


def test_a_silent_failure_and_a_bwrap_that_cannot_run_are_named_too(tmp_path, monkeypatch):
    silent = fake_bwrap(tmp_path / "silent", status=1)
    monkeypatch.setenv("PATH", str(silent))
    with pytest.raises(EnvNotFoundError, match=r"cannot create its sandbox here \(no message\)"):
        sandbox.check_bubblewrap()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bwrap").write_text("#!/nonexistent/interpreter\n")
    (broken / "bwrap").chmod(0o755)
    monkeypatch.setenv("PATH", str(broken))
    with pytest.raises(EnvNotFoundError, match="^" + re.escape(f"cannot run {broken}/bwrap: ")):
        sandbox.check_bubblewrap()


def test_a_bwrap_that_works_is_accepted(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(fake_bwrap(tmp_path / "bin", says="", status=0)))
    sandbox.check_bubblewrap()  # no error


def test_other_systems_are_told_the_sandbox_needs_linux(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox.platform, "system", lambda: "Darwin")
    monkeypatch.setenv("PATH", str(fake_bwrap(tmp_path / "bin")))
    with pytest.raises(EnvNotFoundError) as caught:
        sandbox.check_bubblewrap()
    assert str(caught.value) == (
        "--display virtual runs desktop tasks in a bubblewrap sandbox, which needs Linux (this "
        "is Darwin); run them on Linux, or on your own display with --display :N --unsafe-host "
        "(tasks may then change your files)")


def test_a_user_the_sandbox_cannot_map_is_told_why(tmp_path, monkeypatch):
    def no_identity():
        raise EnvNotFoundError("no subordinate ids for you in /etc/subuid")

    monkeypatch.setattr(sandbox, "host_identity", no_identity)
    monkeypatch.setenv("PATH", str(fake_bwrap(tmp_path / "bin")))
    with pytest.raises(EnvNotFoundError, match="^no subordinate ids for you in /etc/subuid$"):
        sandbox.check_bubblewrap()


def test_the_suite_refuses_a_users_own_display_without_unsafe_host(tmp_path):
    result = run_cli("eval", "--suite", "desktop", "--display", ":0", "--policy", "oracle",
                     "--out", str(tmp_path / "run"), timeout=120)
    assert result.returncode == 2
    assert "--unsafe-host" in result.stderr and "your files" in result.stderr
    assert not (tmp_path / "run" / "results.jsonl").exists()


def test_unsafe_host_lets_a_suite_use_an_existing_display():
    from qvl_agent.tasks.desktop.steps import check_options

    check_options(DesktopSpec(display=":7", unsafe_host=True), 1)  # allowed: the user said so
    with pytest.raises(ConfigError, match="--unsafe-host"):
        check_options(DesktopSpec(display=":7"), 1)
