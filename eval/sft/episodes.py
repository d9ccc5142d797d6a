"""Finding the episodes to learn from: run directories, folders of them, eval runs.

An eval run (a folder with ``results.jsonl``) says which instances its task's checker
scored as solved; a plain run directory only knows how its agent ended (``meta.status``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qvl_agent.agent.trajectory import Trajectory, load_run
from qvl_agent.envs.errors import ConfigError
from qvl_agent.eval.config import InstanceResult

__all__ = ["Episode", "find_episodes"]


@dataclass
class Episode:
    """One recorded episode and what is known of its outcome."""

    run_dir: Path
    trajectory: Trajectory
    task: str = ""
    success: bool = False
    verified: bool = False  # success was read from a task checker, not the agent's own word


def find_episodes(paths: list[Path]) -> list[Episode]:
    """Episodes under ``paths``: eval runs, run directories, or folders holding either.

    Raises ``ConfigError`` for a path that is missing or holds no run at all.
    """
    episodes: list[Episode] = []
    for path in paths:
        found = _episodes_in(Path(path))
        if not found:
            raise ConfigError(f"{path}: no run found (a run directory has meta.json; an eval "
                              "run has results.jsonl); give the --out of qvl-agent run or eval")
        episodes.extend(found)
    seen: set[Path] = set()
    return [e for e in episodes if not (e.run_dir.resolve() in seen or seen.add(e.run_dir.resolve()))]


def _episodes_in(path: Path) -> list[Episode]:
    if not path.exists():
        raise ConfigError(f"{path}: no such file or folder")
    if (path / "results.jsonl").is_file():
        return _eval_run(path)
    if (path / "meta.json").is_file():
        trajectory = load_run(path)
        return [Episode(path, trajectory, task=str(trajectory.meta.options.get("task") or trajectory.meta.goal),
                        success=trajectory.succeeded)]
    found: list[Episode] = []
    for child in sorted(p for p in path.iterdir() if p.is_dir()):
        found.extend(_episodes_in(child))
    return found


def _eval_run(out: Path) -> list[Episode]:
    episodes = []
    for number, line in enumerate((out / "results.jsonl").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = InstanceResult.model_validate_json(line)
        except ValueError:
            continue  # a line cut by a kill; eval --resume reruns that instance
        if row.report is None:
            continue  # crashed before its run directory was written
        run_dir = out / Path(row.report).parent
        if not (run_dir / "meta.json").is_file():
            raise ConfigError(f"{out / 'results.jsonl'} line {number}: {row.instance}'s run "
                              f"directory {run_dir} is missing; was the run moved in parts?")
        episodes.append(Episode(run_dir, load_run(run_dir), task=row.task,
                                success=row.outcome == "success", verified=True))
    return episodes
