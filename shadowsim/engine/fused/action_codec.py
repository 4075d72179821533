"""Decoding actions in one compiled pass: :class:`FusedActionCodec`.

:class:`FusedActionCodec` has the interface of
:class:`~shadowsim.engine.action_codec.ActionCodec`; its :meth:`~FusedActionCodec.decode`
checks the action against the space and computes the targets (DISCRETE: scale factor times
the pending allocation; CONTINUOUS: value times the reference size) in one numba call, with
the same float64 products as the reference, so the same :class:`Decision`. An action outside
the space raises the reference's :class:`~shadowsim.errors.ActionError` (the reference check
runs again to word it).

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterState
from shadowsim.engine.action_codec import ActionCodec, Decision
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.jit import njit

F64 = NDArray[np.float64]


@njit
def discrete_targets(  # pragma: no cover - compiled
    action: NDArray[np.integer],
    nvec: NDArray[np.int64],
    factors: F64,
    pending: F64,
    targets: F64,
) -> bool:
    """Targets of a DISCRETE action; False when an entry is outside the space."""
    for j in range(action.shape[0]):
        if action[j] < 0 or action[j] >= nvec[j]:
            return False
    n_apps = targets.shape[0]
    for a in range(n_apps):
        for r in range(N_RESOURCES):
            targets[a, r] = factors[action[a * N_RESOURCES + r]] * pending[a, r]
    return True


@njit
def continuous_targets(  # pragma: no cover - compiled
    action: NDArray[np.floating],
    low: NDArray[np.generic],
    high: NDArray[np.generic],
    ref: F64,
    targets: F64,
) -> bool:
    """Targets of a CONTINUOUS action; False when an entry is not finite or out of bounds."""
    for j in range(action.shape[0]):
        v = action[j]
        if not (np.isfinite(v) and v >= low[j] and v <= high[j]):
            return False
    n_apps = targets.shape[0]
    for a in range(n_apps):
        for r in range(N_RESOURCES):
            targets[a, r] = np.float64(action[a * N_RESOURCES + r]) * ref[a, r]
    return True


class FusedActionCodec(ActionCodec):
    """:class:`ActionCodec` whose :meth:`decode` is one compiled call (same decisions)."""

    def decode(self, action: object, state: ClusterState, ref: F64) -> Decision:
        """The :class:`Decision` an action asks for in ``state`` (as :meth:`ActionCodec.decode`).

        Raises:
            ActionError: Wrong shape, dtype or a value outside :attr:`space`.
        """
        arr = np.asarray(action)
        kind = arr.dtype.kind
        usable = arr.shape == (self.size,) and kind in ("iu" if self._discrete else "f")
        targets = np.empty((self.n_apps, N_RESOURCES))
        if usable and self._discrete:
            _, pending = self.components.app_allocation(state)
            usable = discrete_targets(arr, self._nvec, self._factors, pending, targets)
        elif usable:
            usable = continuous_targets(arr, self._low, self._high, ref, targets)
        if not usable:
            return super().decode(action, state, ref)  # raises the reference's error
        pool_share, shift = self.extras(arr)
        return Decision(targets=targets, pool_share=pool_share, shift_mask=shift)

    def extras(self, arr: NDArray[np.generic]) -> tuple[float | None, NDArray[np.bool_] | None]:
        """The pool share and shift mask of a valid action array (None where AUTO)."""
        pool_share: float | None = None
        shift: NDArray[np.bool_] | None = None
        if self.has_pool:
            n = self.n_scale
            if self._discrete:
                pool_share = float(self._levels[arr[n]])
            else:
                pool_share = float(np.float64(arr[n]))
        if self.has_shift:
            tail = arr[self.size - self.n_apps :]
            shift = tail == 1 if self._discrete else tail.astype(np.float64) > 0.5
        return pool_share, shift

    @property
    def discrete_constants(self) -> tuple[NDArray[np.int64], F64]:
        """The space's ``nvec`` and the scale factors (DISCRETE; for fused callers of
        :func:`discrete_targets`)."""
        return self._nvec, self._factors

    @property
    def continuous_bounds(self) -> tuple[NDArray[np.generic], NDArray[np.generic]]:
        """The space's ``low`` and ``high`` (CONTINUOUS; for fused callers of
        :func:`continuous_targets`)."""
        return self._low, self._high

    @property
    def discrete(self) -> bool:
        """True for :attr:`ActionMode.DISCRETE` actions."""
        return self._discrete
