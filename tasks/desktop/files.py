"""Files between this machine and the desktop, under OSWorld's names: the ``download`` setup
step, the ``cloud_file`` and ``cache_file`` getters, and ``list_directory``.

OSWorld's host downloads a task's files into its cache and uploads them to the VM. Here the
cache is ``$QVL_OSWORLD_CACHE`` (default ``~/.cache/qvl-agent/osworld``), with OSWorld's own
names, so a copy of OSWorld's ``cache`` folder works as it is: a file from ``URL`` for
``PATH`` is ``<uuid5(URL)>_<basename(PATH)>`` (``download``) or ``<dest>``
(``cloud_file``), at the cache's top or in any task's folder of it (``cache/<task id>/``).
A file not in the cache is fetched from its URL by this machine (the sandbox has no
network) and kept there; with ``QVL_NO_DOWNLOAD=1`` it is an error instead (offline runs,
the tests). A file that cannot be had is a TaskError that says where to put it.
"""

from __future__ import annotations

import os
import tempfile
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from qvl_agent.envs.base import Env
from qvl_agent.envs.errors import TaskError
from qvl_agent.tasks.desktop.steps import DESKTOP, desktop_of, home_of, inside
from qvl_agent.tasks.hooks import register_getter, register_setup_step

__all__ = ["cache_root", "cached", "download", "cloud_file", "cache_file", "list_directory"]

_USER_AGENT = "qvl-agent (OSWorld task files)"


def cache_root() -> Path:
    """Where OSWorld's task files are kept on this machine."""
    configured = os.environ.get("QVL_OSWORLD_CACHE")
    return Path(configured).expanduser() if configured else \
        Path.home() / ".cache" / "qvl-agent" / "osworld"


def cached(url: str, name: str) -> Path:
    """The local copy of ``url`` named ``name`` in the cache, fetched on first use."""
    if not url or not name or "/" in name or name in (".", ".."):
        raise TaskError(f"download: a file needs a url and a file name, got {url!r} and {name!r}")
    root = cache_root()
    found = _in_cache(root, name)
    if found is not None:
        return found
    target = root / name
    where = (f"put the file at {target} (a copy of OSWorld's cache folder works too: "
             "QVL_OSWORLD_CACHE=/path/to/OSWorld/cache)")
    if os.environ.get("QVL_NO_DOWNLOAD", "") not in ("", "0"):
        raise TaskError(f"download: {url} is not in the cache and QVL_NO_DOWNLOAD is set; {where}")
    root.mkdir(parents=True, exist_ok=True)
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    part: Path | None = None
    try:
        with urllib.request.urlopen(request, timeout=60) as answer, \
                tempfile.NamedTemporaryFile(dir=root, prefix=".part-", delete=False) as file:
            part = Path(file.name)
            while chunk := answer.read(1 << 20):
                file.write(chunk)
    except urllib.error.HTTPError as exc:
        raise TaskError(f"download: cannot fetch {url} (HTTP {exc.code} {exc.reason}); {where}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        if part is not None:
            part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise TaskError(f"download: cannot fetch {url} ({reason}); {where}") from None
    os.replace(part, target)  # whole or not at all
    return target


def _in_cache(root: Path, name: str) -> Path | None:
    """``root/name``, or ``root/<task id>/name`` (OSWorld's cache keeps a folder per task)."""
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    for candidate in [root / name, *(folder / name for folder in folders)]:
        if candidate.is_file():
            return candidate
    return None


def _download_name(url: str, path: str) -> str:
    return f"{uuid.uuid5(uuid.NAMESPACE_URL, url)}_{os.path.basename(path)}"


@register_setup_step("download", DESKTOP)
def download(env: Env, task_dir: Path, files: list[dict[str, str]]) -> None:
    """Put each file of ``files`` (``url``, ``path`` on the desktop) in place; a relative
    path is in the home, as on OSWorld's VM."""
    display = desktop_of(env).display
    home_of(env)
    for entry in files:
        url, path = str(entry.get("url", "")), str(entry.get("path", ""))
        if not path:
            raise TaskError(f"download: {url!r} has no path to put it at")
        local = cached(url, _download_name(url, path))
        target = path if path.startswith(("/", "~")) else f"~/{path}"
        # In a sandbox, never through a link a task made (envs.sandbox_files).
        display.put_file(inside(env, target), local.read_bytes())


@register_getter("cloud_file", DESKTOP)
def cloud_file(env: Env, trajectory: Any, task_dir: Path, path: str | list[str],
               dest: str | list[str], multi: bool = False, gives: list[int] | None = None,
               **_: Any) -> str | list[str]:
    """The local copy of an expected file from a URL (OSWorld's ``cloud_file``)."""
    urls = path if multi else [path]
    names = dest if multi else [dest]
    if not isinstance(urls, list) or not isinstance(names, list) or len(urls) != len(names):
        raise TaskError("cloud_file: with multi, path and dest are lists of the same length")
    found = [str(cached(str(u), str(n))) for u, n in zip(urls, names)]
    chosen = [found[i] for i in (gives or [0])]
    return chosen[0] if len(chosen) == 1 else chosen


@register_getter("cache_file", DESKTOP)
def cache_file(env: Env, trajectory: Any, task_dir: Path, path: str, **_: Any) -> str:
    """A file already in the cache (OSWorld's ``cache_file``)."""
    found = _in_cache(cache_root(), path)
    if found is None:
        raise TaskError(f"cache_file: {path} is not in {cache_root()}")
    return str(found)


@register_getter("list_directory", DESKTOP)
def list_directory(env: Env, trajectory: Any, task_dir: Path, path: str, **_: Any) -> dict | None:
    """The folder's tree as OSWorld's server gives it (``{"type": "directory", "name",
    "children": [...]}``), read inside the desktop; None when it is not a folder."""
    display = desktop_of(env).display
    home_of(env)
    folder = inside(env, path)
    script = 'test -d "$1" && cd "$1" && find . -mindepth 1 -printf "%y %P\\0"'
    listing = display.run(["sh", "-c", script, "sh", folder], timeout=60, cwd=home_of(env))
    if listing.returncode != 0:
        return None
    tree: dict[str, Any] = {"type": "directory", "name": os.path.basename(folder.rstrip("/")),
                            "children": []}
    nodes = {"": tree}
    for record in sorted(filter(None, listing.stdout.split("\0")), key=lambda r: r[2:].count("/")):
        kind, relative = record[0], record[2:]
        parent = nodes.get(os.path.dirname(relative))
        if parent is None:
            continue
        node: dict[str, Any] = {"type": "directory" if kind == "d" else "file",
                                "name": os.path.basename(relative)}
        if kind == "d":
            node["children"] = []
            nodes[relative] = node
        parent["children"].append(node)
    return tree

