"""`.ci/setup` says what it is doing as it goes, with pip's downloads.

It runs here on a copy of the script, with stand-ins for what it calls (dpkg, apt-get, the
venv's python and pip) that answer as the real ones do: a fresh machine would take many
minutes and the network. The script itself is the real one.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]

# The venv's python: `-c import ...` fails for torch until pip has installed it; `-m pip
# install` prints what pip prints when it downloads (and lines the script should not show).
PYTHON = r"""#!/bin/sh
log="$(dirname "$0")/../calls.log"
echo "python $*" >> "$log"
case "$*" in
  *"import torch, torchvision"*) [ -f "$(dirname "$0")/../torch-installed" ] ;;
  *"-m pip"*)
    case "$*" in *torch==*) touch "$(dirname "$0")/../torch-installed" ;; esac
    for spec in "$@"; do case "$spec" in -*|install|pip|-m) ;; *)
      echo "Collecting $spec"
      echo "  Downloading ${spec%%=*}-1.0-py3-none-any.whl (912.4 MB)"
      echo "Requirement already satisfied: numpy in ./.venv/lib/python3.11/site-packages"
    esac; done
    echo "Installing collected packages: it"
    echo "Successfully installed it-1.0" ;;
  *) exit 0 ;;
esac
"""


def fake_machine(tmp_path: Path, installed: bool) -> tuple[Path, dict[str, str]]:
    repo = tmp_path / "repo"
    (repo / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "setup", repo / ".ci" / "setup")
    venv_bin = repo / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "python").write_text(PYTHON)
    (venv_bin / "python").chmod(0o755)
    tools = tmp_path / "bin"
    tools.mkdir()
    # dpkg -s: every package present, or none; apt-get: installs by marking them present.
    marker = tmp_path / "apt-done"
    (tools / "dpkg").write_text(f'#!/bin/sh\n[ "{int(installed)}" = 1 ] || [ -f "{marker}" ]\n')
    (tools / "apt-get").write_text(
        f'#!/bin/sh\ncase "$*" in *install*) echo "Get:1 http://deb.debian.org chromium [60 MB]";'
        f' echo "Setting up chromium"; touch "{marker}";; *) echo "Hit:1 http://deb.debian.org";; esac\n')
    for tool in tools.iterdir():
        tool.chmod(0o755)
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}"}
    return repo, env


def run_setup(repo: Path, env: dict[str, str]) -> list[str]:
    result = subprocess.run(["bash", str(repo / ".ci" / "setup")], capture_output=True, text=True,
                            env=env, timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()


def test_a_fresh_machine_hears_each_stage_and_each_download(tmp_path):
    repo, env = fake_machine(tmp_path, installed=False)
    lines = run_setup(repo, env)
    assert re.fullmatch(r"setup: checking \d+ Debian packages", lines[0])
    assert lines[1].startswith("setup: installing chromium xvfb adb") and "apt-get" in lines[1]
    assert "setup:   Get:1 http://deb.debian.org chromium [60 MB]" in lines
    assert "setup: installing PyTorch 2.14.1 and torchvision (CPU build; about 1 GB the first time)" in lines
    assert "setup:   Downloading torch-1.0-py3-none-any.whl (912.4 MB)" in lines
    assert "setup:   Collecting -e" not in lines and not any("already satisfied" in x for x in lines)
    project = lines.index("setup: installing the project with every extra and the test tools "
                          "(pip install -e '.[all,test]')")
    assert "setup:   Successfully installed it-1.0" in lines[project:]
    assert lines[-1] == "setup: ready: .venv/bin/qvl-agent (or 'source .venv/bin/activate', then qvl-agent)"
    assert "Requirement already satisfied" in (repo / ".venv" / "pip.log").read_text()


def test_a_second_run_only_checks(tmp_path):
    repo, env = fake_machine(tmp_path, installed=True)
    (repo / ".venv" / "torch-installed").touch()
    lines = run_setup(repo, env)
    assert re.fullmatch(r"setup: checking \d+ Debian packages", lines[0])
    assert lines[1:4] == ["setup: Debian packages: all present",
                         "setup: virtual environment: .venv (present)", "setup: PyTorch: present"]
