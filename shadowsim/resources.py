"""The four resources every workload, VM and host is measured in.

Units are fixed across the whole project:

========  ===========  ==========================================
resource  unit         meaning
========  ===========  ==========================================
CPU       vCPU         virtual cores in use (1.0 = one busy core)
MEMORY    MiB          resident memory
DISK      KB/s         disk read + write throughput
NETWORK   KB/s         network received + transmitted throughput
========  ===========  ==========================================
"""

from __future__ import annotations

from enum import IntEnum


class Resource(IntEnum):
    """Index of a resource along the last axis of every demand/allocation array."""

    CPU = 0
    MEMORY = 1
    DISK = 2
    NETWORK = 3

    @property
    def unit(self) -> str:
        """The unit this resource is measured in."""
        return _UNITS[self]

    @property
    def compressible(self) -> bool:
        """True when demand beyond allocation is throttled (CPU, I/O), not failing (memory)."""
        return self is not Resource.MEMORY


_UNITS = {
    Resource.CPU: "vCPU",
    Resource.MEMORY: "MiB",
    Resource.DISK: "KB/s",
    Resource.NETWORK: "KB/s",
}

RESOURCES: tuple[Resource, ...] = tuple(Resource)
N_RESOURCES: int = len(RESOURCES)
