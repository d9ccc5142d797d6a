"""``RunRecorder``: writes a run directory as the run goes, so a crash loses nothing.

``Recorder`` is what the loop needs of one (``run_episode(..., recorder=...)``); the RPA
player's ``ai:`` steps give it a recorder that numbers their steps on from its own.

The step line is appended as soon as the step ends; screenshots are encoded to PNG on a
background thread (Pillow releases the GIL while compressing) so the model's thinking does
not wait for them; a step's line is written once its screenshot is, and ``finish`` writes
the final meta.json and the report.

A full disk (or a folder that cannot be written) raises ``StorageError`` at the first file
that cannot be written, and every file already written stays whole (``agent.storage``):
screenshots and meta.json are written beside and renamed, a trajectory line that does not
fit is taken back. Space set aside when the run starts is given back then, so that
``finish`` can still say in meta.json how the run ended.

Desktop runs and OSWorld-format tasks also get OSWorld's ``traj.jsonl``, written by
``finish`` (``agent.osworld_log``).
"""

from __future__ import annotations

import io
import re
import shutil
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Protocol

from PIL import Image

from qvl_agent.agent.osworld_log import write_traj
from qvl_agent.agent.storage import LineFile, Reserve, write_atomic
from qvl_agent.agent.trajectory import RunMeta, Step, now_iso
from qvl_agent.envs.errors import ConfigError, StorageError

__all__ = ["Recorder", "RunRecorder", "default_run_dir"]


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


def default_run_dir(goal: str, root: Path = Path("runs")) -> Path:
    """``runs/<time>-<goal>``: where a run goes when no folder is given."""
    # Letters of every script stay (a goal in French or Chinese keeps its words); the rest,
    # path separators included, becomes "-".
    slug = re.sub(r"[\W_]+", "-", goal.lower()).strip("-")[:40].strip("-") or "run"
    return root / f"{datetime.now().strftime('%Y%m%d-%H%M%S')}-{slug}"


class RunRecorder:
    """Writes one run into ``run_dir``.

    Args:
        replace: what to do when ``run_dir`` already holds a run: False refuses (a user's
            ``--out`` must not mix two runs), True removes it first (an eval instance being
            run again after a killed attempt).
        osworld: also write OSWorld's ``traj.jsonl`` when the run finishes.
    """

    def __init__(self, run_dir: str | Path, *, replace: bool = False, osworld: bool = False) -> None:
        self.run_dir = Path(run_dir)
        if any((self.run_dir / name).exists() for name in _RUN_FILES):
            if not replace:
                raise ConfigError(f"{self.run_dir} already holds a run; choose another --out")
            shutil.rmtree(self.run_dir)
        try:
            self.run_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            from qvl_agent.agent.storage import storage_error

            raise storage_error(self.run_dir, exc) from None
        self._reserve = Reserve(self.run_dir)
        self._lines = LineFile(self.run_dir / "trajectory.jsonl", truncate=True)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qvl-png")
        self._pending: list[Future[None]] = []
        self.report_error: StorageError | None = None  # why finish wrote no report
        self._osworld: list[Step] | None = [] if osworld else None

    def start(self, meta: RunMeta) -> None:
        self.write_meta(meta)

    def screenshot_name(self, index: int) -> str:
        return f"step_{index:03d}.png"

    def save_screenshot(self, index: int, image: Image.Image) -> str:
        """Queue the PNG of step ``index``; returns its file name."""
        name = self.screenshot_name(index)
        self._pending.append(self._pool.submit(_save_png, self.run_dir / name, image))
        return name

    def add(self, step: Step) -> None:
        """Append the step's line, once the screenshots before it are written.

        Raises:
            StorageError: a screenshot or the line could not be written.
        """
        self._settle()
        self._lines.write_line(step.model_dump_json())
        if self._osworld is not None:
            self._osworld.append(step)

    def write_meta(self, meta: RunMeta) -> None:
        write_atomic(self.run_dir / "meta.json", meta.model_dump_json(indent=2) + "\n")

    def finish(self, meta: RunMeta) -> Path | None:
        """Wait for the screenshots, write the final meta and the report; return the report
        (None when there was no room for it: ``report_error`` says why).

        Raises:
            StorageError: even the final meta.json could not be written, or OSWorld's
                ``traj.jsonl`` (written last) did not fit.
        """
        self._reserve.release()  # room for the last files, whatever happened
        try:
            self._settle()
        except StorageError:
            pass  # the step that needed it has said so already (or meta does below)
        self._pool.shutdown(wait=True)
        if not self._lines.closed:
            self._lines.close()
        meta.finished_at = meta.finished_at or now_iso()
        self.write_meta(meta)
        from qvl_agent.agent.report import write_report

        try:
            report: Path | None = write_report(self.run_dir)
        except StorageError as exc:
            self.report_error = exc
            report = None
        if self._osworld is not None:  # after ours: what room is left goes to the report first
            write_traj(self.run_dir, self._osworld)
        return report

    def _settle(self) -> None:
        """Wait for the queued screenshots; the first that could not be written raises."""
        pending, self._pending = self._pending, []
        failed: BaseException | None = None
        for future in pending:
            try:
                future.result()
            except BaseException as exc:  # noqa: BLE001 - raised below, after all are done
                failed = failed or exc
        if failed is not None:
            raise failed


def _save_png(path: Path, image: Image.Image) -> None:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    write_atomic(path, buffer.getvalue())
