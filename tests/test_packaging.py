"""The distribution as a user installs it: one package, ``qvl_agent``, and a core without torch.

The wheel is built from this checkout and installed into a fresh venv that sees only the
core's dependencies (the project venv's site-packages minus torch, transformers and the
other extras), so what a ``pip install qvl-agent`` user gets is what is tested.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.fakeqwen import FakeQwen, QwenRequest, tool_call
from tests.pages import PageServer

ROOT = Path(__file__).resolve().parent.parent
SUBPACKAGES = ("agent", "envs", "model", "tasks", "eval", "cli")
# What the extras bring (distribution folders in site-packages), hidden from the core venv.
EXTRA_PREFIXES = ("torch", "torchvision", "transformers", "qwen_vl_utils", "qwen-vl-utils",
                  "nvidia", "triton", "accelerate", "datasets", "peft", "ray", "tokenizers",
                  "safetensors", "huggingface_hub", "mcp", "__editable__", "qvl_agent")


def test_every_package_folder_is_in_the_distribution():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {"qvl_agent"} | {
        "qvl_agent." + ".".join(init.parent.relative_to(ROOT).parts)
        for top in SUBPACKAGES for init in (ROOT / top).rglob("__init__.py")
    }
    assert found == listed, f"add to / remove from pyproject's packages: {found ^ listed}"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                            "-q", "-w", str(out), str(ROOT)], capture_output=True, text=True,
                           timeout=300, cwd=out)
    assert build.returncode == 0, build.stderr
    return next(out.glob("qvl_agent-*.whl"))


@pytest.fixture(scope="module")
def core_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the wheel and the core's dependencies only (no torch, no extras)."""
    home = tmp_path_factory.mktemp("core")
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    shelf = home / "deps"  # the project venv's packages, the extras left out
    shelf.mkdir()
    sites = [Path(p) for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    for site in sites:  # a venv's own, and any it extends with a .pth
        for entry in site.iterdir():
            if (not entry.name.lower().startswith(EXTRA_PREFIXES) and not entry.name.endswith(".pth")
                    and not (shelf / entry.name).exists()):
                (shelf / entry.name).symlink_to(entry)
    target = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-compile",
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    (target / "core-deps.pth").write_text(f"{shelf}\n")
    # pip --target does not write console scripts: the entry point as pip would make it
    (venv / "bin" / "qvl-agent").write_text(
        f"#!{venv / 'bin' / 'python'}\nfrom qvl_agent.cli.main import main\nmain()\n")
    (venv / "bin" / "qvl-agent").chmod(0o755)
    return venv


def _in(venv: Path, *argv: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([str(venv / "bin" / argv[0]), *argv[1:]], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout, stdin=subprocess.DEVNULL)


def test_the_wheel_holds_one_top_level_package(wheel: Path):
    tops = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert tops == {"qvl_agent", wheel.name.split("-py3")[0] + ".dist-info"}, tops
    names = zipfile.ZipFile(wheel).namelist()
    # the data the packages read at run time travels with them
    for needed in ["qvl_agent/model/data/chat_template.jinja", "qvl_agent/agent/rpa/dom.js",
                   "qvl_agent/tasks/desktop/tasks/files/numbers.xlsx",
                   "qvl_agent/tasks/web/tasks/pages/login.html", "qvl_agent/py.typed"]:
        assert needed in names


@pytest.mark.slow
def test_installed_core_has_no_stray_packages_and_names_the_missing_extra(core_venv: Path, tmp_path: Path):
    assert "No module named 'agent'" in _in(core_venv, "python", "-c", "import agent", cwd=tmp_path).stderr
    assert _in(core_venv, "python", "-c", "import torch", cwd=tmp_path).returncode != 0
    shown = _in(core_venv, "qvl-agent", "--help", cwd=tmp_path)
    assert shown.returncode == 0 and "run" in shown.stdout, shown.stderr
    where = _in(core_venv, "python", "-c", "import qvl_agent; print(qvl_agent.__file__)", cwd=tmp_path)
    assert str(core_venv) in where.stdout

    local = _in(core_venv, "qvl-agent", "run", "hi", "--env", "browser", "--model", str(tmp_path),
                cwd=tmp_path)
    assert local.returncode == 2, local.stderr
    assert local.stderr.startswith("error: --model") and "pip install 'qvl-agent[local]'" in local.stderr
    assert "Traceback" not in local.stderr
    tiny = _in(core_venv, "qvl-agent", "tiny-model", str(tmp_path / "tiny"), cwd=tmp_path)
    assert tiny.returncode == 2 and "pip install 'qvl-agent[local]'" in tiny.stderr, tiny.stderr
    assert _in(core_venv, "python", "-c", "import mcp", cwd=tmp_path).returncode != 0
    mcp = _in(core_venv, "qvl-agent", "mcp", "--env", "browser", cwd=tmp_path)
    assert mcp.returncode == 2 and mcp.stderr == (
        "error: qvl-agent mcp needs mcp, not installed here: pip install 'qvl-agent[mcp]'\n")


@pytest.mark.slow
@pytest.mark.browser
def test_a_server_user_runs_a_goal_without_torch(core_venv: Path, tmp_path: Path):
    def qwen(request: QwenRequest) -> str:
        if request.index == 0:
            return tool_call(action="left_click", coordinate=request.to_frame(580, 425, (1000, 600)))
        return tool_call(action="terminate", status="success")

    with PageServer() as pages, FakeQwen(qwen) as server:
        result = _in(core_venv, "qvl-agent", "run", "submit the form", "--env", "browser",
                     "--url", pages.url("form.html"), "--viewport", "1000x600",
                     "--endpoint", server.url, "--out", str(tmp_path / "run"), cwd=tmp_path,
                     timeout=240)
        clicks = [e["target"] for e in pages.events if e["type"] == "click"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert clicks == ["submit"]
    assert {r.image.size for r in server.requests} == {(1008, 588)} and not server.violations
