"""A compiled screen in front of the automatic shifting rule: :class:`FusedShiftPlanner`.

Most ticks no host is a predicted bottleneck and
:meth:`~shadowsim.engine.shifting.ShiftPlanner.plan` returns no shift after a dozen numpy
calls. :class:`FusedShiftPlanner` first sums the predicted demand per host in one compiled
pass; when every host is below ``threshold`` times its capacity by a margin far wider than
the rounding in which the two sums may differ (1e-9 relative), there is no shift to plan;
otherwise the reference rule runs unchanged. The shifts are therefore always the reference's.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.actions import ShiftToSpareAction
from shadowsim.cluster_state import ClusterState
from shadowsim.engine.shifting import ShiftPlanner
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.jit import njit

F64 = NDArray[np.float64]
_MARGIN = 1e-9


@njit
def all_clear(  # pragma: no cover - compiled
    forecast: F64,
    lead: int,
    host_apps: NDArray[np.int64],
    host_shares: F64,
    capacity: F64,
    threshold: float,
) -> bool:
    """True when no host's predicted demand comes near ``threshold`` times its capacity.

    The predicted demand of an application is the largest upper-quantile forecast over the
    first ``lead`` leads, spread over its components' hosts by share (as the reference).
    """
    n_hosts = capacity.shape[0]
    upper = forecast.shape[3] - 1
    n_apps = forecast.shape[0]
    peak = np.empty((n_apps, N_RESOURCES))
    for a in range(n_apps):
        for r in range(N_RESOURCES):
            top = forecast[a, 0, r, upper]
            for k in range(1, lead):
                value = forecast[a, k, r, upper]
                if not np.isnan(top) and (value > top or np.isnan(value)):  # np.maximum
                    top = value
            peak[a, r] = top
    per_host = np.zeros((n_hosts, N_RESOURCES))
    for e in range(host_apps.shape[0]):
        h, a = host_apps[e, 0], host_apps[e, 1]
        share = host_shares[e]
        for r in range(N_RESOURCES):
            per_host[h, r] += share * peak[a, r]
    for h in range(n_hosts):
        for r in range(N_RESOURCES):
            bound = threshold * capacity[h, r]
            total = per_host[h, r]
            if not total <= bound - _MARGIN * (abs(bound) + abs(total)):
                return False
    return True


class FusedShiftPlanner(ShiftPlanner):
    """:class:`ShiftPlanner` whose automatic rule skips the clear ticks in one compiled pass."""

    def plan(self, state: ClusterState, forecast: F64) -> list[ShiftToSpareAction]:
        """Shifts ahead of predicted host bottlenecks (as :meth:`ShiftPlanner.plan`)."""
        cfg = self.config
        if not cfg.enabled or cfg.max_shifts_per_tick == 0:
            return []
        capacity = state.host_capacity
        host_apps, host_shares = self.components.host_entries(state.host_of, capacity.shape[0])
        lead = min(cfg.lead_ticks, forecast.shape[1])
        if all_clear(forecast, lead, host_apps, host_shares, capacity, cfg.threshold):
            return []
        return super().plan(state, forecast)
