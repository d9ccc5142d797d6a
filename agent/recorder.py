"""``RunRecorder``: writes a run directory as the run goes, so a crash loses nothing.

``Recorder`` is what the loop needs of one (``run_episode(..., recorder=...)``); the RPA
player's ``ai:`` steps give it a recorder that numbers their steps on from its own.

The step line is appended and flushed as soon as the step ends; screenshots are encoded to
PNG on a background thread (Pillow releases the GIL while compressing) so the next step does
not wait for them; ``finish`` waits for them and writes the report.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from PIL import Image

from qvl_agent.agent.trajectory import RunMeta, Step, now_iso
from qvl_agent.envs.errors import ConfigError

__all__ = ["Recorder", "RunRecorder"]


class Recorder(Protocol):
    """Where an episode's steps go as they happen."""

    def start(self, meta: RunMeta) -> None:
        """The episode starts (``meta`` as known so far)."""
        ...

    def save_screenshot(self, index: int, image: Image.Image) -> str:
        """Keep the screenshot of step ``index``; returns the name the step records."""
        ...

    def add(self, step: Step) -> None:
        """Step ``step.index`` ended (its action done, or its error recorded)."""
        ...

    def finish(self, meta: RunMeta) -> object:
        """The episode ended (``meta`` says how)."""
        ...


_RUN_FILES = ("meta.json", "trajectory.jsonl", "report.html")


class RunRecorder:
    """Writes one run into ``run_dir``.

    Args:
        replace: what to do when ``run_dir`` already holds a run: False refuses (a user's
            ``--out`` must not mix two runs), True removes it first (an eval instance being
            run again after a killed attempt).
    """

    def __init__(self, run_dir: str | Path, *, replace: bool = False) -> None:
        self.run_dir = Path(run_dir)
        if any((self.run_dir / name).exists() for name in _RUN_FILES):
            if not replace:
                raise ConfigError(f"{self.run_dir} already holds a run; choose another --out")
            shutil.rmtree(self.run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._lines = open(self.run_dir / "trajectory.jsonl", "w", encoding="utf-8")  # noqa: SIM115
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qvl-png")
        self._pending: list[Future[None]] = []

    def start(self, meta: RunMeta) -> None:
        self.write_meta(meta)

    def screenshot_name(self, index: int) -> str:
        return f"step_{index:03d}.png"

    def save_screenshot(self, index: int, image: Image.Image) -> str:
        """Queue the PNG of step ``index``; returns its file name."""
        name = self.screenshot_name(index)
        path = self.run_dir / name
        self._pending.append(self._pool.submit(image.save, path, format="PNG", compress_level=1))
        return name

    def add(self, step: Step) -> None:
        self._lines.write(step.model_dump_json() + "\n")
        self._lines.flush()

    def write_meta(self, meta: RunMeta) -> None:
        tmp = self.run_dir / "meta.json.tmp"
        tmp.write_text(meta.model_dump_json(indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.run_dir / "meta.json")

    def finish(self, meta: RunMeta) -> Path:
        """Wait for the screenshots, write the final meta and the report; return the report."""
        for future in self._pending:
            try:
                future.result()
            except OSError:
                pass  # a full disk loses a picture, not the run
        self._pending.clear()
        self._pool.shutdown(wait=True)
        if not self._lines.closed:
            self._lines.close()
        meta.finished_at = meta.finished_at or now_iso()
        self.write_meta(meta)
        from qvl_agent.agent.report import write_report

        return write_report(self.run_dir)
