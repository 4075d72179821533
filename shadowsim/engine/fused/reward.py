"""The reward's per-step conversions in one compiled call: :class:`FusedReward`.

:class:`FusedReward` computes the same terms as :class:`~shadowsim.engine.reward.Reward`
(the SLA term is the same ``float64`` dot of the application weights with the 0/1
violation flags); one numba call writes the flags and counts the violations, overall and
of HIGH-priority applications, which the engine's ``info`` reports (instead of a cast and
two counts in numpy).

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.engine.reward import Reward, RewardConfig
from shadowsim.sim.jit import njit

F64 = NDArray[np.float64]


@njit
def _flags(  # pragma: no cover - compiled
    violated: NDArray[np.bool_], high: NDArray[np.bool_], out: F64
) -> tuple[int, int]:
    """``out = violated`` as 0.0/1.0; returns the violations and those of ``high`` apps."""
    n = n_high = 0
    for a in range(violated.shape[0]):
        if violated[a]:
            out[a] = 1.0
            n += 1
            if high[a]:
                n_high += 1
        else:
            out[a] = 0.0
    return n, n_high


class FusedReward(Reward):
    """:class:`Reward` whose flag conversion and violation counts are one compiled call.

    Args:
        spec: The cluster's static description (priorities).
        config: The weights.
    """

    def __init__(self, spec: ClusterSpec, config: RewardConfig | None = None) -> None:
        super().__init__(spec, config)
        self._counted: object = None
        self._counts = (0, 0)

    def _copy_flags(self, state: ClusterState) -> None:
        """Write the 0/1 flags of ``state`` (and count its violations)."""
        violated = state.kpis.sla_violated
        if violated.shape == self._violated.shape:
            self._counts = _flags(violated, self._high, self._violated)
            self._counted = state
        else:
            super()._copy_flags(state)  # the reference's broadcasting (and its errors)

    def violations(self, state: ClusterState) -> tuple[int, int]:
        """As :meth:`Reward.violations` (counted with the flags of the last terms)."""
        if state is self._counted:
            return self._counts
        return super().violations(state)
