"""Records of components on the move: live migrations and shifts to spare VMs.

A :class:`Move` holds what the simulator needs while a component is in flight: where it
goes, what the destination reserves, its outage windows, and when it ends. The timing
rules are in :mod:`shadowsim.sim.migration` (pre-copy) and :mod:`shadowsim.sim.pool`
(activation + handover).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from shadowsim.sim.outages import Outage


class MoveKind(Enum):
    """What kind of move a component makes."""

    MIGRATION = "migration"
    """Pre-copy live migration to another host."""
    SHIFT = "shift"
    """Activation of a spare VM and handover onto it."""


@dataclass(eq=False)
class Move:
    """A component in flight.

    Attributes:
        kind: Migration or shift.
        component: The moving component.
        source: Host it leaves.
        destination: Host it goes to.
        reserved: ``(4,)`` capacity reserved on the destination meanwhile.
        start_s: Start time, s.
        end_s: Planned end time, s.
        outages: Its service windows (degradation, downtime or handover).
        spare_state: Readiness state of the spare taken (shifts only).
        aborted: True once a host failure cancelled it.
    """

    kind: MoveKind
    component: int
    source: int
    destination: int
    reserved: NDArray[np.float64]
    start_s: float
    end_s: float
    outages: list[Outage] = field(default_factory=list)
    spare_state: int | None = None
    aborted: bool = False


class EventKind(Enum):
    """Kinds of notable simulator events kept in :attr:`Simulator.events`."""

    MIGRATION_START = "migration_start"
    MIGRATION_END = "migration_end"
    SHIFT_START = "shift_start"
    SHIFT_END = "shift_end"
    MOVE_ABORTED = "move_aborted"
    HOST_FAILED = "host_failed"
    HOST_REPAIRED = "host_repaired"
    SPARES_READY = "spares_ready"


@dataclass(frozen=True)
class SimEvent:
    """One notable event.

    Attributes:
        time_s: When it happened, s.
        kind: What happened.
        component: Component concerned, or -1.
        host: Host concerned, or -1.
        count: How many (e.g. spares made ready), or 1.
    """

    time_s: float
    kind: EventKind
    component: int = -1
    host: int = -1
    count: int = 1
