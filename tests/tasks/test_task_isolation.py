"""What one desktop task can reach in its sandbox, the way each hole was found: a task file
reading ``/proc/*/environ``, a symlinked ``~/.config``, links to host files behind a getter
and a copied file, root inside being root outside, and programs started in the background
by one task still running in the next.

Each task here is an OSWorld-format task file run through its setup steps and getters, as
``eval`` runs it, on one env that runs task after task, as an eval worker does.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from qvl_agent.envs.errors import QvlError, TaskError
from qvl_agent.tasks.declarative import GETTERS, load_task_file, task_class

pytestmark = [pytest.mark.desktop,
              pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap not installed")]

SECRET = "sk-host-only-4f2a9c"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def desktop():
    """One env for every task of the module, as an eval worker has; the host's environment
    holds an API key, as a user's does."""
    from qvl_agent.envs.desktop import open_desktop

    saved = os.environ.get("OPENAI_API_KEY")
    os.environ["OPENAI_API_KEY"] = SECRET
    env = open_desktop("virtual:640x480")
    try:
        yield env
    finally:
        env.close()
        if saved is None:
            os.environ.pop("OPENAI_API_KEY", None)
        else:
            os.environ["OPENAI_API_KEY"] = saved


def _task(tmp_path: Path, name: str, config: list[dict]) -> object:
    """A task file with these setup steps, loaded as eval loads it; set up on its own."""
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps({
        "id": f"isolation/{name}", "instruction": "Nothing to do.", "config": config,
        "evaluator": {"func": "exact_match", "result": {"type": "vm_command_line", "command": "true"},
                      "expected": {"type": "rule", "rules": {"expected": "x"}}}}))
    return task_class(load_task_file(path), tmp_path).from_seed(0)


def _shell(command: str) -> dict:
    return {"type": "execute", "parameters": {"shell": True, "command": command}}


def _vm_file(env, path: str) -> str | None:
    found = GETTERS["vm_file"](env, None, None, path=path)
    return None if found is None else Path(found).read_text()


def _host_processes(marker: str) -> list[int]:
    """Processes of this machine whose command line holds ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                if marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


# 1 -------------------------------------------------------------------------------------

def test_no_process_in_the_sandbox_carries_the_hosts_environment(desktop, tmp_path):
    task = _task(tmp_path, "environ", [_shell(
        "for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < $f; done > ~/environ.txt; "
        "cat /proc/1/environ /proc/2/environ | tr '\\0' '\\n' > ~/first.txt")])
    task.setup(desktop)
    seen = _vm_file(desktop, "~/environ.txt")
    assert seen is not None and "HOME=/home/user" in seen  # it did read the processes' environments
    assert SECRET not in seen and "OPENAI_API_KEY" not in seen
    assert SECRET not in (_vm_file(desktop, "~/first.txt") or "")
    # A failing step's message (which goes into results.jsonl and summary.md) has none either.
    # (exit 127: this desktop cannot run it, a TaskError that quotes the step's stderr)
    failing = _task(tmp_path, "environ-fails", [_shell(
        "cat /proc/1/environ /proc/$$/environ | tr '\\0' '\\n' | grep -e KEY -e HOME= >&2; exit 127")])
    with pytest.raises(TaskError) as failed:
        failing.setup(desktop)
    assert "exit code 127" in str(failed.value) and "HOME=/home/user" in str(failed.value)
    assert SECRET not in str(failed.value)


# 2 -------------------------------------------------------------------------------------

def test_a_symlinked_config_is_not_written_through(desktop, tmp_path):
    """A task replaces ~/.config by a link to a host folder; the next task's profile
    seeding must not write there (it once made a root-owned file outside)."""
    outside = tmp_path / "outside-config"
    outside.mkdir()
    _task(tmp_path, "link-config", [_shell(f"rm -rf ~/.config && ln -s {outside} ~/.config")]).setup(desktop)
    old_home = desktop.display.home
    assert (old_home / ".config").is_symlink()
    _task(tmp_path, "next", []).setup(desktop)
    assert list(outside.iterdir()) == []
    assert desktop.display.home != old_home and not old_home.exists()  # a new home, not the old one
    assert (desktop.display.home / ".config").is_dir() and not (desktop.display.home / ".config").is_symlink()


def test_a_getter_does_not_read_through_a_link_to_a_host_file(desktop, tmp_path):
    """vm_file of a link to a host file the sandbox cannot see: what the VM would give
    (nothing), not the host's file; a link within the sandbox still works as on a VM."""
    secret = tmp_path / "host-secret.txt"
    secret.write_text("the host's own\n")
    secret.chmod(0o644)
    _task(tmp_path, "link-getter", [_shell(
        f"ln -s {secret} ~/report.txt; mkdir -p ~/sub; ln -s {tmp_path} ~/sub/dir; "
        "echo mine > ~/a.txt; ln -s ~/a.txt ~/b.txt")]).setup(desktop)
    assert _vm_file(desktop, "~/report.txt") is None
    assert _vm_file(desktop, "/home/user/report.txt") is None
    assert _vm_file(desktop, f"~/sub/dir/{secret.name}") is None
    assert _vm_file(desktop, "~/b.txt") == "mine\n"


