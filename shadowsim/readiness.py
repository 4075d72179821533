"""Readiness states of a spare VM in the warm-standby pool.

The states map onto hypervisor states (libvirt in brackets): a running idle VM
(``running``) is ready almost at once but costs nearly as much as a busy one; a paused VM
(``paused``) keeps its memory; a hibernated VM (managed save) has its memory on disk; a
stopped VM (``shut off``) must boot.
"""

from __future__ import annotations

from enum import IntEnum


class Readiness(IntEnum):
    """Readiness of a spare VM, from the fastest and dearest to the slowest and cheapest."""

    RUNNING_IDLE = 0
    PAUSED = 1
    HIBERNATED = 2
    STOPPED = 3


READINESS_STATES: tuple[Readiness, ...] = tuple(Readiness)
N_READINESS: int = len(READINESS_STATES)
