"""First-fit decreasing placement (:mod:`shadowsim.sim.placement`) compiled.

:func:`first_fit_decreasing` takes the same arguments and gives the same placement as
:func:`shadowsim.sim.placement.first_fit_decreasing` (same order, same comparisons), with
the loop over items and hosts compiled instead of one numpy round per item.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.sim.jit import njit

_EPS = 1e-9  # as in shadowsim.sim.placement


@njit
def _pack(  # pragma: no cover - compiled
    sizes: NDArray[np.float64],
    order: NDArray[np.intp],
    capacity: NDArray[np.float64],
    limit: NDArray[np.float64],
    used: NDArray[np.float64],
    host_of: NDArray[np.intp],
) -> bool:
    """Place items in ``order``; False when one does not fit in ``used.shape[0]`` hosts."""
    n_res = capacity.shape[0]
    opened = 0
    for item in order:
        placed = False
        for host in range(opened):
            fits = True
            for r in range(n_res):
                if not used[host, r] + sizes[item, r] <= limit[r] + _EPS:
                    fits = False
                    break
            if fits:
                for r in range(n_res):
                    used[host, r] += sizes[item, r]
                host_of[item] = host
                placed = True
                break
        if placed:
            continue
        for r in range(n_res):
            if sizes[item, r] > capacity[r] + _EPS:
                return False
        if opened >= used.shape[0]:
            return False
        for r in range(n_res):
            used[opened, r] += sizes[item, r]
        host_of[item] = opened
        opened += 1
    return True


def first_fit_decreasing(
    sizes: NDArray[np.float64],
    capacity: NDArray[np.float64],
    target_utilisation: float,
    max_hosts: int | None,
) -> NDArray[np.intp] | None:
    """Pack ``(N, 4)`` items onto identical hosts of ``(4,)`` capacity (see the reference).

    Args:
        sizes: Item sizes.
        capacity: Capacity x overcommit of one host.
        target_utilisation: Share of ``capacity`` a host is filled to.
        max_hosts: Most hosts to use, or None for as many as needed.

    Returns:
        ``(N,)`` host of each item, or None when the items do not fit in ``max_hosts``.
    """
    n_items = int(sizes.shape[0])
    limit = capacity * target_utilisation
    order = np.argsort(-(sizes / capacity).max(axis=1), kind="stable")
    cap_hosts = n_items if max_hosts is None else max_hosts
    used = np.zeros((cap_hosts, capacity.shape[0]))
    host_of = np.empty(n_items, dtype=np.intp)
    fitted = _pack(
        np.ascontiguousarray(sizes, dtype=np.float64),
        order.astype(np.intp),
        np.ascontiguousarray(capacity, dtype=np.float64),
        np.ascontiguousarray(limit, dtype=np.float64),
        used,
        host_of,
    )
    return host_of if fitted else None
