""":class:`LibvirtBackend`: the :class:`~shadowsim.backend.ClusterBackend` of real hypervisors.

The mapping from the backend protocol to libvirt is documented in :mod:`shadowsim.live`.
Time: backend time 0 is when the backend is built; tick ``k`` ends at ``k * interval_s``
on the configured clock. :meth:`LibvirtBackend.advance` waits (sleeps on a wall clock) until
the next tick, reads every component domain, and reports the interval's usage, the
allocation in force, the pool and host state, estimated KPIs and costs. Actions take
effect when :meth:`LibvirtBackend.apply` returns (libvirt calls are synchronous, and
``migrating`` is all False), but for memory: a new memory allocation is a balloon target
the guest reaches in its own time, shown in ``pending_allocation`` until it gets there
(:mod:`shadowsim.live.balloon`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
from numpy.typing import NDArray

from shadowsim.action_handling import (
    ActionHandlers,
    invalid_pool_targets,
    scale_all_targets,
    scale_one_targets,
    scale_reason,
)
from shadowsim.actions import (
    Action,
    ActionResult,
    PoolTargetAction,
    ScaleAction,
    ScaleAllOutcome,
)
from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.errors import BackendError
from shadowsim.live.balloon import BalloonTargets
from shadowsim.live.binding import error_text, is_libvirt_error, load_libvirt
from shadowsim.live.clock import Clock, make_clock
from shadowsim.live.components import find_components
from shadowsim.live.config import LiveConfig
from shadowsim.live.cost_account import CostAccount
from shadowsim.live.domain_reading import DomainReader, DomainReading
from shadowsim.live.hosts import HostSet
from shadowsim.live.moves import LiveMover
from shadowsim.live.scaling import LiveScaler, ScaleRequest
from shadowsim.live.snapshot import frozen, snapshot
from shadowsim.live.spare_pool import SparePool
from shadowsim.live.spare_template import SpareTemplate
from shadowsim.live.tuning import DomainTuner
from shadowsim.live.usage_meter import UsageMeter
from shadowsim.readiness import N_READINESS
from shadowsim.resources import N_RESOURCES, Resource
from shadowsim.sim.cost import CostModel

_LATE_SHARE = 0.1  # a tick starting later than this share of the interval is reported
T = TypeVar("T")


class LibvirtBackend:
    """A cluster of libvirt hosts, observed and acted on through the libvirt API.

    Args:
        config: Hosts, applications, pool, interval and prices.
        clock: The clock to wait on (default: ``config.clock``).

    Raises:
        LibvirtUnavailableError: libvirt-python is not installed.
        BackendError: A host cannot be reached, or a domain cannot be read.
        ConfigError: The components cannot be found as configured, or the spare template
            is unusable.
    """

    kpis_are_estimates: ClassVar[bool] = True
    """Response times and error rates are estimated (:mod:`shadowsim.live.kpi_estimate`)."""

    def __init__(self, config: LiveConfig, *, clock: Clock | None = None) -> None:
        lv = load_libvirt()
        self.lv = lv
        self.config = config
        self.hosts = HostSet(lv, config)
        try:
            self._build(config, clock)
        except BaseException:
            self.hosts.close()
            raise

    def _build(self, config: LiveConfig, clock: Clock | None) -> None:
        lv = self.lv
        layout = find_components(config, self.hosts)
        self.layout = layout
        self.domain_names = list(layout.domains)
        self.domains: list[Any] = []
        for name, host in zip(layout.domains, layout.hosts, strict=True):
            dom = self.hosts.lookup(host, name)
            if dom is None:
                raise BackendError(f"domain {name!r} vanished from host {self.hosts.names[host]}")
            self.domains.append(dom)
        n_comp = len(self.domains)
        self.host_of = np.array(layout.hosts, dtype=np.intp)
        self.on_spare = np.zeros(n_comp, dtype=np.bool_)
        apps = layout.apps
        self._spec = ClusterSpec(
            app_ids=tuple(a.id for a in apps),
            priority=frozen(np.array([int(a.priority) for a in apps], dtype=np.int8)),
            sla_response_s=frozen(np.array([a.sla_response_s for a in apps])),
            sla_max_error_rate=frozen(np.array([a.sla_max_error_rate for a in apps])),
            component_app=frozen(np.array(layout.component_app, dtype=np.intp)),
            component_share=frozen(np.array(layout.share)),
            component_critical=frozen(np.array(layout.critical, dtype=np.bool_)),
            host_capacity=self.hosts.capacity,
            interval_s=config.interval_s,
        )
        self.limit = self.hosts.capacity * np.asarray(config.overcommit)
        self.reader = DomainReader(lv)
        self.tuner = DomainTuner(lv, config.persist)
        self.scaler = LiveScaler(
            self.tuner,
            self._spec.component_app,
            self._spec.component_share,
            np.asarray(config.min_allocation),
            np.asarray(config.overcommit),
            config.vcpu_rounding,
        )
        template = SpareTemplate.load(config.pool.template) if config.pool.template else None
        self.pool = SparePool(lv, self.hosts, config.pool, template)
        self.pool.adopt(set(layout.domains))
        self.cost = CostModel(config.prices)
        self.meter = UsageMeter(n_comp)
        self.balloons = BalloonTargets()
        self.moves = LiveMover(self)
        self._actions = ActionHandlers(
            scale_all=lambda action: self._scale(action, action.targets),
            scale_one=self._scale_one,
            migrate=self.moves.migrate,
            shift=self.moves.shift,
            pool_target=self._pool_target,
        )
        self.clock = clock if clock is not None else make_clock(config.clock)
        self.start_time_s = config.start_time_s if config.start_time_s is not None else time.time()
        self.notes: list[str] = []
        self.last_notes: list[str] = []
        self._control = 0
        self._tick = -1
        self._closed = False
        readings = self.read_components()
        for c, reading in enumerate(readings):
            self.meter.baseline(c, reading)
        self.refresh_allocation(readings)
        self.costs = CostAccount(self.clock.now_s())
        self.pool.target = np.asarray(config.pool.initial_target, dtype=np.int64)
        self.pool_short = self.pool.reconcile(self.room()) > 0
        self.notes.extend(self.pool.notes)
        self.pool.notes.clear()
        self._refresh_rates()
        zeros = np.zeros((n_comp, N_RESOURCES))
        self._state = snapshot(self, zeros, estimate=False)

    # ------------------------------------------------------------------ protocol
    @property
    def spec(self) -> ClusterSpec:
        """The static description of the cluster."""
        return self._spec

    @property
    def now_s(self) -> float:
        """Backend time since start, s (on the configured clock)."""
        return self.clock.now_s()

    @property
    def done(self) -> bool:
        """True once ``live.max_ticks`` ticks have passed, or after :meth:`close`."""
        limit = self.config.max_ticks
        return self._closed or (limit is not None and self._control >= limit)

    @property
    def tick(self) -> int:
        """Index of the last tick accounted (-1 before the first :meth:`advance`)."""
        return self._tick

    def observe(self) -> ClusterState:
        """The snapshot made by the last :meth:`advance` (an initial one before any)."""
        return self._state

    def advance(self) -> ClusterState:
        """Wait for the next control tick, read every component, return the snapshot.

        Raises:
            BackendError: The backend is done, or a component domain cannot be read.
        """
        if self.done:
            raise BackendError(
                "the live backend is done (live.max_ticks reached or closed); build a new one"
            )
        self._control += 1
        deadline = self._control * self.config.interval_s
        late = self.clock.now_s() - deadline
        if late > _LATE_SHARE * self.config.interval_s:
            self.notes.append(
                f"tick {self._control - 1} started {late:.1f} s late: the control loop takes "
                "longer than live.interval_s; raise it"
            )
        self.clock.sleep_until(deadline)
        self.pool_refresh()
        readings = self.read_components()
        usage = self.meter.measure(readings)
        self.notes.extend(self.meter.gaps)
        in_force = self.allocation
        self.costs.accrue(self.clock.now_s())
        self.refresh_allocation(readings)
        self._tick += 1
        self._state = snapshot(self, usage, estimate=True, in_force=in_force)
        self.costs.close_interval()
        self.last_notes, self.notes = self.notes, []
        return self._state

    def apply(self, actions: Sequence[Action]) -> list[ActionResult]:
        """Carry out each action now; one :class:`ActionResult` per action, in order."""
        return self._actions.apply(actions)

    def close(self) -> None:
        """Close the libvirt connections; the backend is done afterwards."""
        self._closed = True
        self.hosts.close()

    def __enter__(self) -> LibvirtBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ reading
    def read_components(self) -> list[DomainReading]:
        """A fresh reading of every component domain.

        Raises:
            BackendError: libvirt cannot read a domain (names it and the reason).
        """
        readings: list[DomainReading] = []
        for c, dom in enumerate(self.domains):
            try:
                readings.append(self.reader.read(dom))
            except Exception as err:
                if not is_libvirt_error(err):
                    raise
                raise BackendError(
                    f"component {c} ({self.domain_names[c]} on host "
                    f"{self.hosts.names[self.host_of[c]]}): cannot read the domain: "
                    f"{error_text(err)}"
                ) from err
        return readings

    def allocation_of(self, readings: list[DomainReading]) -> NDArray[np.float64]:
        """``(C, 4)`` allocation: vCPUs, memory, I/O limits (unlimited = host capacity)."""
        alloc = np.zeros((len(readings), N_RESOURCES))
        cap = self.hosts.capacity
        for c, r in enumerate(readings):
            host = self.host_of[c]
            alloc[c, Resource.CPU] = r.vcpus
            alloc[c, Resource.MEMORY] = r.memory_mib
            disk, net = r.disk_limit_kbs, r.net_limit_kbs
            alloc[c, Resource.DISK] = cap[host, Resource.DISK] if disk is None else disk
            alloc[c, Resource.NETWORK] = cap[host, Resource.NETWORK] if net is None else net
        return alloc

    def refresh_allocation(self, readings: list[DomainReading]) -> None:
        """Take the allocation in force from ``readings``, and the pending allocation: the
        same with the memory targets the guests have not reached yet."""
        self.allocation = self.allocation_of(readings)
        self.pending = self.balloons.pending(self.allocation, readings)

    def host_allocated(self) -> NDArray[np.float64]:
        """``(H, 4)`` allocated per host: components (the larger of the allocation in force
        and the pending one) plus what spares hold."""
        total = np.zeros((self.hosts.n_hosts, N_RESOURCES))
        np.add.at(total, self.host_of, np.fmax(self.allocation, self.pending))
        return total + self.pool.held_by_host()

    def room(self) -> NDArray[np.float64]:
        """``(H, 4)`` room left per host: capacity x overcommit minus allocations."""
        result: NDArray[np.float64] = self.limit - self.host_allocated()
        return result

    def pool_refresh(self) -> None:
        """Re-read the spares' states; retry reconciling a pool that was short."""
        self.pool.refresh()
        if self.pool_short:
            self.changed(lambda: self.pool.reconcile(self.room()))
        self.notes.extend(self.pool.notes)
        self.pool.notes.clear()

    # ------------------------------------------------------------------ costs
    def _refresh_rates(self) -> None:
        self.costs.set_rates(
            self.cost.allocation_rate(self.allocation),
            self.cost.vm_rate(self.pool.holding_units()),
        )

    def changed(self, change: Callable[[], T]) -> T:
        """Run ``change()`` (which alters allocations or the pool) with exact cost accounting."""
        self.costs.accrue(self.clock.now_s())
        result = change()
        self._refresh_rates()
        return result

    def charge_move(self, cost: float) -> None:
        """Record one migration or shift costing ``cost`` cu."""
        self.costs.charge_move(cost)

    # ------------------------------------------------------------------ actions
    def _scale_one(self, action: ScaleAction) -> ActionResult:
        targets = scale_one_targets(action, self._spec.n_apps)
        if isinstance(targets, str):
            return ActionResult(action, False, targets)
        return self._scale(action, targets)

    def _scale(self, action: Action, raw: object) -> ActionResult:
        targets = scale_all_targets(raw, self._spec.n_apps)
        if isinstance(targets, str):
            return ActionResult(action, False, targets)
        readings = self.read_components()
        self.refresh_allocation(readings)
        request = ScaleRequest(
            readings=readings,
            allocation=self.pending,
            domains=self.domains,
            host_of=self.host_of,
            host_capacity=self.hosts.capacity,
            host_allocated=self.host_allocated(),
            rx_share=self.meter.rx_share,
        )
        outcome, changes = self.changed(lambda: self._scale_now(targets, request))
        started = bool(outcome.accepted.any())
        given = started or bool(outcome.rejected_reasons)
        n_clamped = int(np.count_nonzero(outcome.clamped))
        reason = scale_reason(given, n_clamped, outcome.rejected_reasons)
        effective = self.now_s if changes or started else None
        return ActionResult(action, started or not given, reason, effective, outcome)

    def _scale_now(
        self, targets: NDArray[np.float64], request: ScaleRequest
    ) -> tuple[ScaleAllOutcome, int]:
        result = self.scaler.scale(targets, request)
        for c in np.flatnonzero(~np.isnan(result.set_to[:, Resource.MEMORY])):
            self.balloons.set(int(c), result.set_to[c, Resource.MEMORY], request.readings[c])
        self.refresh_allocation(self.read_components())
        return result.outcome, result.changes

    def _pool_target(self, action: PoolTargetAction) -> ActionResult:
        targets = action.targets
        problem = invalid_pool_targets(
            targets, N_READINESS, self.config.pool.max_per_state, "live.pool.max_per_state"
        )
        if problem:
            return ActionResult(action, False, problem)
        self.pool.target = np.asarray(targets, dtype=np.int64)
        missing = self.changed(lambda: self.pool.reconcile(self.room()))
        self.pool_short = missing > 0
        notes = list(self.pool.notes)
        self.notes.extend(notes)
        self.pool.notes.clear()
        reason = "; ".join(notes)
        if missing:
            reason = f"{missing} spare(s) missing: " + (reason or "no host has room")
        return ActionResult(action, True, reason, self.now_s)
