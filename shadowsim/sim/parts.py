"""Which implementation of each per-tick part the simulator builds: numpy or compiled.

The numpy classes are the reference; their ``Fused*`` twins (:mod:`shadowsim.sim.fused`)
compute the same figures with numba kernels (see :mod:`shadowsim.sim.jit` for how exactly
they agree). :func:`sim_parts` picks one set; the compiled modules, and numba with them,
are imported only when asked for, so ``import shadowsim`` stays light.
"""

from __future__ import annotations

from dataclasses import dataclass

from shadowsim.sim.cost import CostModel
from shadowsim.sim.demand import DemandFeed
from shadowsim.sim.kpis import KernelFactory, KpiKernel
from shadowsim.sim.placement import Packer, first_fit_decreasing
from shadowsim.sim.scaler import Scaler
from shadowsim.sim.scaling import ScalePlanner
from shadowsim.sim.snapshot import SnapshotBuilder


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
    """

    kernel: KernelFactory = KpiKernel
    feed: type[DemandFeed] = DemandFeed
    planner: type[ScalePlanner] = ScalePlanner
    scaler: type[Scaler] = Scaler
    snapshots: type[SnapshotBuilder] = SnapshotBuilder
    cost: type[CostModel] = CostModel
    pack: Packer = first_fit_decreasing


def sim_parts(jit: bool) -> SimParts:
    """The compiled parts when ``jit`` (numba must be installed), else the numpy reference."""
    if not jit:
        return SimParts()
    from shadowsim.sim.fused.cost import FusedCostModel
    from shadowsim.sim.fused.demand import FusedDemandFeed
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
    )
