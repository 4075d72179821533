"""Starting, finishing and aborting migrations and shifts to spares for the simulator."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from shadowsim.action_handling import index_in
from shadowsim.actions import ActionResult, MigrateAction, ShiftToSpareAction
from shadowsim.readiness import Readiness
from shadowsim.resources import Resource
from shadowsim.sim.migration import plan_migration
from shadowsim.sim.moves import EventKind, Move, MoveKind, SimEvent
from shadowsim.sim.outages import Outage

if TYPE_CHECKING:
    from shadowsim.sim.simulator import Simulator

_ROOM_EPS = 1e-9


class Mover:
    """Moves components between hosts on behalf of a :class:`Simulator`.

    Args:
        sim: The simulator whose state it changes.
    """

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.active: list[Move] = []

    def _reject(self, action: MigrateAction | ShiftToSpareAction, reason: str) -> ActionResult:
        return ActionResult(action, False, reason)

    def _component(self, action: MigrateAction | ShiftToSpareAction) -> int | str:
        sim = self.sim
        n_comp = sim.layout.n_components
        comp = index_in(action.component, n_comp)
        if comp is None:
            return f"unknown component {action.component!r}: valid 0..{n_comp - 1}"
        if sim.migrating[comp]:
            return f"component {comp} is already moving; wait until its move ends"
        return comp

    def migrate(self, action: MigrateAction) -> ActionResult:
        """Validate and start a live migration."""
        sim = self.sim
        comp = self._component(action)
        if isinstance(comp, str):
            return self._reject(action, comp)
        n_hosts = sim.host_limit.shape[0]
        dest = index_in(action.host, n_hosts)
        if dest is None:
            return self._reject(action, f"unknown host {action.host!r}: valid 0..{n_hosts - 1}")
        src = int(sim.host_of[comp])
        if dest == src:
            return self._reject(action, f"component {comp} already runs on host {dest}")
        if not sim.host_up[src]:
            return self._reject(
                action, f"source host {src} is down: live migration impossible, shift to a spare"
            )
        if not sim.host_up[dest]:
            return self._reject(action, f"destination host {dest} is down")
        need = sim.reserve[comp].copy()
        room = sim.room()[dest]
        if (need > room + _ROOM_EPS).any():
            return self._reject(
                action,
                f"destination host {dest} lacks room: needs {need.round(3).tolist()}, "
                f"has {room.round(3).tolist()} (vCPU, MiB, KB/s, KB/s)",
            )
        sim.sync_now()
        plan = plan_migration(float(sim.alloc[comp, Resource.MEMORY]), sim.config.migration)
        now = sim.env.now
        ids = np.array([comp], dtype=np.intp)
        pre_end = now + plan.precopy_s
        outages = [
            Outage(now, pre_end, sim.config.migration.degradation, components=ids),
            Outage(pre_end, pre_end + plan.downtime_s, 0.0, components=ids),
        ]
        move = Move(MoveKind.MIGRATION, comp, src, dest, need, now, now + plan.duration_s, outages)
        self._start(move, sim.cost.migration(plan.copied_mib), EventKind.MIGRATION_START)
        return ActionResult(action, True, "", move.end_s)

    def shift(self, action: ShiftToSpareAction) -> ActionResult:
        """Validate and start a shift of a non-critical component onto a spare VM."""
        sim = self.sim
        comp = self._component(action)
        if isinstance(comp, str):
            return self._reject(action, comp)
        if sim.layout.critical[comp]:
            return self._reject(
                action,
                f"component {comp} is critical (first component or HIGH-priority app) and is "
                "never moved to a spare",
            )
        need = sim.reserve[comp].copy()
        choice = sim.pool.choose(need, sim.room(), sim.host_capacity, sim.host_up)
        if choice is None:
            counts = dict(zip([s.name for s in Readiness], sim.pool.counts().tolist(), strict=True))
            return self._reject(
                action,
                f"no spare available with room for {need.round(3).tolist()} (ready: {counts})",
            )
        state, dest = choice
        sim.sync_now()
        sim.pool.take(state, dest)
        now = sim.env.now
        ready_s = now + float(sim.pool.activation_s[state])
        end_s = ready_s + sim.config.pool.handover_s
        ids = np.array([comp], dtype=np.intp)
        outages = [Outage(ready_s, end_s, 0.0, components=ids)]
        move = Move(
            MoveKind.SHIFT, comp, int(sim.host_of[comp]), dest, need, now, end_s, outages, state
        )
        self._start(move, sim.cost.shift(), EventKind.SHIFT_START)
        sim.reconcile_pool()
        return ActionResult(action, True, f"spare {Readiness(state).name} on host {dest}", end_s)

    def _start(self, move: Move, cost: float, kind: EventKind) -> None:
        sim = self.sim
        for outage in move.outages:
            sim.outages.add(outage)
        sim.migrating[move.component] = True
        sim.snapshots.placement_changed()
        self.active.append(move)
        sums = sim.ledger.interval
        sums.migration_cost += cost
        sums.migrations += 1
        sim.reserved_changed()
        sim.log(SimEvent(move.start_s, kind, move.component, move.destination))
        sim.at(move.end_s - move.start_s, lambda: self._finish(move))

    def _finish(self, move: Move) -> None:
        if move.aborted:
            return
        sim = self.sim
        sim.sync_now()
        sim.snapshots.flush_host_usage()
        self.active.remove(move)
        comp = move.component
        sim.host_of[comp] = move.destination
        sim.migrating[comp] = False
        if move.kind is MoveKind.SHIFT:
            sim.on_spare[comp] = True
        sim.hosts_changed()
        kind = EventKind.SHIFT_END if move.kind is MoveKind.SHIFT else EventKind.MIGRATION_END
        sim.log(SimEvent(sim.env.now, kind, comp, move.destination))

    def abort_touching(self, host: int) -> None:
        """Abort the moves a failure of ``host`` makes impossible.

        Migrations from or to the host, and shifts to it, stop now: the component stays
        where it was and the rest of its outage windows is dropped. A shift away from the
        failed host goes on (a cold restart on the spare).
        """
        sim = self.sim
        now = sim.env.now
        for move in list(self.active):
            hit = move.destination == host or (
                move.kind is MoveKind.MIGRATION and move.source == host
            )
            if not hit:
                continue
            move.aborted = True
            self.active.remove(move)
            sim.migrating[move.component] = False
            sim.snapshots.placement_changed()
            for outage in move.outages:
                outage.end_s = min(outage.end_s, now)
                if outage.start_s >= now:
                    sim.outages.discard(outage)
            sim.reserved_changed()
            sim.log(SimEvent(now, EventKind.MOVE_ABORTED, move.component, host))
