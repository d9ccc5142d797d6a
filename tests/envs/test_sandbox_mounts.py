"""The sandbox's file system as bubblewrap's options build it (``system_view``), read as what
a program inside sees at each path. Runs without bubblewrap: the promises of
``envs.sandbox_mounts`` checked on the options that make them, for an interpreter in a place
a real machine may have it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qvl_agent.envs.sandbox_mounts import EMPTY, python_folders, system_view

_ARGS = {"--ro-bind": 2, "--bind": 2, "--symlink": 2, "--tmpfs": 1, "--dev": 1, "--proc": 1}


def mounts(options: list[str]) -> list[tuple[str, str | None, str]]:
    """(kind, host source or link target, path inside) for each option, in bwrap's order."""
    found, i = [], 0
    while i < len(options):
        kind = options[i]
        assert kind in _ARGS, f"unexpected option {kind}"
        args = options[i + 1:i + 1 + _ARGS[kind]]
        found.append((kind.lstrip("-"), args[0] if len(args) == 2 else None, args[-1]))
        i += 1 + _ARGS[kind]
    return found


def seen(options: list[str], path: str | Path) -> tuple[str, str | None] | None:
    """What ``path`` is inside: the last mount at or above it (kind, the host's path), or
    None when nothing of the host is there."""
    path = str(path)
    for kind, source, target in reversed(mounts(options)):
        if path == target or path.startswith(target.rstrip("/") + "/"):
            if kind in ("ro-bind", "bind"):
                return kind, source.rstrip("/") + path[len(target.rstrip("/")):]
            return kind, None
    return None


@pytest.fixture
def venv_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This Python as if it ran from a venv in /tmp (a folder the sandbox hides)."""
    venv = tmp_path / "project" / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "lib" / "site-packages").mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", str(venv))
    monkeypatch.setattr(sys, "executable", str(venv / "bin" / "python"))
    monkeypatch.setattr(sys, "path", [*sys.path, str(venv / "lib" / "site-packages")])
    return venv


def test_the_interpreter_is_shown_read_only_wherever_it_lives(venv_in_tmp):
    options = system_view()
    site = venv_in_tmp / "lib" / "site-packages" / "pkg.py"
    assert seen(options, site) == ("ro-bind", str(site))
    assert seen(options, venv_in_tmp / "bin" / "python")[0] == "ro-bind"
    assert not [m for m in mounts(options) if m[0] == "bind"]  # nothing of the host writable
    assert str(venv_in_tmp) in python_folders()
    # Its project, beside the venv, is not there; the rest of /tmp is a fresh empty folder.
    assert seen(options, venv_in_tmp.parent / ".env") == ("tmpfs", None)
    assert seen(options, "/tmp/other") == ("tmpfs", None)


def test_the_system_is_read_only_and_the_hosts_own_files_are_absent(venv_in_tmp):
    options = system_view()
    for path in ("/usr/bin/python3", "/etc/hosts", "/var/lib/dpkg/status"):
        if Path(path).exists() and not Path("/", path.split("/")[1]).is_symlink():
            assert seen(options, path) == ("ro-bind", path)
    for name in EMPTY:  # /home, /root, /tmp, /run, ...: empty
        assert seen(options, f"/{name}/anything") == ("tmpfs", None)
    if Path("/var/log").is_dir() and not Path("/var/log").is_symlink():
        assert seen(options, "/var/log/syslog") == ("tmpfs", None)  # the host's records
    assert seen(options, "/work/checkout/.env") is None  # a project tree: not there at all
    assert seen(options, "/dev/null") == ("dev", None) and seen(options, "/proc/1") == ("proc", None)
    # bwrap cannot make a mount point in the read-only /var: only folders that are there.
    for kind, _, target in mounts(options):
        if target.startswith("/var/"):
            assert Path(target).is_dir() and not Path(target).is_symlink(), target
    for link in ("/bin", "/lib", "/sbin"):
        if Path(link).is_symlink():
            assert ("symlink", str(Path(link).readlink()), link) in mounts(options)


def test_python_folders_are_what_the_system_folders_do_not_already_show(tmp_path, monkeypatch):
    real, other, dist = tmp_path / "real-venv", tmp_path / "other-venv", tmp_path / "deb"
    for folder in (real / "bin", real / "lib" / "site-packages", other / "lib" / "site-packages",
                   dist / "dist-packages", tmp_path / "plain-folder", tmp_path / "site-packagesX"):
        folder.mkdir(parents=True)
    link = tmp_path / "linked-venv"  # a venv reached through a link: both paths are bound
    link.symlink_to(real)
    monkeypatch.setattr(sys, "prefix", str(link))
    monkeypatch.setattr(sys, "base_prefix", "/usr")  # a system Python: /usr is shown anyway
    monkeypatch.setattr(sys, "executable", str(link / "bin" / "python"))
    monkeypatch.setattr(sys, "path", [
        str(real / "lib" / "site-packages"),  # inside the venv: bound with it
        str(other / "lib" / "site-packages") + "/",  # another venv's, named with a slash
        str(dist / "dist-packages"),
        str(tmp_path / "plain-folder"),  # not a site folder: the sandbox has no use for it
        str(tmp_path / "site-packagesX"),  # nor is this
        "/usr/lib/python3/dist-packages",  # shown already
    ])
    assert python_folders() == [str(dist / "dist-packages"), str(link),
                                str(other / "lib" / "site-packages"), str(real)]


@pytest.mark.parametrize(("folder", "shown"), [
    ("/usr/lib/python3.11", True), ("/opt/python", True), ("/var/lib/python", False),
    ("/srv/venv", False), ("/", False), ("/usrx/venv", False),
])
def test_only_folders_under_the_system_ones_but_var_are_shown_already(folder, shown, monkeypatch):
    from qvl_agent.envs import sandbox_mounts

    top = folder.split("/")[1] if folder != "/" else ""
    if top and Path("/", top).is_symlink():
        pytest.skip(f"/{top} is a link on this machine")
    assert sandbox_mounts._shown(folder) is shown


def test_a_folder_is_under_another_only_at_a_slash():
    from qvl_agent.envs.sandbox_mounts import _under

    assert _under("/a/b/c", "/a/b") and _under("/a/b", "/a/b") and _under("/a/b/c", "/a/b/")
    assert not _under("/a/bc", "/a/b") and not _under("/a", "/a/b") and not _under("/a/b", "/a/X")


def test_a_folder_under_a_linked_system_folder_is_not_shown_by_it():
    from qvl_agent.envs.sandbox_mounts import _shown

    links = [top for top in ("/bin", "/sbin", "/lib", "/lib64") if Path(top).is_symlink()]
    if not links:
        pytest.skip("no system folder is a link on this machine (no merged /usr)")
    for top in links:  # bound as a link: what is under it is not bound by it
        assert not _shown(f"{top}/python3/dist-packages")
