"""Carrying out scale actions for the simulator: validation, reservations, timed landings.

The rules (splitting, bounds, host room) are in :mod:`shadowsim.sim.scaling`; this module
turns a validated plan into pending allocations and SimPy events that land them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np
from numpy.typing import NDArray

from shadowsim.action_handling import scale_all_targets, scale_one_targets, scale_reason
from shadowsim.actions import Action, ActionResult, ScaleAction, ScaleAllAction
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.clock import ScheduledCall

if TYPE_CHECKING:
    from shadowsim.sim.simulator import Simulator


@dataclass(eq=False)
class ScaleBatch:
    """Allocations on their way to a host.

    Attributes:
        targets: ``(C, 4)`` new allocations (NaN where untouched).
        mask: ``(C, 4)`` entries this batch sets.
        full: True when it sets every entry (copied without a mask: masked copies are slow).
        boundary: The tick from which it is in force (its landing time's tick boundary).
    """

    targets: NDArray[np.float64]
    mask: NDArray[np.bool_]
    full: bool
    boundary: int


class Scaler:
    """Starts and lands vertical scaling on behalf of a :class:`Simulator`.

    Args:
        sim: The simulator whose allocations it changes.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.inflight: list[ScaleBatch] = []
        self.due: list[ScaleBatch] = []
        """Batches whose landing time has come, in landing order, waiting for the ticks
        before their boundary to be accounted (:meth:`Simulator._sync` then calls
        :meth:`land_due`)."""
        self._shape = (sim.workload.n_apps, N_RESOURCES)
        self._boundary_groups: list[tuple[float, tuple[int, ...]]] | None = None

    def landing_groups(self) -> list[tuple[float, tuple[int, ...]]]:
        """Resources grouped by when a change decided now lands: ``(delay_s, resources)``.

        A change lands at the first tick boundary at or after ``now + latency``; resources
        landing at the same boundary share one event (at the largest of their latencies).
        """
        sim = self.sim
        now = sim.env.now
        on_boundary = now == sim.tick * sim.interval_s
        if on_boundary and self._boundary_groups is not None:
            return self._boundary_groups
        latency = sim.config.scaling.latency_s
        groups: dict[tuple[int, bool], list[int]] = {}
        for res, lat in enumerate(latency):
            at = now + lat
            tick = sim.tick_at(at)
            groups.setdefault((tick, at >= tick * sim.interval_s), []).append(res)
        result = [(max(latency[r] for r in rs), tuple(rs)) for rs in groups.values()]
        if on_boundary:  # the same for every tick boundary
            self._boundary_groups = result
        return result

    def scale_one(self, action: ScaleAction) -> ActionResult:
        """Validate a single-entry :class:`ScaleAction` and start it."""
        targets = scale_one_targets(action, self.sim.workload.n_apps)
        if isinstance(targets, str):
            return ActionResult(action, False, targets)
        return self.scale(action, targets)

    def scale_all(self, action: ScaleAllAction) -> ActionResult:
        """Validate a :class:`ScaleAllAction` and start it."""
        return self.scale(action, action.targets)

    def scale(self, action: Action, raw: object) -> ActionResult:
        """Validate ``(A, 4)`` application targets, reserve them and schedule their landing."""
        sim = self.sim
        if type(raw) is np.ndarray and raw.dtype == np.float64 and raw.shape == self._shape:
            targets: NDArray[np.float64] = raw  # (the checks, inline for every-tick policies)
        else:
            checked = scale_all_targets(raw, self._shape[0])
            if isinstance(checked, str):
                return ActionResult(action, False, checked)
            targets = checked
        plan = sim.planner.plan(
            targets,
            sim.reserve,
            sim.room(),
            sim.host_of,
            sim.cells,
            sim.migrating if sim.moves.active else None,
            reserve_into=sim.pending,
        )
        outcome = plan.outcome
        started = plan.n_accepted > 0
        given = started or bool(outcome.rejected_reasons)
        effective: float | None = None
        if started:
            comp = plan.targets
            touched = plan.touched
            full = plan.n_accepted == targets.size
            sim.reserved_changed()
            for delay, resources in self.landing_groups():
                every = len(resources) == N_RESOURCES
                mask = touched if every else touched & self._res_mask(resources)
                boundary = sim.tick_at(sim.env.now + delay)
                batch = ScaleBatch(comp, mask, full and every, boundary)
                self.inflight.append(batch)
                land_s = boundary * sim.interval_s
                effective = land_s if effective is None else max(effective, land_s)
                if delay == 0.0:
                    self.land(batch)
                else:  # as a SimPy timeout carrying the batch
                    sim.env.call_in(delay, self._landed, batch)
        reason = (
            ""
            if given and not plan.n_clamped and not outcome.rejected_reasons
            else scale_reason(given, plan.n_clamped, outcome.rejected_reasons)
        )
        return ActionResult.assemble(action, started or not given, reason, effective, outcome)

    @staticmethod
    def _res_mask(resources: tuple[int, ...]) -> NDArray[np.bool_]:
        mask = np.zeros(N_RESOURCES, dtype=np.bool_)
        mask[list(resources)] = True
        return mask

    def _landed(self, event: ScheduledCall) -> None:
        """The landing time of the batch it carries has come."""
        self.land(cast(ScaleBatch, event.value))

    def land(self, batch: ScaleBatch) -> None:
        """A batch's landing time has come (a SimPy event handler).

        It is in force from its tick boundary: the ticks before that boundary are
        accounted with the allocations in force before it. So it waits in :attr:`due`
        until they are (the simulator accounts them at its next synchronisation, which
        every state change and every snapshot starts with) and is put in force then, or
        at once when they already are. The state anything observes is the same as if the
        ticks were accounted and the batch put in force right now.
        """
        self.due.append(batch)
        if batch.boundary <= self.sim.tick:
            self.land_due()

    def land_due(self) -> None:
        """Put in force, in landing order, the due batches whose boundary is accounted."""
        sim = self.sim
        due = self.due
        while due and due[0].boundary <= sim.tick:
            batch = due.pop(0)
            self.inflight.remove(batch)
            rate = self.put_in_force(batch)
            for other in self.inflight:
                np.fmax(sim.reserve, np.where(other.mask, other.targets, np.nan), out=sim.reserve)
            sim.allocation_changed(rate)

    def put_in_force(self, batch: ScaleBatch) -> float | None:
        """Copy a landing batch into the allocations; the reservations become them.

        Returns the allocation cost rate, cu/s, when computed on the way (else None).
        """
        sim = self.sim
        if batch.full:
            np.copyto(sim.alloc, batch.targets)
        else:
            np.copyto(sim.alloc, batch.targets, where=batch.mask)
        np.copyto(sim.reserve, sim.alloc)
        return None
