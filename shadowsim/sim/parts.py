"""Which implementation of each per-tick part the simulator builds: numpy or compiled.

The numpy classes are the reference; their ``Fused*`` twins (:mod:`shadowsim.sim.fused`)
compute the same figures with numba kernels (see :mod:`shadowsim.sim.jit` for how exactly
they agree). :func:`sim_parts` picks one set; the compiled modules, and numba with them,
are imported only when asked for, so ``import shadowsim`` stays light.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterState
from shadowsim.sim.components import ComponentLayout
from shadowsim.sim.contention import ContentionResolver
from shadowsim.sim.cost import CostModel
from shadowsim.sim.demand import DemandFeed
from shadowsim.sim.kpis import KpiKernel, QueueConfig
from shadowsim.sim.ledger import IntervalSums
from shadowsim.sim.placement import Packer, first_fit_decreasing
from shadowsim.sim.scaler import Scaler
from shadowsim.sim.scaling import ScalePlanner
from shadowsim.sim.snapshot import SnapshotBuilder

if TYPE_CHECKING:
    from shadowsim.sim.simulator import Simulator


class TickAccounting(Protocol):
    """What the simulator needs of a KPI kernel (:class:`KpiKernel` or its compiled twin)."""

    max_block: int

    @property
    def contention_possible(self) -> bool:
        """True when some host's summed allocation exceeds its capacity."""

    def set_allocation(self, allocation: NDArray[np.float64], *, check_contention: bool) -> None:
        """Use ``(C, 4)`` ``allocation`` from now on."""

    def account(
        self,
        demand: NDArray[np.float64],
        service: NDArray[np.float64] | None,
        active: NDArray[np.bool_] | None,
        sums: IntervalSums,
    ) -> None:
        """Account ``(T, C, 4)`` ``demand`` into ``sums``."""


KernelFactory = Callable[
    [
        QueueConfig,
        ComponentLayout,
        float,
        NDArray[np.float64],
        NDArray[np.float64],
        ContentionResolver,
        int,
    ],
    TickAccounting,
]
"""Builds a KPI kernel from the arguments of :class:`KpiKernel`."""


class IntervalEnd(Protocol):
    """Finishes control intervals in one go when it can (see
    :class:`~shadowsim.sim.fused.interval_end.FusedIntervalEnd`)."""

    def finish(self, target: int) -> ClusterState | None:
        """The snapshot at control tick ``target``, or None to take the general path."""


@dataclass(frozen=True)
class SimParts:
    """The classes (and the packing function) of the simulator's per-tick parts.

    Attributes:
        kernel: Accounts blocks of ticks (KPIs, contention).
        feed: Hands out demand blocks.
        planner: Validates and clamps scale targets.
        scaler: Reserves and lands scaling.
        snapshots: Closes intervals into snapshots.
        cost: Prices allocations, the pool and moves.
        pack: Initial first-fit decreasing placement.
        interval_end: Builds the one-call end of a control interval, or None.
    """

    kernel: KernelFactory = KpiKernel
    feed: type[DemandFeed] = DemandFeed
    planner: type[ScalePlanner] = ScalePlanner
    scaler: type[Scaler] = Scaler
    snapshots: type[SnapshotBuilder] = SnapshotBuilder
    cost: type[CostModel] = CostModel
    pack: Packer = first_fit_decreasing
    interval_end: Callable[[Simulator], IntervalEnd] | None = None


def sim_parts(jit: bool) -> SimParts:
    """The compiled parts when ``jit`` (numba must be installed), else the numpy reference."""
    if not jit:
        return SimParts()
    from shadowsim.sim.fused.cost import FusedCostModel
    from shadowsim.sim.fused.demand import FusedDemandFeed
    from shadowsim.sim.fused.interval_end import FusedIntervalEnd
    from shadowsim.sim.fused.kpis import FusedKpiKernel
    from shadowsim.sim.fused.placement import first_fit_decreasing as fused_pack
    from shadowsim.sim.fused.scaler import FusedScaler
    from shadowsim.sim.fused.scaling import FusedScalePlanner
    from shadowsim.sim.fused.snapshot import FusedSnapshotBuilder

    return SimParts(
        kernel=FusedKpiKernel,
        feed=FusedDemandFeed,
        planner=FusedScalePlanner,
        scaler=FusedScaler,
        snapshots=FusedSnapshotBuilder,
        cost=FusedCostModel,
        pack=fused_pack,
        interval_end=FusedIntervalEnd,
    )
