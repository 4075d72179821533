"""The :class:`Simulator`: a SimPy cluster implementing :class:`~shadowsim.backend.ClusterBackend`.

SimPy carries the discrete events: control ticks (``advance``), scaling actuations,
spare provisioning and activations, migrations and host failures. Between two events the
allocations are constant, so the ticks in between are accounted in one vectorised block
across all VMs (:mod:`shadowsim.sim.kpis`); every event handler first accounts the ticks
before its effect (:meth:`Simulator._sync`). The modelling assumptions are listed in
:mod:`shadowsim.sim`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from functools import partial

import numpy as np
from numpy.typing import NDArray

from shadowsim.action_handling import ActionHandlers
from shadowsim.actions import (
    Action,
    ActionResult,
    PoolTargetAction,
    ScaleAllAction,
)
from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.errors import BackendError
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.clock import ControlClock
from shadowsim.sim.components import ComponentLayout
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.contention import ContentionResolver
from shadowsim.sim.faults import FaultProcess, FaultSampler
from shadowsim.sim.jit import use_jit
from shadowsim.sim.ledger import Ledger
from shadowsim.sim.mover import Mover
from shadowsim.sim.moves import EventKind, Move, SimEvent
from shadowsim.sim.outages import Outages
from shadowsim.sim.parts import sim_parts
from shadowsim.sim.placement import initial_cluster
from shadowsim.sim.pool import Provision, SparePool, invalid_pool_targets
from shadowsim.sim.reservations import HostReservations
from shadowsim.workloads.workload import Priority, Workload

_TIME_EPS = 1e-9


class Simulator:
    """A simulated cluster replaying a workload.

    Args:
        workload: The demand to replay (applications x ticks x 4).
        config: Cluster parameters; defaults when None.

    Raises:
        ConfigError: When the config is invalid or the workload does not fit ``n_hosts``.
    """

    def __init__(self, workload: Workload, config: ClusterConfig | None = None) -> None:
        cfg = config if config is not None else ClusterConfig()
        self.workload = workload
        self.config = cfg
        self.interval_s = float(workload.interval_s)
        self._n_ticks = workload.n_ticks
        self.rng = np.random.default_rng(cfg.seed)
        self.jit = use_jit(cfg.kernel, "cluster.kernel")
        parts = sim_parts(self.jit)
        layout = ComponentLayout.build(
            workload.priority, cfg.components_per_app, cfg.component_shares
        )
        self.layout = layout
        start = initial_cluster(workload, cfg, layout, parts.pack)
        alloc, self.clipped_initial, n_hosts = start.allocation, start.clipped, start.n_hosts
        low, high = start.low, start.high
        n_comp = layout.n_components
        self.host_capacity = np.tile(start.host_capacity, (n_hosts, 1))
        self.host_capacity.setflags(write=False)
        self.host_limit = self.host_capacity * np.asarray(cfg.overcommit)
        priority = workload.priority
        self._spec = ClusterSpec(
            app_ids=workload.app_ids,
            priority=priority,
            sla_response_s=workload.sla_response_s,
            sla_max_error_rate=workload.sla_max_error_rate,
            component_app=layout.component_app,
            component_share=layout.component_share,
            component_critical=layout.critical,
            host_capacity=self.host_capacity,
            interval_s=self.interval_s * cfg.control_every_ticks,
        )
        # state
        self.alloc = alloc
        self.pending = alloc.copy()
        self.reserve = alloc.copy()
        self.host_of = start.host_of
        self.migrating = np.zeros(n_comp, dtype=np.bool_)
        self.on_spare = np.zeros(n_comp, dtype=np.bool_)
        self.host_up = np.ones(n_hosts, dtype=np.bool_)
        self.events: list[SimEvent] = []
        self.cells = (self.host_of[:, None] * N_RESOURCES + np.arange(N_RESOURCES)).ravel()
        self.reservations = HostReservations(self)
        # models
        self.pool = SparePool(cfg.pool, n_hosts, start.spare_size)
        for state, host in zip(start.spare_states, start.spare_hosts, strict=True):
            self.pool.ready[host, state] += 1
        comp_reserved = np.bincount(
            self.cells, weights=alloc.ravel(), minlength=self.host_limit.size
        ).reshape(self.host_limit.shape)
        self.pool.add_ready(
            start.unplaced_spares, self.host_limit - comp_reserved, self.host_capacity
        )
        self.cost = parts.cost(cfg.prices)
        self.contention = ContentionResolver(
            self.host_capacity, priority[layout.component_app], len(Priority)
        )
        self.contention.set_hosts(self.host_of)
        self.kernel = parts.kernel(
            cfg.queue,
            layout,
            self.interval_s,
            workload.sla_response_s,
            workload.sla_max_error_rate,
            self.contention,
            min(cfg.max_block_ticks, workload.n_ticks),  # max_block
        )
        self.ledger = Ledger(n_comp, workload.n_apps)
        self.outages = Outages(self.interval_s, n_comp)
        self.feed = parts.feed(workload, layout, self.kernel.max_block)
        self.planner = parts.planner(layout, low, high, n_hosts)
        self.env = ControlClock()
        self._tick = 0
        self._control = 0
        self._alloc_rate = 0.0
        self._known_rate: float | None = None
        self._pool_rate = 0.0
        self._overcommitted = bool(max(cfg.overcommit) > 1.0)
        self._refresh_allocation()
        self.moves = Mover(self)
        self.scaler = parts.scaler(self)
        self._actions = ActionHandlers(
            scale_all=self.scaler.scale_all,
            scale_one=self.scaler.scale_one,
            migrate=self.moves.migrate,
            shift=self.moves.shift,
            pool_target=self._pool_target,
        )
        self.snapshots = parts.snapshots(self)
        self._interval_end = None if parts.interval_end is None else parts.interval_end(self)
        self._pool_short = False
        self.reconcile_pool()
        self._state = self.snapshots.initial()
        if cfg.faults.enabled:
            self.env.process(FaultProcess(self, FaultSampler(cfg.faults, self.rng)).run())

    # ------------------------------------------------------------------ protocol
    @property
    def spec(self) -> ClusterSpec:
        """The static description of the cluster."""
        return self._spec

    @property
    def now_s(self) -> float:
        """Simulated time since the first tick, s."""
        return self._tick * self.interval_s

    @property
    def done(self) -> bool:
        """True once every workload tick has been accounted."""
        return self._tick >= self._n_ticks

    @property
    def tick(self) -> int:
        """Next workload tick to account."""
        return self._tick

    @property
    def pool_cost_rate(self) -> float:
        """Current holding cost of the spare pool, cu/s."""
        return self._pool_rate

    def observe(self) -> ClusterState:
        """The snapshot made by the last :meth:`advance` (an initial one before any)."""
        return self._state

    def advance(self) -> ClusterState:
        """Run to the next control tick, account every tick on the way, return the snapshot.

        The snapshot is a new object whose arrays are views of the simulator's buffers,
        valid until the next call (``state.copy()`` keeps one; see :mod:`shadowsim.sim`).

        Raises:
            BackendError: When the workload has already ended.
        """
        if self.done:
            raise BackendError(
                f"the workload ended at tick {self.workload.n_ticks}; build a new Simulator "
                "to replay it again"
            )
        self._control += 1
        target = min(self._control * self.config.control_every_ticks, self._n_ticks)
        self.env.run_to(target * self.interval_s)
        state = None if self._interval_end is None else self._interval_end.finish(target)
        if state is None:
            self._sync(target)
            self.reconcile_if_short()
            state = self.snapshots.build()
        self._state = state
        return state

    def fast_forward(self, n_ticks: int) -> ClusterState:
        """Run ``n_ticks`` control ticks with no action in between; return the last snapshot.

        The same end state and the same snapshot as ``n_ticks`` calls of :meth:`advance`
        (e.g. a lead-in before an episode), faster: the ticks before the last are accounted
        in blocks and closed as one interval, whose snapshot is not kept; the last tick is a
        normal :meth:`advance`. Only the ledger's running totals may differ, by rounding
        (one interval of ``n_ticks - 1`` ticks added instead of ``n_ticks - 1`` intervals).
        With failures enabled, or spares still waiting for room (both act at control
        ticks), it is the :meth:`advance` loop itself.

        Raises:
            BackendError: ``n_ticks`` is not a positive integer, or the workload ends first.
        """
        if isinstance(n_ticks, bool) or not isinstance(n_ticks, int | np.integer) or n_ticks < 1:
            raise BackendError(f"fast_forward needs a positive number of ticks, got {n_ticks!r}")
        skip = int(n_ticks) - 1
        if skip and not self.done and not self._pool_short and not self.config.faults.enabled:
            self._control += skip
            target = min(self._control * self.config.control_every_ticks, self._n_ticks)
            self.env.run_to(target * self.interval_s)
            self._sync(target)
            self.snapshots.build()  # closes the skipped ticks' interval into the totals
            skip = 0
        for _ in range(skip):
            self.advance()
        return self.advance()

    def apply(self, actions: Sequence[Action]) -> list[ActionResult]:
        """Validate and start each action; one :class:`ActionResult` per action, in order."""
        if len(actions) == 1 and type(actions[0]) is ScaleAllAction:  # every-tick policies
            return [self.scaler.scale(actions[0], actions[0].targets)]
        return self._actions.apply(actions)

    # ------------------------------------------------------------------ time and accounting
    def tick_at(self, time_s: float) -> int:
        """First tick starting at or after ``time_s``: where an effect at that time lands."""
        return math.ceil(time_s / self.interval_s - _TIME_EPS)

    def at(self, delay_s: float, handler: Callable[[], None]) -> None:
        """Run ``handler`` as a SimPy event ``delay_s`` from now."""
        self.env.call_in(delay_s, lambda _event: handler(), None)

    def _sync(self, until_tick: int) -> None:
        """Account every tick before ``until_tick``, putting due scaling in force on the way.

        Scaling whose landing time has come is in force from its tick boundary
        (:meth:`Scaler.land <shadowsim.sim.scaler.Scaler.land>`): the ticks before it are
        accounted first, with the state as it is now.
        """
        until_tick = min(until_tick, self._n_ticks)
        due = self.scaler.due
        while True:
            stop = until_tick if not due else min(until_tick, due[0].boundary)
            if self._tick < stop:
                self._account(stop)
            if not due or due[0].boundary > self._tick:
                return
            self.scaler.land_due()

    def _account(self, until_tick: int) -> None:
        """Account the ticks before ``until_tick`` with the state as it is now."""
        sums = self.ledger.interval
        self.refresh_allocation()
        while self._tick < until_tick:
            n = min(until_tick - self._tick, self.kernel.max_block)
            start_s = self._tick * self.interval_s
            service = self.outages.service(start_s, n, self.host_of) if len(self.outages) else None
            demand, active = self.feed.block(self._tick, n)
            self.kernel.account(demand, service, active, sums)
            self.record_block(n)

    def record_block(self, n: int) -> None:
        """After ``n`` ticks were accounted: add their allocation and pool costs, move on."""
        span_s = n * self.interval_s
        sums = self.ledger.interval
        sums.allocation_cost += self._alloc_rate * span_s
        sums.pool_cost += self._pool_rate * span_s
        self._tick += n

    def sync_now(self) -> None:
        """Account the ticks before the current SimPy time (call before changing state)."""
        self._sync(self.tick_at(self.env.now))

    # ------------------------------------------------------------------ derived state
    def allocation_changed(self, rate: float | None = None) -> None:
        """Mark what depends on the allocation stale (refreshed before the next block).

        Args:
            rate: The new allocation's cost rate, cu/s, when the caller computed it.
        """
        self._alloc_dirty = True
        self.reservations.allocation_changed()
        self._known_rate = rate

    def refresh_allocation(self) -> None:
        """Bring what depends on the allocation up to date, if it changed."""
        if self._alloc_dirty:
            self._refresh_allocation()

    def _refresh_allocation(self) -> None:
        self.kernel.set_allocation(self.alloc, check_contention=self._overcommitted)
        rate = self._known_rate
        self._alloc_rate = self.cost.allocation_rate(self.alloc) if rate is None else rate
        self._alloc_dirty = False

    def hosts_changed(self) -> None:
        """Refresh what depends on where components run (call after a move)."""
        self.cells = (self.host_of[:, None] * N_RESOURCES + np.arange(N_RESOURCES)).ravel()
        self.contention.set_hosts(self.host_of)
        self.allocation_changed()
        self.snapshots.placement_changed()

    def reserved_changed(self) -> None:
        """Drop the cached host reservations (call after any reservation changes)."""
        self.reservations.changed()

    def host_reserved(self) -> NDArray[np.float64]:
        """``(H, 4)`` capacity reserved per host: components, in-flight moves and spares."""
        return self.reservations.total()

    def room(self) -> NDArray[np.float64]:
        """``(H, 4)`` room left per host: capacity x overcommit minus reservations."""
        room: NDArray[np.float64] = self.host_limit - self.host_reserved()
        return room

    def log(self, event: SimEvent) -> None:
        """Keep a notable event."""
        self.events.append(event)

    # ------------------------------------------------------------------ pool
    def _pool_target(self, action: PoolTargetAction) -> ActionResult:
        problem = invalid_pool_targets(action.targets, self.config.pool)
        if problem:
            return ActionResult(action, False, problem)
        self.sync_now()
        self.pool.target = np.asarray(action.targets, dtype=np.int64)
        unplaced = self.reconcile_pool()
        reason = f"{unplaced} spare(s) not placed yet: no host has room" if unplaced else ""
        return ActionResult(action, True, reason, self.env.now)

    def reconcile_pool(self) -> int:
        """Move the pool toward its target; returns spares that could not be placed."""
        done = self.pool.reconcile(self.room(), self.host_capacity, self.host_up, self.env.now)
        for batch in done.started:
            delay = batch.ready_at_s - self.env.now
            self.at(delay, partial(self._spares_ready, batch))
        self._pool_short = done.unplaced > 0
        self._pool_changed()
        return done.unplaced

    @property
    def pool_short(self) -> bool:
        """True while spares wait for a host with room."""
        return self._pool_short

    def reconcile_if_short(self) -> None:
        """Try again to place the spares that found no room last time, if any."""
        if self._pool_short:
            self.reconcile_pool()

    def _spares_ready(self, batch: Provision) -> None:
        self.sync_now()
        if batch in self.pool.provisioning:
            self.log(SimEvent(self.env.now, EventKind.SPARES_READY, count=len(batch.hosts)))
        self.pool.complete(batch)
        self._pool_changed()

    def _pool_changed(self) -> None:
        self._pool_rate = self.cost.pool_rate(
            self.pool.holding_counts(), self.pool.holding, self.pool.spare_size
        )
        self.reservations.pool_changed()
        self.snapshots.pool_changed()

    def moving(self) -> list[Move]:
        """Moves in flight."""
        return list(self.moves.active)
