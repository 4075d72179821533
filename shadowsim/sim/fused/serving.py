"""Serving demand, compiled: contention shares per host and class, what a component gets.

Helpers of the compiled KPI kernel (:mod:`shadowsim.sim.fused.kpis`), with the reference's
arithmetic (:mod:`shadowsim.sim.contention`, :mod:`shadowsim.sim.kpis`): the wanted usage
summed per host and priority class in component order and the share each class is served
when a host is contended; the throttled and dropped demand of one component.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.sim.jit import njit

TINY = 1e-12  # as in shadowsim.sim.kpis
_CAPACITY_TOL = 1.0 + 1e-12  # as in shadowsim.sim.contention
# params layout: request_cpu_s, max_utilisation, timeout_s, 1 / request_cpu_s,
# buffer ticks per resource (4), half a tick per resource (4; 0 for memory)
BUFFER = 4
HALF = 8


@njit
def contention_shares(  # pragma: no cover - compiled
    t: int,
    demand: NDArray[np.float64],
    alloc: NDArray[np.float64],
    service: NDArray[np.float64],
    topology: NDArray[np.intp],
    host_start: NDArray[np.intp],
    capacity: NDArray[np.float64],
    bound: NDArray[np.float64],
    work: NDArray[np.float64],
) -> bool:
    """Per host, resource and class: wanted usage, and the served share when contended.

    ``bound`` ``(H, 4)``, when not empty, is at least each host's summed allocation (its
    reservations): when no host's bound exceeds its capacity, no host can be contended
    (a component never wants more than its allocation) and nothing is summed.

    ``topology`` rows are each component's host, class and the components sorted by host
    (stably, so each host's usage is summed in component order, as ``np.bincount`` does);
    host ``h``'s components are ``topology[2, host_start[h] : host_start[h + 1]]``.
    ``work[h, r, 0]`` is the host total, ``work[h, r, 1 + p]`` the total of class ``p``,
    ``work[h, r, 1 + P + p]`` the share class ``p`` is served. Returns True when some host
    is contended in tick ``t``.
    """
    n_cls = (work.shape[2] - 1) // 2
    has_service = service.shape[0] > 0
    if bound.shape[0] > 0:
        possible = False
        for h in range(capacity.shape[0]):
            for r in range(4):
                possible |= bound[h, r] > capacity[h, r] * _CAPACITY_TOL
        if not possible:
            return False
    contended = False
    for h in range(capacity.shape[0]):
        work[h, :, 1 : 1 + n_cls] = 0.0
        w0 = w1 = w2 = w3 = 0.0
        for i in range(host_start[h], host_start[h + 1]):
            c = topology[2, i]
            cls = 1 + topology[1, c]
            sv = service[t, c] if has_service else 1.0
            w = min(demand[t, c, 0], alloc[c, 0] * sv if has_service else alloc[c, 0])
            w0 += w
            work[h, 0, cls] += w
            w = min(demand[t, c, 1], alloc[c, 1])
            w1 += w
            work[h, 1, cls] += w
            w = min(demand[t, c, 2], alloc[c, 2] * sv if has_service else alloc[c, 2])
            w2 += w
            work[h, 2, cls] += w
            w = min(demand[t, c, 3], alloc[c, 3] * sv if has_service else alloc[c, 3])
            w3 += w
            work[h, 3, cls] += w
        work[h, 0, 0], work[h, 1, 0], work[h, 2, 0], work[h, 3, 0] = w0, w1, w2, w3
        for r in range(4):
            contended |= work[h, r, 0] > capacity[h, r] * _CAPACITY_TOL
    if contended:
        for h in range(capacity.shape[0]):
            for r in range(4):
                remaining = capacity[h, r]
                for cls in range(n_cls - 1, -1, -1):
                    need = work[h, r, 1 + cls]
                    work[h, r, 1 + n_cls + cls] = remaining / need if need > remaining else 1.0
                    remaining = max(remaining - need, 0.0)
    return contended


@njit
def serve_component(  # pragma: no cover - compiled
    t: int,
    c: int,
    demand: NDArray[np.float64],
    alloc: NDArray[np.float64],
    sv: float,
    has_service: bool,
    fraction: NDArray[np.float64],
    contended: bool,
    params: NDArray[np.float64],
    per_resource: NDArray[np.float64],
) -> tuple[bool, float, float]:
    """Throttle and drop what component ``c`` is not served in tick ``t``.

    ``fraction`` is the share of its class served on its host per resource (read only when
    ``contended``). Returns whether any demand went unserved, the survival probability of a
    request and the longest backlog wait, s.
    """
    survive = 1.0
    wait = 0.0
    hit = False
    for r in range(4):
        d = demand[t, c, r]
        e = alloc[c, r] * sv if has_service and r != 1 else alloc[c, r]
        if contended:
            u = d - min(d, e) * fraction[r]
            over = u > 0.0
        else:
            over = d > e
            u = d - e
        if over:
            hit = True
            thr = min(u, e * params[BUFFER + r])
            drop = u - thr
            per_resource[1, c, r] -= u
            per_resource[2, c, r] += thr
            per_resource[3, c, r] += drop
            survive *= 1.0 - drop / max(d, TINY)
            wait = max(wait, thr * (params[HALF + r] / max(e, TINY)))
    return hit, survive, wait
