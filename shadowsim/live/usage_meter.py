"""Turning cumulative libvirt counters into usage rates over a control interval.

Per component, between two readings ``dt`` seconds of real time apart (``time.monotonic``
at each reading):

* CPU, vCPU = delta CPU time (ns) / (1e9 * dt): one fully busy vCPU gives 1.0;
* memory, MiB = the memory in use at the later reading (a gauge);
* disk, KB/s = delta bytes read + written / (1024 * dt);
* network, KB/s = delta bytes received + transmitted / (1024 * dt).

A domain that is not running uses nothing. When the counters cannot be compared (the
domain restarted, a component moved to another domain, a counter went backwards, or there
is no earlier reading) the interval's rates of that component are unknown: they are
reported as 0 and the gap is listed in :attr:`UsageMeter.gaps` (never silently).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.live.domain_reading import BYTES_PER_KB, DomainReading
from shadowsim.resources import N_RESOURCES, Resource

_NS_PER_S = 1e9


@dataclass(frozen=True)
class _Counters:
    uuid: str
    domain_id: int
    running: bool
    cpu_ns: int
    disk_bytes: int
    net_bytes: int
    rx_bytes: int
    at_s: float


class UsageMeter:
    """Rates per component from successive readings.

    Args:
        n_components: Number of components ``C``.
    """

    def __init__(self, n_components: int) -> None:
        self.n_components = n_components
        self._last: list[_Counters | None] = [None] * n_components
        self.gaps: list[str] = []
        self.rx_share = np.full(n_components, 0.5)
        """``(C,)`` share of each component's network bytes that were received, over the
        last measured interval (0.5 until traffic is seen)."""

    def reset(self, component: int) -> None:
        """Forget the last reading of ``component`` (e.g. after it moved to another domain)."""
        self._last[component] = None

    def baseline(self, component: int, reading: DomainReading) -> None:
        """Record ``reading`` as the start of the next interval without measuring."""
        self._last[component] = self._counters(reading)

    @staticmethod
    def _counters(r: DomainReading) -> _Counters:
        return _Counters(
            r.uuid,
            r.domain_id,
            r.running,
            r.cpu_time_ns,
            r.disk_bytes,
            r.net_bytes,
            r.net_rx_bytes,
            r.at_s,
        )

    def measure(self, readings: list[DomainReading]) -> NDArray[np.float64]:
        """``(C, 4)`` usage since the previous readings; the new ones become the baseline.

        Components whose rates are unknown get 0 and a line in :attr:`gaps` (which is
        cleared at each call).
        """
        self.gaps = []
        usage = np.zeros((self.n_components, N_RESOURCES))
        for c, reading in enumerate(readings):
            new = self._counters(reading)
            old = self._last[c]
            self._last[c] = new
            if not reading.running:
                continue
            usage[c, Resource.MEMORY] = reading.memory_used_mib
            why = self._incomparable(old, new)
            if why or old is None:
                self.gaps.append(
                    f"component {c} ({reading.name}): {why}; its CPU, disk and network usage "
                    "of this interval is unknown and reported as 0"
                )
                continue
            dt = new.at_s - old.at_s
            usage[c, Resource.CPU] = (new.cpu_ns - old.cpu_ns) / (_NS_PER_S * dt)
            usage[c, Resource.DISK] = (new.disk_bytes - old.disk_bytes) / (BYTES_PER_KB * dt)
            net = new.net_bytes - old.net_bytes
            usage[c, Resource.NETWORK] = net / (BYTES_PER_KB * dt)
            if net > 0:
                self.rx_share[c] = (new.rx_bytes - old.rx_bytes) / net
        return usage

    @staticmethod
    def _incomparable(old: _Counters | None, new: _Counters) -> str:
        """Why two readings cannot be compared ("" when they can)."""
        if old is None:
            return "no earlier reading (first interval, or the component just moved)"
        if old.uuid != new.uuid or old.domain_id != new.domain_id or not old.running:
            return "the domain (re)started during the interval, so its counters restarted"
        if new.at_s <= old.at_s:
            return "no time passed between the readings"
        if (
            new.cpu_ns < old.cpu_ns
            or new.disk_bytes < old.disk_bytes
            or new.net_bytes < old.net_bytes
        ):
            return "a counter went backwards (device hot-unplugged or counters reset)"
        return ""
