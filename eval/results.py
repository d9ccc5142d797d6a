"""``results.jsonl``: one line per finished instance, appended and flushed at once.

A run killed mid-write leaves at most one cut line at the end; opening the file again drops
it, so ``--resume`` re-runs that instance and the file keeps exactly one line each.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from qvl_agent.eval.config import InstanceResult

__all__ = ["ResultsFile"]


class ResultsFile:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.results: dict[str, InstanceResult] = {}
        if path.exists():
            self._load()
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def _load(self) -> None:
        good: list[str] = []
        damaged = False
        for line in self.path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            try:
                result = InstanceResult.model_validate(json.loads(line))
            except ValueError:
                damaged = True  # cut off by a kill in the middle of a write
                continue
            if result.instance in self.results:
                damaged = True
                continue
            self.results[result.instance] = result
            good.append(line)
        if damaged or (good and not self.path.read_bytes().endswith(b"\n")):
            tmp = self.path.with_suffix(".jsonl.tmp")
            tmp.write_text("".join(line + "\n" for line in good), encoding="utf-8")
            os.replace(tmp, self.path)

    def __contains__(self, instance: str) -> bool:
        return instance in self.results

    def add(self, result: InstanceResult) -> None:
        if result.instance in self.results:
            raise ValueError(f"{result.instance} already has a result")
        self.results[result.instance] = result
        self._file.write(result.model_dump_json() + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()
