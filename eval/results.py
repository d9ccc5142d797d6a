"""``results.jsonl``: one line per finished instance, appended and flushed at once.

A run killed mid-write leaves at most one cut line at the end; opening the file again drops
it, so ``--resume`` re-runs that instance and the file keeps exactly one line each
(``eval.jsonl.JsonlStore``).
"""

from __future__ import annotations

import json
from pathlib import Path

from qvl_agent.eval.config import InstanceResult
from qvl_agent.eval.jsonl import JsonlStore

__all__ = ["ResultsFile"]


class ResultsFile(JsonlStore[InstanceResult]):
    """An eval run's results by instance id (``rows``)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, key=lambda result: result.instance,
                         load=lambda line: InstanceResult.model_validate(json.loads(line)),
                         dump=lambda result: result.model_dump_json())