def test_a_copied_task_file_replaces_a_link_instead_of_writing_through_it(desktop, tmp_path):
    target = tmp_path / "host-target.txt"
    target.write_text("untouched\n")
    (tmp_path / "payload.txt").write_text("from the task\n")
    _task(tmp_path, "link-copy", [
        _shell(f"ln -s {target} ~/payload.txt; mkdir -p ~/Documents; ln -s {tmp_path} ~/Documents/in"),
        {"type": "copy_task_file", "parameters": {"source": "payload.txt", "path": "~/payload.txt"}},
    ]).setup(desktop)
    assert target.read_text() == "untouched\n"
    assert _vm_file(desktop, "~/payload.txt") == "from the task\n"
    assert not (desktop.display.home / "payload.txt").is_symlink()
    # Through a linked folder: written as the sandbox's user sees it (the link leads nowhere
    # there), so the step fails with the reason, and the host's file stays as it was.
    through = _task(tmp_path, "link-copy-folder", [
        _shell(f"mkdir -p ~/Documents; ln -s {tmp_path} ~/Documents/in"),
        {"type": "copy_task_file", "parameters": {"source": "payload.txt",
                                                  "path": "~/Documents/in/host-target.txt"}},
    ])
    with pytest.raises(QvlError, match="cannot write /home/user/Documents/in/host-target.txt"):
        through.setup(desktop)
    assert target.read_text() == "untouched\n"


# 3 -------------------------------------------------------------------------------------

def test_the_sandbox_user_is_not_root_outside(desktop, tmp_path):
    hidden = tmp_path / "not-in-a-vm.txt"
    hidden.write_text("x")
    _task(tmp_path, "root", [_shell(
        "id -u > ~/id.txt; head -c 8 /etc/shadow > ~/shadow.txt 2>&1; echo $? >> ~/shadow.txt; "
        f"touch ~/mine; ls -A / > ~/root.txt; test -e {ROOT}/pyproject.toml && echo CHECKOUT >> ~/root.txt; "
        f"test -e {hidden} && echo HOSTFILE >> ~/root.txt; true")]).setup(desktop)
    assert _vm_file(desktop, "~/id.txt") == "1000\n"
    shadow = _vm_file(desktop, "~/shadow.txt")
    assert "Permission denied" in shadow and shadow.rstrip().endswith("1")
    owner = (desktop.display.home / "mine").stat().st_uid
    assert owner != 0 and (os.getuid() == 0 or owner == os.getuid())
    listing = _vm_file(desktop, "~/root.txt")
    assert "HOSTFILE" not in listing
    if not str(ROOT).startswith(("/usr/", "/opt/")):
        assert "CHECKOUT" not in listing  # the project tree (and its .env) is not in a VM


# 4 -------------------------------------------------------------------------------------

def test_background_programs_live_until_the_task_ends_then_end(desktop, tmp_path):
    """A setup step's `nohup ... &` (a service the task needs) and `setsid ... &` run on
    after the step, through the episode; the next task starts without them, in a PID
    namespace of its own, and they write nothing into its home."""
    marker = f"qvl-tick-{os.getpid()}"
    loop = f"while :; do echo {marker} >> ~/ticks; sleep 0.1; done"
    task = _task(tmp_path, "background", [
        _shell(f"nohup sh -c '{loop}' > /dev/null 2>&1 &"),
        _shell(f"setsid sh -c '{loop} # setsid' &"),
    ])
    task.setup(desktop)
    first = (_vm_file(desktop, "~/ticks") or "").count(marker)
    time.sleep(1.0)
    later = (_vm_file(desktop, "~/ticks") or "").count(marker)
    assert later > first + 5  # both still ticking after their steps returned
    assert len(_host_processes(f"{loop} # setsid")) >= 1
    old_pid_namespace = desktop.display.run("readlink /proc/self/ns/pid", shell=True).stdout
    _task(tmp_path, "after", []).setup(desktop)
    deadline = time.monotonic() + 10
    while _host_processes(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _host_processes(marker) == []
    time.sleep(0.3)
    assert _vm_file(desktop, "~/ticks") is None
    assert desktop.display.run("readlink /proc/self/ns/pid", shell=True).stdout != old_pid_namespace
