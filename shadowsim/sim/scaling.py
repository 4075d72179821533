"""Vertical scaling: validating, clamping and timing allocation changes.

A scale request gives an application's new total allocation per resource; it is split
over the application's components by their shares. Each component target is clamped to
the VM-size bounds ``[min_allocation, max_allocation]``; then, per host and resource, if
the requested increases exceed the room left (``capacity x overcommit - reserved``), every
increase on that host and resource is scaled down by the same factor. Until a change lands
(``latency_s`` of its resource later) the host reserves the larger of the old and the new
allocation, so a host never holds more than its capacity times its overcommit ratio.
Entries whose application has a component migrating are rejected (retry after the move).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.actions import ScaleAllOutcome
from shadowsim.errors import ConfigError
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.checks import check_non_negative, check_vector
from shadowsim.sim.components import ComponentLayout

_KEY = "cluster.scaling."


@dataclass(frozen=True)
class ScalingConfig:
    """Vertical-scaling parameters, one entry per resource (vCPU, MiB, KB/s, KB/s).

    Attributes:
        latency_s: Actuation latency per resource, s (a change lands at the first tick
            boundary at or after the decision time plus the latency).
        min_allocation: Smallest allocation of a component VM per resource (> 0). The
            default is what a hypervisor allows a VM: 0.01 vCPU (the Linux CFS bandwidth
            quota's minimum of 1 ms per 100 ms period, libvirt ``<cputune><quota>``), 64 MiB
            (a minimal Linux guest; the balloon shrinks no further), 10 KB/s of disk and of
            network (libvirt ``iotune`` / ``<bandwidth>`` caps).
        max_allocation: Largest allocation of a component VM per resource, or None for the
            host capacity times its overcommit ratio.
    """

    latency_s: tuple[float, ...] = (15.0, 30.0, 5.0, 5.0)
    min_allocation: tuple[float, ...] = (0.01, 64.0, 10.0, 10.0)
    max_allocation: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        fix = object.__setattr__
        fix(self, "latency_s", check_vector(_KEY + "latency_s", self.latency_s, N_RESOURCES))
        low = check_vector(_KEY + "min_allocation", self.min_allocation, N_RESOURCES, positive=True)
        fix(self, "min_allocation", low)
        if self.max_allocation is not None:
            high = check_vector(
                _KEY + "max_allocation", self.max_allocation, N_RESOURCES, positive=True
            )
            bad = [i for i in range(N_RESOURCES) if high[i] < low[i]]
            if bad:
                raise ConfigError(
                    _KEY + "max_allocation",
                    f"entries {bad} are below min_allocation {low}: raise them",
                )
            fix(self, "max_allocation", high)
        for i, latency in enumerate(self.latency_s):
            check_non_negative(f"{_KEY}latency_s[{i}]", latency)


@dataclass(eq=False)
class ScalePlan:
    """Validated component targets and the per-entry outcome.

    Attributes:
        targets: ``(C, 4)`` new component allocations; NaN where unchanged.
        touched: ``(C, 4)`` True where a new allocation was started.
        outcome: The per-application, per-resource outcome.
        n_accepted: Accepted entries.
        n_clamped: Accepted entries that were clamped.
    """

    targets: NDArray[np.float64]
    touched: NDArray[np.bool_]
    outcome: ScaleAllOutcome
    n_accepted: int
    n_clamped: int


class ScalePlanner:
    """Turns application targets into clamped component targets.

    Args:
        layout: Components of the applications.
        low: ``(4,)`` smallest component allocation.
        high: ``(4,)`` largest component allocation.
        n_hosts: Number of hosts.
    """

    def __init__(
        self,
        layout: ComponentLayout,
        low: NDArray[np.float64],
        high: NDArray[np.float64],
        n_hosts: int,
    ) -> None:
        self.layout = layout
        self.low = low
        self.high = high
        self.n_hosts = n_hosts
        self._none: NDArray[np.bool_] | None = None
        self._all: NDArray[np.bool_] | None = None
        self._tiled: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None

    def _bounds(self, shape: tuple[int, ...]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """The bounds tiled to ``shape`` (same-shape ufuncs are much faster than broadcasts)."""
        if self._tiled is None or self._tiled[0].shape != shape:
            self._tiled = (
                np.broadcast_to(self.low, shape).copy(),
                np.broadcast_to(self.high, shape).copy(),
            )
        return self._tiled

    def _no_clamp(self, shape: tuple[int, ...]) -> NDArray[np.bool_]:
        """A shared read-only all-False mask."""
        if self._none is None or self._none.shape != shape:
            self._none = np.zeros(shape, dtype=np.bool_)
            self._none.setflags(write=False)
        return self._none

    def plan(
        self,
        targets: NDArray[np.float64],
        reserve: NDArray[np.float64],
        room: NDArray[np.float64],
        host_of: NDArray[np.intp],
        cells: NDArray[np.intp],
        migrating: NDArray[np.bool_] | None,
        reserve_into: NDArray[np.float64] | None = None,
    ) -> ScalePlan:
        """Validate and clamp ``(A, 4)`` application targets.

        Args:
            targets: ``(A, 4)`` requested totals, NaN = hold (shape already checked).
            reserve: ``(C, 4)`` what each component reserves now on its host.
            room: ``(H, 4)`` room left per host (capacity x overcommit - reserved).
            host_of: ``(C,)`` host of each component.
            cells: ``(C * 4,)`` flat ``host * 4 + resource`` index of each entry.
            migrating: ``(C,)`` True for components being moved, or None when none is.
            reserve_into: ``(C, 4)`` pending allocations, or None. When given and some
                entry is accepted, the plan is also reserved: the accepted component
                targets become pending there, and ``reserve`` becomes the larger of
                itself and them.
        """
        reasons: Counter[str] = Counter()
        flat = targets.ravel()
        top = np.maximum.reduce(flat)  # NaN when any entry holds
        all_given = not np.isnan(top) and migrating is None
        if all_given and top != np.inf and np.minimum.reduce(flat) >= 0:
            accepted = self._all_true(targets.shape)
            n_accepted = targets.size
        else:
            accepted = self._accepted(targets, migrating, reasons)
            n_accepted = int(np.count_nonzero(accepted))
        wanted = np.where(accepted, targets, np.nan) if reasons else targets
        layout = self.layout
        comp = wanted if layout.per_app == 1 else layout.to_components(wanted)
        touched = accepted if layout.per_app == 1 else ~np.isnan(comp)
        low, high = self._bounds(comp.shape)
        clipped = np.maximum(comp, low)  # NaN (hold) stays NaN
        np.minimum(clipped, high, out=clipped)
        clamped_c = np.not_equal(clipped, comp)  # also True for NaN: masked out below
        increase = np.subtract(clipped, reserve)
        np.fmax(increase, 0.0, out=increase)  # NaN (hold) -> 0
        if np.max(increase) > 0:
            need = np.bincount(cells, weights=increase.ravel(), minlength=room.size)
            need = need.reshape(room.shape)
            free = np.maximum(room, 0.0)
            over = need > free * (1 + 1e-12) + 1e-9
            if over.any():
                # scale every increase on an over-asked host and resource by free / need;
                # elsewhere the factor is inf, which fmin ignores (NaN for no increase)
                factor = np.full_like(need, np.inf)
                np.divide(free, need, out=factor, where=over)
                with np.errstate(invalid="ignore"):  # 0 * inf = NaN where nothing grows
                    limited = np.multiply(increase, factor[host_of])
                limited += reserve
                cut = np.fmin(clipped, limited)
                clamped_c |= np.not_equal(cut, clipped)
                clipped = cut
        if n_accepted < targets.size:
            clamped_c &= touched
        n_clamped = int(np.count_nonzero(clamped_c))
        if n_clamped == 0:
            clamped = self._no_clamp(targets.shape)
        elif layout.per_app == 1:
            clamped = clamped_c
        else:
            clamped = layout.to_apps(clamped_c.astype(np.float64)) > 0
        applied = layout.to_apps(clipped)
        clamped.setflags(write=False)
        applied.setflags(write=False)
        outcome = ScaleAllOutcome(
            accepted=accepted,
            clamped=clamped,
            applied=applied,
            rejected_reasons=dict(reasons),
        )
        if reserve_into is not None and n_accepted:
            if n_accepted == targets.size:
                np.copyto(reserve_into, clipped)
            else:
                np.copyto(reserve_into, clipped, where=touched)
            np.fmax(reserve, clipped, out=reserve)
        return ScalePlan(clipped, touched, outcome, n_accepted, n_clamped)

    def _accepted(
        self,
        targets: NDArray[np.float64],
        migrating: NDArray[np.bool_] | None,
        reasons: Counter[str],
    ) -> NDArray[np.bool_]:
        """Per-entry acceptance, counting each reason for a rejection."""
        accepted = np.equal(targets, targets)  # False for NaN (hold)
        if np.fmax.reduce(targets, axis=None) == np.inf:
            bad = accepted & np.isinf(targets)
            reasons["non-finite target"] = int(bad.sum())
            accepted &= ~bad
        if np.fmin.reduce(targets, axis=None) < 0:
            bad = accepted & (targets < 0)
            reasons["negative target"] = int(bad.sum())
            accepted &= ~bad
        if migrating is not None and migrating.any():
            busy = np.zeros(targets.shape[0], dtype=np.bool_)
            np.logical_or.at(busy, self.layout.component_app, migrating)
            bad = accepted & busy[:, None]
            reasons["component migrating"] = int(bad.sum())
            accepted &= ~bad
        accepted.setflags(write=False)
        return accepted

    def _all_true(self, shape: tuple[int, ...]) -> NDArray[np.bool_]:
        """A shared read-only all-True mask."""
        if self._all is None or self._all.shape != shape:
            self._all = np.ones(shape, dtype=np.bool_)
            self._all.setflags(write=False)
        return self._all
