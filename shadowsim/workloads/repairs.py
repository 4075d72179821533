"""Counting every repair made to a trace, so that nothing is changed silently."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray


@dataclass
class RepairReport:
    """Counts of repairs by kind, overall and per application.

    Kinds are short snake_case names such as ``duplicate_timestamps``, ``gap_ticks_filled``,
    ``clipped_above_100_percent``. Every reader and the resampler add to one report, and the
    report travels with the :class:`~shadowsim.workloads.workload.Workload`.
    """

    per_app: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, app_id: str, kind: str, count: int = 1) -> None:
        """Record ``count`` repairs of ``kind`` on ``app_id`` (zero counts are ignored)."""
        if count:
            self.per_app.setdefault(app_id, Counter())[kind] += int(count)

    def add_counts(
        self,
        app_ids: Sequence[str],
        app: NDArray[np.integer],
        counts: NDArray[np.integer] | NDArray[np.bool_],
        kind: str,
    ) -> None:
        """Vectorised :meth:`add`: ``counts[i]`` repairs of ``kind`` on ``app_ids[app[i]]``.

        ``app`` may repeat (one entry per row of a trace); a boolean ``counts`` counts 1 per
        True.
        """
        totals = np.bincount(
            app, weights=np.asarray(counts, dtype=np.float64), minlength=len(app_ids)
        )
        for i in np.flatnonzero(totals):
            self.add(app_ids[int(i)], kind, int(totals[i]))

    def merge(self, other: RepairReport) -> RepairReport:
        """Add every count of ``other`` into this report and return self."""
        for app, counts in other.per_app.items():
            self.per_app.setdefault(app, Counter()).update(counts)
        return self

    @property
    def totals(self) -> dict[str, int]:
        """Repairs by kind, summed over applications."""
        total: Counter[str] = Counter()
        for counts in self.per_app.values():
            total.update(counts)
        return dict(sorted(total.items()))

    def __bool__(self) -> bool:
        return any(self.per_app.values())

    def summary(self) -> str:
        """One line per repair kind, e.g. ``gap_ticks_filled: 120 (in 4 apps)``."""
        if not self:
            return "no repairs"
        lines = []
        for kind, n in self.totals.items():
            apps = sum(1 for c in self.per_app.values() if c.get(kind))
            lines.append(f"{kind}: {n} (in {apps} apps)")
        return "\n".join(lines)
