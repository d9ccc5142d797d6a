"""Success rates with honest error bars."""

from __future__ import annotations

import math
from collections.abc import Iterable

from pydantic import BaseModel

__all__ = ["wilson_interval", "Rate", "rate"]


def wilson_interval(successes: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (95% by default).

    Unlike the normal approximation it stays inside [0, 1] and is not degenerate at 0 or
    n successes, which is where small benchmark runs usually are.
    """
    if total <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= total:
        raise ValueError(f"successes must be in [0, {total}], got {successes}")
    p = successes / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == total else min(1.0, centre + half)
    return low, high


class Rate(BaseModel):
    successes: int
    total: int
    low: float
    high: float

    @property
    def value(self) -> float:
        return self.successes / self.total if self.total else 0.0

    def __str__(self) -> str:
        if not self.total:
            return "n/a"
        return (f"{100 * self.value:.1f}% ({self.successes}/{self.total}; "
                f"95% CI {100 * self.low:.1f}-{100 * self.high:.1f}%)")


def rate(outcomes: Iterable[bool]) -> Rate:
    values = list(outcomes)
    wins = sum(values)
    low, high = wilson_interval(wins, len(values))
    return Rate(successes=wins, total=len(values), low=low, high=high)
