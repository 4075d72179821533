"""The scaler (:mod:`shadowsim.sim.scaler`) with its landing compiled.

Putting a landing batch in force (allocations, reservations, and the new allocation cost
rate) is one compiled pass; the allocations and reservations are the same copies.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.sim.fused.cost import allocation_rate
from shadowsim.sim.jit import njit
from shadowsim.sim.scaler import ScaleBatch, Scaler


@njit
def _put_in_force(  # pragma: no cover - compiled
    targets: NDArray[np.float64],
    mask: NDArray[np.bool_],
    full: bool,
    alloc: NDArray[np.float64],
    reserve: NDArray[np.float64],
    per_unit_s: NDArray[np.float64],
) -> float:
    """``alloc = targets`` (where ``mask``), then ``reserve = alloc``; returns the new
    allocation's cost rate, cu/s (:func:`shadowsim.sim.fused.cost.allocation_rate`)."""
    n = alloc.size
    flat_targets, flat_alloc = targets.reshape(n), alloc.reshape(n)
    if full:
        flat_alloc[:] = flat_targets
    else:
        flat_mask = mask.reshape(n)
        for i in range(n):
            if flat_mask[i]:
                flat_alloc[i] = flat_targets[i]
    reserve.reshape(n)[:] = flat_alloc
    return allocation_rate(alloc, per_unit_s)


class FusedScaler(Scaler):
    """A :class:`~shadowsim.sim.scaler.Scaler` whose landing is compiled (and computes the
    new allocation cost rate on the way)."""

    def put_in_force(self, batch: ScaleBatch) -> float | None:
        """See :meth:`Scaler.put_in_force <shadowsim.sim.scaler.Scaler.put_in_force>`."""
        sim = self.sim
        return float(
            _put_in_force(
                batch.targets, batch.mask, batch.full, sim.alloc, sim.reserve, sim.cost.per_unit_s
            )
        )
