"""``Findings``: what reading a script found, its problems and the options noted as ignored.

A problem is one line naming the file, the line and the key (``script.yaml:7:
tasks[0].flow[1].aiTapp: unknown step ...``); every problem of a file is collected, not just
the first. An ignored option is said once per option and reason, with the lines it is on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from qvl_agent.agent.rpa.yamldoc import Document, cut

__all__ = ["Findings"]


@dataclass
class Findings:
    """Problems (each one line with its file and line) and options noted as ignored."""

    path: str
    doc: Document
    problems: list[str] = field(default_factory=list)
    ignored: dict[str, list[int]] = field(default_factory=dict)

    def problem(self, at: tuple[Any, ...], message: str) -> None:
        key = "".join(f"[{p}]" if isinstance(p, int) else f".{cut(p, 40)}"
                      for p in at).lstrip(".") or "script"
        self.problems.append(f"{self.path}:{self.doc.line(at)}: {key}: {message}")

    def ignore(self, at: tuple[Any, ...], what: str, reason: str) -> None:
        self.ignored.setdefault(f"{what} ({reason})", []).append(self.doc.line(at))

    def notes(self) -> list[str]:
        """``ignored: ...`` lines, one per option and reason, with the lines it appears on."""
        out = []
        for what, lines in self.ignored.items():
            where = ", ".join(str(n) for n in sorted(set(lines)))
            out.append(f"ignored: {what}; {self.path} line{'s' if len(set(lines)) > 1 else ''} {where}")
        return out
