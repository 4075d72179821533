"""The end of a control interval as one compiled call.

After SimPy has run to a control tick, :meth:`Simulator.advance
<shadowsim.sim.simulator.Simulator.advance>` accounts the interval's remaining ticks, puts
in force the scaling that lands at the control tick, and closes the interval into a
snapshot. In the common case (the remaining ticks fit one block; no outage; at most one
batch in flight, landing right at the control tick; no spare waiting for room; no
component changed host during the interval) :meth:`FusedIntervalEnd.finish` does the three
in one compiled call, with the parts' own kernels and arguments in the same order, so the
state and the snapshot are the ones the three separate steps give; otherwise it returns
None and the simulator takes the general path.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from shadowsim.cluster_state import ClusterState
from shadowsim.sim.fused.kpis import FusedKpiKernel, _account
from shadowsim.sim.fused.scaler import FusedScaler, _put_in_force
from shadowsim.sim.fused.snapshot import FusedSnapshotBuilder, _close
from shadowsim.sim.jit import njit

if TYPE_CHECKING:
    from shadowsim.sim.simulator import Simulator


@njit
def _finish(*arguments: Any) -> float:  # pragma: no cover - compiled
    """``_account``, then ``_put_in_force`` when landing, then ``_close``.

    ``arguments``: the 19 of ``_account``, a landing flag, the 6 of ``_put_in_force``,
    the 16 of ``_close``. Returns the new allocation cost rate (NaN when nothing landed).
    """
    # literal slices: numba slices a tuple of mixed types only with literal bounds
    _account(*arguments[0:19])
    rate = np.nan
    if arguments[19]:
        rate = _put_in_force(*arguments[20:26])
    _close(*arguments[26:])
    return rate


class FusedIntervalEnd:
    """Finishes a simulator's control intervals in one compiled call when it can.

    Args:
        sim: A simulator built with the compiled parts.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        n_comp = sim.layout.n_components
        self._no_mask = np.zeros((n_comp, 4), dtype=np.bool_)
        self._no_mask.setflags(write=False)
        self._compiled = (  # the parts are fixed when the simulator is built
            isinstance(sim.kernel, FusedKpiKernel)
            and isinstance(sim.scaler, FusedScaler)
            and isinstance(sim.snapshots, FusedSnapshotBuilder)
        )

    def finish(self, target: int) -> ClusterState | None:
        """Account up to tick ``target``, land what is due there, return the snapshot;
        None (having changed nothing) when the general path must do it."""
        sim = self.sim
        n = target - sim.tick
        if not self._compiled or len(sim.outages) or sim.pool_short:
            return None
        # the compiled parts (``_compiled`` says so)
        kernel = cast(FusedKpiKernel, sim.kernel)
        scaler = sim.scaler
        snapshots = cast(FusedSnapshotBuilder, sim.snapshots)
        if not 0 < n <= kernel.max_block:
            return None
        due = scaler.due
        batch = due[0] if due else None
        if batch is not None and (
            len(due) > 1 or batch.boundary != target or len(scaler.inflight) > 1
        ):
            return None
        sums = sim.ledger.interval
        packed = sums.packed
        if packed is None or not snapshots.can_close():
            return None
        sim.refresh_allocation()
        demand, active = sim.feed.block(sim.tick, n)
        account_arguments = kernel.arguments(demand, None, active, sums, packed)
        sums.ticks += n  # the close scales the sums by the interval's ticks
        close_arguments, out, violated = snapshots.closing(packed, kernel)
        if batch is None:
            landing: tuple[Any, ...] = (False, sim.alloc, self._no_mask, False)
        else:
            landing = (True, batch.targets, batch.mask, batch.full)
        rate = _finish(
            *account_arguments,
            *landing,
            sim.alloc,
            sim.reserve,
            sim.cost.per_unit_s,
            *close_arguments,
        )
        sums.stale = False
        sim.record_block(n)
        if batch is not None:
            due.pop(0)
            scaler.inflight.remove(batch)
            sim.allocation_changed(float(rate))
        return snapshots.report(sim.ledger.swap_interval(), out, violated)
