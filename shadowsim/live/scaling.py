"""Vertical scaling on libvirt: from per-application targets to per-domain calls.

A target is an application's new total allocation of one resource (NaN = hold). It is
split over the application's components by their shares, then per component:

1. clamped to ``[live.min_allocation, maximum]``, the maximum being the domain's maximum
   vCPUs / memory, or the host's capacity for disk and network;
2. vCPUs rounded to whole vCPUs (``live.vcpu_rounding``); memory to whole KiB;
3. CPU and memory increases are granted in component order while the host has room
   (``capacity x live.overcommit - allocated``, after the decreases on that host); the rest
   of an increase is clamped to what is left. Disk and network limits are caps on shared
   devices and are not checked against host room.

An entry (application, resource) is rejected as a whole before any call when one of its
components cannot take it: the domain is not running, or it has no disk / interface. Then
each change is one libvirt call (:mod:`shadowsim.live.tuning`); when libvirt refuses, the
entry is rejected with libvirt's text (``applied`` still shows what the other components
now have). vCPU, disk and network changes land when the call returns; a memory change is
a balloon target the guest reaches in its own time (:mod:`shadowsim.live.balloon`), so
:attr:`ScaleResult.set_to` tells the backend which targets it set.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.actions import ScaleAllOutcome
from shadowsim.live.binding import error_text, is_libvirt_error
from shadowsim.live.config import VcpuRounding
from shadowsim.live.domain_reading import DomainReading
from shadowsim.live.tuning import DomainTuner
from shadowsim.resources import N_RESOURCES, RESOURCES, Resource

_ROOM_CHECKED = (Resource.CPU, Resource.MEMORY)
_REL_TOL = 1e-6


@dataclass(frozen=True, eq=False)
class ScaleRequest:
    """What the scaler needs to know about the cluster right now.

    Attributes:
        readings: One fresh reading per component.
        allocation: ``(C, 4)`` allocation per component once pending memory targets are
            reached (what each change starts from).
        domains: One libvirt domain handle per component.
        host_of: ``(C,)`` host of each component.
        host_capacity: ``(H, 4)`` capacity per host.
        host_allocated: ``(H, 4)`` allocated per host (components and spares).
        rx_share: ``(C,)`` share of each component's network traffic that is received.
    """

    readings: list[DomainReading]
    allocation: NDArray[np.float64]
    domains: list[Any]
    host_of: NDArray[np.intp]
    host_capacity: NDArray[np.float64]
    host_allocated: NDArray[np.float64]
    rx_share: NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ScaleResult:
    """What one scaling did.

    Attributes:
        outcome: The per-entry outcome reported with the action.
        set_to: ``(C, 4)`` the value each successful libvirt call set, NaN where none was
            made (unchanged entries, held ones and refused calls).
    """

    outcome: ScaleAllOutcome
    set_to: NDArray[np.float64]

    @property
    def changes(self) -> int:
        """Number of libvirt calls that changed something."""
        return int(np.count_nonzero(~np.isnan(self.set_to)))


class LiveScaler:
    """Plans and applies scaling targets (see the module docstring).

    Args:
        tuner: Applies one change to one domain.
        component_app: ``(C,)`` application of each component.
        share: ``(C,)`` share of each component in its application.
        min_allocation: ``(4,)`` smallest allocation per component.
        overcommit: ``(4,)`` allocation limit of a host as a multiple of its capacity.
        rounding: How vCPU targets are rounded.
    """

    def __init__(
        self,
        tuner: DomainTuner,
        component_app: NDArray[np.intp],
        share: NDArray[np.float64],
        min_allocation: NDArray[np.float64],
        overcommit: NDArray[np.float64],
        rounding: VcpuRounding,
    ) -> None:
        self.tuner = tuner
        self.component_app = component_app
        self.share = share
        self.min_allocation = min_allocation
        self.overcommit = overcommit
        self.rounding = rounding
        self.n_apps = int(component_app.max()) + 1 if component_app.size else 0
        self.members = [np.flatnonzero(component_app == a) for a in range(self.n_apps)]

    def _round_cpu(self, value: float) -> float:
        match self.rounding:
            case VcpuRounding.CEIL:
                return float(math.ceil(value - 1e-9))
            case VcpuRounding.NEAREST:
                return float(math.floor(value + 0.5))

    @staticmethod
    def _unavailable(reading: DomainReading, resource: Resource) -> str:
        """Why ``resource`` of this domain cannot be changed now ("" when it can)."""
        if not reading.running:
            return f"domain {reading.name} is not running (live scaling needs a running domain)"
        if resource is Resource.DISK and not reading.devices.disks:
            return f"domain {reading.name} has no disk to limit"
        if resource is Resource.NETWORK and not reading.devices.interfaces:
            return f"domain {reading.name} has no network interface to limit"
        return ""

    def scale(self, targets: NDArray[np.float64], request: ScaleRequest) -> ScaleResult:
        """Apply ``(A, 4)`` targets; returns the per-entry outcome and the values set."""
        shape = (self.n_apps, N_RESOURCES)
        current = request.allocation
        accepted = np.zeros(shape, dtype=np.bool_)
        reasons: Counter[str] = Counter()
        wanted = np.full_like(current, np.nan)
        for a, r in zip(*np.nonzero(~np.isnan(targets)), strict=True):
            resource = RESOURCES[r]
            target = float(targets[a, r])
            if target < 0:
                reasons["negative target"] += 1
                continue
            if math.isinf(target):
                reasons["infinite target"] += 1
                continue
            comps = self.members[a]
            why = next(
                (w for c in comps if (w := self._unavailable(request.readings[c], resource))), ""
            )
            if why:
                reasons[why] += 1
                continue
            for c in comps:
                reading = request.readings[c]
                high = {
                    Resource.CPU: float(reading.max_vcpus),
                    Resource.MEMORY: reading.max_memory_mib,
                }.get(resource, float(request.host_capacity[request.host_of[c], r]))
                value = min(max(target * self.share[c], self.min_allocation[r]), high)
                if resource is Resource.CPU:
                    value = min(max(self._round_cpu(value), 1.0), high)
                elif resource is Resource.MEMORY:
                    value = round(value * 1024.0) / 1024.0
                wanted[c, r] = value
            accepted[a, r] = True
        new = self._fit_rooms(wanted, current, request)
        failures, succeeded, set_to = self._apply(new, current, request)
        for (a, r), text in failures.items():
            accepted[a, r] = False
            reasons[text] += 1
        in_force = np.where(np.isnan(new), current, new)
        totals = np.zeros(shape)
        np.add.at(totals, self.component_app, in_force)
        started = np.zeros(shape, dtype=np.bool_)
        np.logical_or.at(started, self.component_app, succeeded)
        applied = np.where(started, totals, np.nan)
        asked = np.nan_to_num(targets)
        tol = _REL_TOL * np.maximum(1.0, np.abs(asked))
        clamped = accepted & (np.abs(applied - asked) > tol)
        outcome = ScaleAllOutcome(
            accepted=accepted, clamped=clamped, applied=applied, rejected_reasons=dict(reasons)
        )
        return ScaleResult(outcome, set_to)

    def _fit_rooms(
        self, wanted: NDArray[np.float64], current: NDArray[np.float64], request: ScaleRequest
    ) -> NDArray[np.float64]:
        """Clamp CPU and memory increases to the room left on each host (component order)."""
        new = wanted.copy()
        room = request.host_capacity * self.overcommit - request.host_allocated
        for r in _ROOM_CHECKED:
            delta = np.nan_to_num(wanted[:, r] - current[:, r])
            freed = np.zeros(room.shape[0])
            np.add.at(freed, request.host_of, np.minimum(delta, 0.0))
            left = room[:, r] - freed
            for c in np.flatnonzero(delta > 0):
                h = request.host_of[c]
                grant = min(delta[c], max(left[h], 0.0))
                if r == Resource.CPU:
                    grant = float(math.floor(grant + 1e-9))
                new[c, r] = current[c, r] + grant
                left[h] -= grant
        return new

    def _apply(
        self, new: NDArray[np.float64], current: NDArray[np.float64], request: ScaleRequest
    ) -> tuple[dict[tuple[int, int], str], NDArray[np.bool_], NDArray[np.float64]]:
        """Make the libvirt calls; failed ones are reset to ``current`` in ``new``.

        Returns:
            libvirt's text per failed ``(app, resource)`` entry, ``(C, 4)`` True where the
            component has its new value (changed, or already there), and ``(C, 4)`` the
            value each successful call set (NaN elsewhere).
        """
        failures: dict[tuple[int, int], str] = {}
        succeeded = ~np.isnan(new)
        set_to = np.full_like(new, np.nan)
        for c, r in zip(*np.nonzero(~np.isnan(new)), strict=True):
            if abs(new[c, r] - current[c, r]) <= _REL_TOL * max(1.0, abs(current[c, r])):
                continue
            reading = request.readings[c]
            try:
                self.tuner.set(
                    request.domains[c],
                    RESOURCES[r],
                    float(new[c, r]),
                    reading.devices,
                    float(request.rx_share[c]),
                )
            except Exception as err:
                if not is_libvirt_error(err):
                    raise
                new[c, r] = current[c, r]
                succeeded[c, r] = False
                a = int(self.component_app[c])
                failures[(a, int(r))] = (
                    f"libvirt refused on domain {reading.name}: {error_text(err)}"
                )
                continue
            set_to[c, r] = new[c, r]
        return failures, succeeded, set_to
