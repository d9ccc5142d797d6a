"""Oracle solvers for MiniWoB++ tasks: read the DOM, act only through screen Actions.

``ORACLES`` maps a task name to its oracle, ``fn(env, task) -> Iterator[Action]``. The
oracles live in topic modules (clicking, forms, widgets, apps) that register themselves on
import; the registry and the helpers they share are in ``oracles_kit``.
"""

from __future__ import annotations

from qvl_agent.tasks.miniwob import (  # noqa: F401 - they register their oracles
    oracles_apps, oracles_click, oracles_forms, oracles_widgets,
)
from qvl_agent.tasks.miniwob.oracles_kit import ORACLES, Oracle

__all__ = ["ORACLES", "Oracle"]
