"""Initial allocation, cluster sizing and initial placement.

* Initial allocation of a component: the ``quantile`` of its application's demand over the
  first ``window_s`` of the workload, times its share, times ``headroom``, clipped to the
  VM-size bounds of :class:`~shadowsim.sim.scaling.ScalingConfig`. An application that is
  not active yet when the workload starts (a trace whose series begins later: no data, so
  demand 0) is sized by the first ``window_s`` of its activity instead, as if its VM had been
  provisioned, and placed, for the load it arrives with; otherwise it would be packed at the
  floor allocation onto an already full host and starve there once it starts.
* Placement: first-fit decreasing. Items (component VMs, and spares when the pool starts
  ready) are sorted by their dominant share (largest ``size_r / capacity_r``) and each goes
  to the first host where every resource fits within ``capacity x overcommit x
  target_utilisation``; an empty host takes any item that fits its full ``capacity x
  overcommit``. The check of one item against all hosts is vectorised.
* Sizing (``n_hosts`` None): as many hosts as first-fit decreasing opens. With an explicit
  ``n_hosts`` the items are packed at ``target_utilisation`` when that fits, else at full
  capacity; when even that fails a ConfigError says how many hosts are needed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError
from shadowsim.sim.checks import check_fraction, check_positive
from shadowsim.sim.components import ComponentLayout
from shadowsim.sim.host_shape import component_peaks, host_shape
from shadowsim.workloads.workload import Workload

if TYPE_CHECKING:
    from shadowsim.sim.config import ClusterConfig

_EPS = 1e-9


@dataclass(frozen=True)
class InitialAllocationConfig:
    """How the first allocation of every component is chosen.

    Attributes:
        quantile: Quantile of the demand over the window, in [0, 1].
        window_s: Window at the start of the workload the quantile is taken over, s.
        headroom: Multiplier on the quantile (> 0; e.g. 1.2 = 20 % headroom).
    """

    quantile: float = 0.95
    window_s: float = 86_400.0
    headroom: float = 1.2

    def __post_init__(self) -> None:
        check_fraction("cluster.initial.quantile", self.quantile)
        check_positive("cluster.initial.window_s", self.window_s)
        check_positive("cluster.initial.headroom", self.headroom)


def initial_allocation(
    demand: NDArray[np.float64],
    interval_s: float,
    layout: ComponentLayout,
    config: InitialAllocationConfig,
    low: NDArray[np.float64],
    high: NDArray[np.float64],
    active: NDArray[np.bool_] | None = None,
) -> tuple[NDArray[np.float64], int]:
    """First allocation of every component.

    Args:
        demand: ``(A, T, 4)`` workload demand.
        interval_s: Tick length, s.
        layout: Components of the applications.
        config: The rule.
        low: ``(4,)`` smallest component allocation.
        high: ``(4,)`` largest component allocation.
        active: ``(A, T)`` where each application exists (None: always); an application
            inactive at the first tick is sized by its first ``window_s`` of activity.

    Returns:
        ``(C, 4)`` allocations and how many entries were clipped to ``high`` (reported,
        never silent).
    """
    n_ticks = int(demand.shape[1])
    window = max(1, min(n_ticks, round(config.window_s / interval_s)))
    per_app = np.quantile(demand[:, :window, :], config.quantile, axis=1)
    if active is not None:
        late = ~active[:, 0] & active.any(axis=1)  # inactive at the start, active later
        if late.any():
            first = np.argmax(active[late], axis=1)
            ticks = first[:, None] + np.arange(window)[None, :]
            inside = ticks < n_ticks
            rows = np.flatnonzero(late)[:, None]
            seen = demand[rows, np.minimum(ticks, n_ticks - 1)]  # (L, window, 4)
            seen[~inside] = np.nan
            per_app[late] = np.nanquantile(seen, config.quantile, axis=1)
    raw = layout.to_components(per_app) * config.headroom
    clipped_high = int((raw > high).sum())
    return np.clip(raw, low, high), clipped_high


def first_fit_decreasing(
    sizes: NDArray[np.float64],
    capacity: NDArray[np.float64],
    target_utilisation: float,
    max_hosts: int | None,
) -> NDArray[np.intp] | None:
    """Pack ``(N, 4)`` items onto identical hosts of ``(4,)`` capacity.

    Args:
        sizes: Item sizes.
        capacity: Capacity x overcommit of one host.
        target_utilisation: Share of ``capacity`` a host is filled to (an empty host takes
            any item that fits ``capacity``).
        max_hosts: Most hosts to use, or None for as many as needed.

    Returns:
        ``(N,)`` host of each item, or None when the items do not fit in ``max_hosts``.
    """
    n_items = int(sizes.shape[0])
    limit = capacity * target_utilisation
    order = np.argsort(-(sizes / capacity).max(axis=1), kind="stable")
    cap_hosts = n_items if max_hosts is None else max_hosts
    used = np.zeros((max(cap_hosts, 1), capacity.shape[0]))
    count = np.zeros(max(cap_hosts, 1), dtype=np.int64)
    opened = 0
    host_of = np.empty(n_items, dtype=np.intp)
    for item in order:
        size = sizes[item]
        if opened:
            fits = (used[:opened] + size <= limit + _EPS).all(axis=1)
            if fits.any():
                host = int(np.argmax(fits))
                used[host] += size
                count[host] += 1
                host_of[item] = host
                continue
        if (size > capacity + _EPS).any() or opened >= cap_hosts:
            return None
        used[opened] += size
        count[opened] += 1
        host_of[item] = opened
        opened += 1
    return host_of


Packer = Callable[
    [NDArray[np.float64], NDArray[np.float64], float, int | None], NDArray[np.intp] | None
]


def place(
    sizes: NDArray[np.float64],
    capacity: NDArray[np.float64],
    target_utilisation: float,
    n_hosts: int | None,
    pack: Packer = first_fit_decreasing,
) -> tuple[NDArray[np.intp], int]:
    """Host of each item and the number of hosts (sized or given).

    ``pack`` is :func:`first_fit_decreasing` or its compiled twin (same placement).

    Raises:
        ConfigError: When the items do not fit in the given ``n_hosts``.
    """
    if n_hosts is None:
        host_of = pack(sizes, capacity, target_utilisation, None)
        if host_of is None:
            big = np.flatnonzero((sizes > capacity + _EPS).any(axis=1))
            raise ConfigError(
                "cluster.host_capacity",
                f"{big.size} VM(s) exceed one host's capacity x overcommit {capacity.tolist()}; "
                "raise host_capacity or lower scaling.max_allocation",
            )
        return host_of, int(host_of.max()) + 1 if host_of.size else 1
    for util in (target_utilisation, 1.0):
        host_of = pack(sizes, capacity, util, n_hosts)
        if host_of is not None:
            return host_of, n_hosts
    needed = pack(sizes, capacity, 1.0, None)
    hint = "" if needed is None else f" (first-fit decreasing needs {int(needed.max()) + 1})"
    raise ConfigError(
        "cluster.n_hosts",
        f"{sizes.shape[0]} VMs do not fit on {n_hosts} hosts of capacity x overcommit "
        f"{capacity.tolist()}{hint}; raise n_hosts or leave it null to size the cluster",
    )


@dataclass(frozen=True, eq=False)
class InitialCluster:
    """The cluster a simulator starts with.

    Attributes:
        host_capacity: ``(4,)`` physical capacity of one host
            (:func:`~shadowsim.sim.host_shape.host_shape`).
        low: ``(4,)`` smallest component allocation.
        high: ``(4,)`` largest component allocation (a host's capacity x overcommit, or
            ``scaling.max_allocation``).
        allocation: ``(C, 4)`` initial allocations.
        clipped: Initial allocation entries clipped to ``high``.
        spare_size: ``(4,)`` size of a spare VM.
        host_of: ``(C,)`` host of each component.
        n_hosts: Number of hosts.
        spare_states: Readiness state of each initial spare placed on a host.
        spare_hosts: Host of each of those spares.
        unplaced_spares: Readiness state of each initial spare holding no capacity.
    """

    host_capacity: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]
    allocation: NDArray[np.float64]
    clipped: int
    spare_size: NDArray[np.float64]
    host_of: NDArray[np.intp]
    n_hosts: int
    spare_states: NDArray[np.intp]
    spare_hosts: NDArray[np.intp]
    unplaced_spares: NDArray[np.intp]


def initial_cluster(
    workload: Workload, config: ClusterConfig, layout: ComponentLayout, pack: Packer
) -> InitialCluster:
    """Initial allocations, spares and placement (sized or given hosts).

    Raises:
        ConfigError: When the workload does not fit ``config.n_hosts``, or a given
            ``config.host_capacity`` is smaller than the largest component.
    """
    interval_s = float(workload.interval_s)
    capacity = host_shape(
        config.host_capacity,
        config.overcommit,
        config.initial.headroom,
        component_peaks(workload, layout),
    )
    limit_one = capacity * np.asarray(config.overcommit)
    low = np.asarray(config.scaling.min_allocation)
    high = limit_one.copy()
    if config.scaling.max_allocation is not None:
        high = np.minimum(high, np.asarray(config.scaling.max_allocation))
    alloc, clipped = initial_allocation(
        workload.demand, interval_s, layout, config.initial, low, high, workload.active
    )
    pool = config.pool
    spare_size = (
        np.asarray(pool.spare_size)
        if pool.spare_size is not None
        else np.clip(np.median(alloc, axis=0), low, high)
    )
    held = np.asarray(pool.held_fraction) * spare_size
    spare_states = np.repeat(np.arange(len(pool.initial_target)), pool.initial_target)
    if not pool.start_ready:
        spare_states = spare_states[:0]
    spare_items = held[spare_states]
    placed = spare_items.any(axis=1)
    items = np.concatenate([alloc, spare_items[placed]])
    item_host, n_hosts = place(items, limit_one, config.target_utilisation, config.n_hosts, pack)
    n_comp = layout.n_components
    return InitialCluster(
        host_capacity=capacity,
        low=low,
        high=high,
        allocation=alloc,
        clipped=clipped,
        spare_size=spare_size,
        host_of=item_host[:n_comp].astype(np.intp),
        n_hosts=n_hosts,
        spare_states=spare_states[placed],
        spare_hosts=item_host[n_comp:],
        unplaced_spares=spare_states[~placed],
    )
