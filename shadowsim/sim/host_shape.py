"""The shape of a host: given, or the default shape grown to fit the largest component.

* ``cluster.host_capacity`` null (the default): every resource starts at
  :data:`DEFAULT_HOST_CAPACITY` (64 vCPU, 256 GiB = 262,144 MiB, 2,000,000 KB/s disk,
  1,250,000 KB/s network) and is doubled until one host serves the largest component's
  peak demand (``peak <= capacity``: a host never serves more than its physical capacity)
  and can allocate it with headroom (``peak x cluster.initial.headroom <= capacity x
  overcommit``). A workload of large machines (e.g. the Alibaba v2018 trace: 96 cores and
  512 GiB assumed) then runs on hosts as large as needed; a workload whose components fit
  keeps the default shape.
* ``cluster.host_capacity`` given: it is used as is, but a ConfigError names the key and the
  fix when some component's peak demand of a resource exceeds ``capacity x overcommit``
  (more than such a host could ever allocate to it). A peak between the physical capacity
  and that limit is allowed: the host serves at most its capacity, the rest is throttled or
  dropped (host contention).

A component's peak demand of a resource is the largest demand of its application over the
whole workload times the component's share.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError
from shadowsim.resources import Resource
from shadowsim.sim.components import ComponentLayout
from shadowsim.workloads.workload import Workload

DEFAULT_HOST_CAPACITY: tuple[float, ...] = (64.0, 262_144.0, 2_000_000.0, 1_250_000.0)
"""Default host: 64 vCPU, 256 GiB (MiB), 2,000,000 KB/s disk, 1,250,000 KB/s network."""

_UNITS = ("vCPU", "MiB", "KB/s", "KB/s")


def component_peaks(workload: Workload, layout: ComponentLayout) -> NDArray[np.float64]:
    """``(4,)`` largest peak demand of any one component, per resource (vCPU, MiB, KB/s)."""
    if workload.n_apps == 0 or workload.n_ticks == 0:
        return np.zeros(len(Resource))
    app_peak = workload.demand.max(axis=1)  # (A, 4)
    peaks: NDArray[np.float64] = layout.to_components(app_peak).max(axis=0)
    return peaks


def host_shape(
    given: tuple[float, ...] | None,
    overcommit: tuple[float, ...],
    headroom: float,
    peaks: NDArray[np.float64],
) -> NDArray[np.float64]:
    """``(4,)`` physical capacity of one host.

    Args:
        given: ``cluster.host_capacity``, or None to grow the default shape.
        overcommit: ``cluster.overcommit`` per resource.
        headroom: ``cluster.initial.headroom`` (the grown shape can allocate
            ``peak x headroom``).
        peaks: ``(4,)`` largest component peak demand per resource
            (:func:`component_peaks`).

    Returns:
        The capacity per resource.

    Raises:
        ConfigError: When a given shape cannot serve some component's peak demand.
    """
    over = np.asarray(overcommit, dtype=np.float64)
    if given is None:
        shape = np.asarray(DEFAULT_HOST_CAPACITY, dtype=np.float64)
        for r in range(shape.size):
            # what one host must hold: the peak served, and the peak with headroom allocated
            need = max(float(peaks[r]), float(peaks[r]) * headroom / float(over[r]))
            if need > shape[r] and math.isfinite(need):
                shape[r] *= 2.0 ** math.ceil(math.log2(need / shape[r]))
                while shape[r] < need:  # log2 rounding
                    shape[r] *= 2.0
        return shape
    shape = np.asarray(given, dtype=np.float64)
    limit = shape * over
    short = np.flatnonzero(peaks > limit * (1.0 + 1e-12))
    if short.size:
        parts = ", ".join(
            f"{Resource(int(r)).name} peak {peaks[r]:.6g} {_UNITS[r]} > capacity x overcommit "
            f"{limit[r]:.6g}"
            for r in short
        )
        r0 = int(short[0])
        raise ConfigError(
            f"cluster.host_capacity[{r0}]",
            f"a host is smaller than the largest component of the workload ({parts}), so its "
            f"demand could never be allocated; raise cluster.host_capacity[{r0}] to at least "
            f"{peaks[r0] / float(over[r0]):.6g} {_UNITS[r0]}, set "
            "cluster.host_capacity to null to size hosts from the workload, or raise "
            "cluster.components_per_app",
        )
    return shape
