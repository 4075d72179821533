"""Memory targets on their way: what ``pending_allocation`` shows for memory on libvirt.

A new memory allocation is a balloon target (``virDomainSetMemoryFlags``): libvirt and
QEMU accept it at once, and the guest's balloon driver then gives memory back or takes it
in its own time (a Linux guest within about a second; a guest without the driver never).
``virDomainGetInfo`` reports the memory the guest has now, so until the balloon gets there
the allocation in force is the old one and the target is *pending*, as a scaling in flight
is in the simulator. :class:`BalloonTargets` keeps each component's target until a reading
shows it reached (within :data:`REACHED_MIB` or :data:`REACHED_SHARE`), the domain
restarted (a new domain id: it boots with its configured memory) or the component moved to
another domain. vCPU, disk and network changes land when the libvirt call returns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.live.domain_reading import DomainReading
from shadowsim.resources import Resource

REACHED_MIB = 1.0
"""A balloon within this many MiB of its target has reached it..."""
REACHED_SHARE = 0.01
"""...or within this share of the target, whichever is larger."""


@dataclass(frozen=True)
class _Target:
    mib: float
    uuid: str
    domain_id: int


class BalloonTargets:
    """The memory targets set per component and not reached yet."""

    def __init__(self) -> None:
        self._targets: dict[int, _Target] = {}

    def __len__(self) -> int:
        return len(self._targets)

    def set(self, component: int, target_mib: float, reading: DomainReading) -> None:
        """Component ``component``'s memory target is now ``target_mib`` MiB, set on the
        domain ``reading`` is of (its UUID and id tell a restart or a move later)."""
        self._targets[component] = _Target(float(target_mib), reading.uuid, reading.domain_id)

    def forget(self, component: int) -> None:
        """Drop the component's target (it now runs on another domain)."""
        self._targets.pop(component, None)

    def target(self, component: int) -> float | None:
        """The component's pending memory target, MiB, or None."""
        found = self._targets.get(component)
        return None if found is None else found.mib

    def pending(
        self, allocation: NDArray[np.float64], readings: list[DomainReading]
    ) -> NDArray[np.float64]:
        """``(C, 4)`` allocation once the balloons reach their targets: ``allocation`` (read
        from ``readings``) with each pending memory target in place. Targets that the
        readings show reached, or whose domain restarted or changed, are dropped."""
        pending = allocation.copy()
        for c, target in list(self._targets.items()):
            reading = readings[c]
            have = allocation[c, Resource.MEMORY]
            reached = abs(have - target.mib) <= max(REACHED_MIB, REACHED_SHARE * target.mib)
            same = reading.uuid == target.uuid and reading.domain_id == target.domain_id
            if reached or not same:
                del self._targets[c]
            else:
                pending[c, Resource.MEMORY] = target.mib
        return pending
