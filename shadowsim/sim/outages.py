"""Outages: time windows in which components are served at reduced capacity.

A migration degrades its component during pre-copy and stops it during the downtime; a
shift to a spare stops it during the handover; a failed host stops every component on it
until repair. Each such window is an :class:`Outage` with a service factor (1 = full
service, 0 = none). For a block of ticks the service factor of a component in a tick is
``1 - sum over its outages of overlap_fraction * (1 - factor)``, clipped to [0, 1], where
``overlap_fraction`` is the share of the tick the window covers. Outages are few (events,
not VMs), so this loops over outages, vectorised over ticks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(eq=False)
class Outage:
    """One window of reduced service.

    Attributes:
        start_s: Start time, s.
        end_s: End time, s (may be shortened, e.g. when a migration is aborted).
        factor: Service factor during the window, in [0, 1].
        components: Indices of the affected components, or None for a host outage.
        host: The failed host for a host outage (affects whatever runs on it), else None.
    """

    start_s: float
    end_s: float
    factor: float
    components: NDArray[np.intp] | None = None
    host: int | None = None


class Outages:
    """The set of outages not yet fully accounted.

    Args:
        interval_s: Tick length, s.
        n_components: Number of components.
    """

    def __init__(self, interval_s: float, n_components: int) -> None:
        self.interval_s = interval_s
        self.n_components = n_components
        self._items: list[Outage] = []

    def add(self, outage: Outage) -> Outage:
        """Register ``outage`` and return it."""
        self._items.append(outage)
        return outage

    def discard(self, outage: Outage) -> None:
        """Forget ``outage`` (e.g. an aborted migration's remaining windows)."""
        if outage in self._items:
            self._items.remove(outage)

    def __len__(self) -> int:
        return len(self._items)

    def next_change_s(self, after_s: float) -> float:
        """Earliest start or end of an outage strictly after ``after_s`` (inf if none)."""
        times = [t for o in self._items for t in (o.start_s, o.end_s) if t > after_s]
        return min(times, default=float("inf"))

    def service(
        self, start_s: float, n_ticks: int, host_of: NDArray[np.intp]
    ) -> NDArray[np.float64] | None:
        """Service factors ``(T, C)`` for ticks starting at ``start_s``, or None if all 1.

        Also forgets outages that ended before ``start_s``.
        """
        self._items = [o for o in self._items if o.end_s > start_s]
        if not self._items:
            return None
        step = self.interval_s
        tick_start = start_s + step * np.arange(n_ticks)
        end_s = start_s + step * n_ticks
        service: NDArray[np.float64] | None = None
        for outage in self._items:
            if outage.start_s >= end_s or outage.factor >= 1.0:
                continue
            if outage.host is not None:
                comps = np.flatnonzero(host_of == outage.host)
            elif outage.components is not None:
                comps = outage.components
            else:
                continue
            if comps.size == 0:
                continue
            overlap = np.minimum(outage.end_s, tick_start + step) - np.maximum(
                outage.start_s, tick_start
            )
            loss = np.clip(overlap / step, 0.0, 1.0) * (1.0 - outage.factor)
            if service is None:
                service = np.ones((n_ticks, self.n_components))
            service[:, comps] -= loss[:, None]
        if service is not None:
            np.clip(service, 0.0, 1.0, out=service)
        return service
