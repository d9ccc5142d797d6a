"""The drawn structure of the code: imports point one way, and no files import in a circle.

Every ``import`` in the package is read with ``ast`` (function-level and ``TYPE_CHECKING``
ones included, since they tie files together as much as top-level ones). The layers are
``envs <- model <- agent <- tasks <- eval <- cli``: a file may import its own layer and the
layers below it. ``qvl_agent/`` itself (the public API, ``python -m qvl_agent``) may import
anything. A circle of files is allowed only inside ``envs/sim`` (the virtual phone's shell
tools register with the shell that runs them). Strings resolved later (the task registries'
plugins and suites, the public API's names) are entry points, not imports.
"""

from __future__ import annotations

import ast
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("envs", "model", "agent", "tasks", "eval", "cli")
CIRCLES_ALLOWED_IN = ("qvl_agent.envs.sim",)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a package's __init__ when a name comes from it)
    where: str  # file:line


def package_folders(root: Path) -> dict[str, Path]:
    """Top-level package name -> its folder, from pyproject's package-dir mapping."""
    mapping = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    return {name: root / folder for name, folder in mapping.items()}


def modules(folders: dict[str, Path]) -> dict[str, Path]:
    found = {}
    for package, folder in folders.items():
        for path in folder.rglob("*.py"):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def imports(folders: dict[str, Path], root: Path) -> Iterator[Import]:
    known = modules(folders)

    def resolve(name: str) -> str | None:
        parts = name.split(".")
        while parts and ".".join(parts) not in known:
            parts.pop()
        return ".".join(parts) or None

    for module, path in known.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = module.split(".") if is_package else module.split(".")[:-1]
                    package = package[:len(package) - node.level + 1]
                    base = ".".join(package + ([node.module] if node.module else []))
                # "from pkg import mod" imports the module; "from pkg import name", the package.
                names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base
                         for alias in node.names]
            for name in names:
                target = resolve(name)
                if target is not None and target != module:
                    where = f"{path.relative_to(root)}:{node.lineno}"
                    yield Import(module, target, where)


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def upward(edges: list[Import]) -> list[str]:
    found = []
    for edge in edges:
        source, target = layer(edge.source), layer(edge.target)
        if source is None:
            continue  # qvl_agent's own files: the public API may import anything
        if target is None or target > source:
            found.append(f"{edge.where}: {edge.source} imports {edge.target}, above "
                         f"{LAYERS[source]} (layers: {' <- '.join(LAYERS)})")
    return found


def circles(edges: list[Import]) -> list[list[str]]:
    """The strongly connected components of more than one file (Tarjan)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def forbidden_circles(edges: list[Import]) -> list[str]:
    problems = []
    for component in circles(edges):
        if all(any(m == p or m.startswith(p + ".") for p in CIRCLES_ALLOWED_IN) for m in component):
            continue
        inside = set(component)
        lines = [f"  {e.where}: {e.source} -> {e.target}" for e in edges
                 if e.source in inside and e.target in inside]
        problems.append("files that import each other in a circle:\n" + "\n".join(sorted(set(lines))))
    return problems


@pytest.fixture(scope="module")
def edges() -> list[Import]:
    return list(imports(package_folders(ROOT), ROOT))


def test_the_graph_sees_every_package_and_function_level_imports(edges):
    sources = {e.source.split(".")[1] for e in edges if e.source.count(".")}
    assert set(LAYERS) <= sources
    # registry.get_suite imports declarative inside the function (a folder of task files)
    assert any(e.source == "qvl_agent.tasks.registry" and e.target == "qvl_agent.tasks.declarative"
               for e in edges)


def test_no_import_runs_up_the_layers(edges):
    problems = upward(edges)
    assert not problems, "\n".join(problems)


def test_no_circle_of_files_outside_the_virtual_phone(edges):
    problems = forbidden_circles(edges)
    assert not problems, "\n\n".join(problems)


def test_the_checker_finds_an_upward_import_and_a_circle(tmp_path):
    """The checker itself, on a small package laid out as ours is."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.setuptools.package-dir]\nqvl_agent = "qvl_agent"\n"qvl_agent.envs" = "envs"\n'
        '"qvl_agent.agent" = "agent"\n')
    files = {
        "qvl_agent/__init__.py": "import qvl_agent.agent.loop\n",
        "envs/__init__.py": "",
        "envs/base.py": "def f():\n    from qvl_agent.agent import act\n",    # up, in a function
        "envs/a.py": "from qvl_agent.envs import b\n",
        "envs/b.py": "from . import a\n",                                        # a circle
        "envs/sim/__init__.py": "",
        "envs/sim/shell.py": "from qvl_agent.envs.sim import tools\n",
        "envs/sim/tools.py": "from qvl_agent.envs.sim.shell import run\n",      # allowed
        "agent/__init__.py": "",
        "agent/loop.py": "from qvl_agent.envs.base import f\n",
        "agent/act.py": "",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = list(imports(package_folders(tmp_path), tmp_path))
    assert [p.split(":")[0:2] for p in upward(found)] == [["envs/base.py", "2"]]
    problems = forbidden_circles(found)
    assert len(problems) == 1 and "envs/a.py:1" in problems[0] and "envs/b.py:1" in problems[0]
    assert ["qvl_agent.envs.sim.shell", "qvl_agent.envs.sim.tools"] in circles(found)
