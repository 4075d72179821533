"""The naive reference replay: one SimPy process per VM, scalar Python accounting.

It replays a workload under the reactive rule (or with fixed allocations) the way a
straightforward SimPy model would: every VM is a process that wakes up each tick, and
every figure is computed one scalar at a time. It implements the same model as the
vectorised :class:`~shadowsim.sim.simulator.Simulator` (scaling with latency, bounds and
host-room clamping, contention by priority class, throttling and drops, response time,
error rate, SLA violations, allocation and pool costs), so it serves two purposes: the
baseline of the speed benchmark, and an independent oracle that the tests compare the
simulator's KPIs with. It covers replay only: no migrations, shifts, pool changes or
failures (which are rare events, not per-tick work).

Each tick runs in phases, ordered by SimPy time offsets (16 integer time units per tick):
VMs land due scaling and decide (0), hosts work out the room for increases (1), VMs apply
their clamped targets and register the usage they want (2), hosts resolve contention and
VMs account their KPIs (8), applications check their SLA (12).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import simpy
from numpy.typing import NDArray

from shadowsim.errors import ConfigError
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.reactive import ReactiveConfig, ReactiveRule
from shadowsim.sim.simulator import Simulator
from shadowsim.workloads.workload import Priority, Workload

_R = range(N_RESOURCES)
_TINY = 1e-12
_COMPRESSIBLE = (True, False, True, True)
# SimPy time runs in integer units, 16 per tick, so that phases order exactly
_UNITS = 16
_CLAMP = 1  # hosts: room for increases
_APPLY = 2  # VMs: apply clamped targets, want usage
_CONTEND = 8  # hosts: contention; VMs: KPIs
_SLA = 12  # applications: SLA check


@dataclass(eq=False)
class NaiveResult:
    """What the naive replay measured.

    Attributes:
        demand: ``(C, 4)`` summed component demand.
        served: ``(C, 4)`` summed served usage.
        throttled: ``(C, 4)`` summed throttled demand.
        dropped: ``(C, 4)`` summed dropped demand.
        response_s: ``(T, A)`` response time per tick, s.
        throughput: ``(T, A)`` throughput per tick, requests/s.
        violation_ticks: ``(A,)`` ticks with a broken SLA.
        allocation_cost: Total allocation cost, cu.
        pool_cost: Total pool cost, cu.
        allocation: ``(C, 4)`` allocation at the end.
    """

    demand: NDArray[np.float64]
    served: NDArray[np.float64]
    throttled: NDArray[np.float64]
    dropped: NDArray[np.float64]
    response_s: NDArray[np.float64]
    throughput: NDArray[np.float64]
    violation_ticks: NDArray[np.int64]
    allocation_cost: float
    pool_cost: float
    allocation: NDArray[np.float64]


class NaiveReplay:
    """Replays ``n_ticks`` of a workload with one SimPy process per VM.

    Args:
        workload: The workload.
        config: Cluster parameters (the initial placement and pool come from a
            :class:`Simulator` built with them, so both start identical).
        rule: The reactive rule's parameters, or None to keep allocations fixed.
        n_ticks: Ticks to replay (default: all).

    Raises:
        ConfigError: For failures enabled, or a rule with ``components_per_app != 1``.
    """

    def __init__(
        self,
        workload: Workload,
        config: ClusterConfig,
        rule: ReactiveConfig | None = None,
        n_ticks: int | None = None,
    ) -> None:
        if config.faults.enabled:
            raise ConfigError("cluster.faults.enabled", "the naive replay has no failures")
        if rule is not None and config.components_per_app != 1:
            raise ConfigError("cluster.components_per_app", "the reactive rule needs 1")
        if config.control_every_ticks != 1:
            raise ConfigError("cluster.control_every_ticks", "the naive replay decides every tick")
        sim = Simulator(workload, config)
        self.rule = rule
        self.n_ticks = workload.n_ticks if n_ticks is None else min(n_ticks, workload.n_ticks)
        self.interval = float(workload.interval_s)
        layout = sim.layout
        n_comp = layout.n_components
        self.n_comp = n_comp
        self.n_apps = workload.n_apps
        self.app = layout.component_app.tolist()
        self.share = layout.component_share.tolist()
        self.cls = workload.priority[layout.component_app].astype(int).tolist()
        self.host = sim.host_of.tolist()
        self.n_hosts = sim.host_limit.shape[0]
        self.demand = workload.demand[:, : self.n_ticks, :].tolist()
        self.alloc = sim.alloc.tolist()
        self.reserve = [row[:] for row in self.alloc]
        self.pending = [row[:] for row in self.alloc]
        self.inflight: list[list[list[tuple[float, float]]]] = [
            [[] for _ in _R] for _ in range(n_comp)
        ]
        self.capacity = sim.host_capacity.tolist()
        self.limit = sim.host_limit.tolist()
        self.spare_held = sim.pool.held_by_host().tolist()
        self.low = sim.planner.low.tolist()
        self.high = sim.planner.high.tolist()
        self.latency = list(config.scaling.latency_s)
        self.sla_r = workload.sla_response_s.tolist()
        self.sla_e = workload.sla_max_error_rate.tolist()
        q = config.queue
        self.q = q
        self.buffer_ticks = [q.buffer_s / self.interval if c else 0.0 for c in _COMPRESSIBLE]
        self.half = [self.interval / 2.0 if c else 0.0 for c in _COMPRESSIBLE]
        self.price = sim.cost.prices.per_unit_s().tolist()
        self.pool_rate = sim.pool_cost_rate
        self.active = None if workload.active is None else workload.active.tolist()
        self.env = simpy.Environment()

    # -------------------------------------------------------------- the processes
    def run(self) -> NaiveResult:
        """Replay and return the measured figures."""
        n_comp, n_apps, n_t = self.n_comp, self.n_apps, self.n_ticks
        self.tot = {k: [[0.0] * N_RESOURCES for _ in range(n_comp)] for k in ("d", "s", "t", "x")}
        self.resp_hist = [[0.0] * n_apps for _ in range(n_t)]
        self.tput_hist = [[0.0] * n_apps for _ in range(n_t)]
        self.err_tick = [0.0] * n_apps
        self.violations = [0] * n_apps
        self.alloc_cost = 0.0
        self.last_served = [[0.0] * N_RESOURCES for _ in range(n_comp)]
        self.wanted_host = [[0.0] * N_RESOURCES for _ in range(self.n_hosts)]
        self.class_host = [[[0.0] * len(Priority) for _ in _R] for _ in range(self.n_hosts)]
        self.need_host = [[0.0] * N_RESOURCES for _ in range(self.n_hosts)]
        self.factor_host = [[1.0] * N_RESOURCES for _ in range(self.n_hosts)]
        self.served_frac = [[[1.0] * len(Priority) for _ in _R] for _ in range(self.n_hosts)]
        self.any_contention = False
        self.clamped: simpy.Event = self.env.event()
        self.resolved: simpy.Event = self.env.event()
        for c in range(n_comp):
            self.env.process(self._vm(c))
        self.env.process(self._hosts())
        self.env.process(self._apps())
        self.env.run(until=n_t * _UNITS)
        for c in range(n_comp):  # scaling decided in the last tick lands at its end
            self._land(c, n_t * self.interval, strict=True)
        arr = {k: np.asarray(v) for k, v in self.tot.items()}
        return NaiveResult(
            demand=arr["d"],
            served=arr["s"],
            throttled=arr["t"],
            dropped=arr["x"],
            response_s=np.asarray(self.resp_hist),
            throughput=np.asarray(self.tput_hist),
            violation_ticks=np.asarray(self.violations, dtype=np.int64),
            allocation_cost=self.alloc_cost,
            pool_cost=self.pool_rate * self.interval * n_t,
            allocation=np.asarray(self.alloc),
        )

    def _land(self, c: int, until_s: float, strict: bool) -> None:
        """Apply the scaling of ``c`` landing before (or at) ``until_s``."""
        for r in _R:
            queue = self.inflight[c][r]
            while queue and (queue[0][0] < until_s if strict else queue[0][0] <= until_s):
                self.alloc[c][r] = queue.pop(0)[1]
            top = self.alloc[c][r]
            for _, target in queue:
                top = max(top, target)
            self.reserve[c][r] = top

    def _vm(self, c: int) -> simpy.events.ProcessGenerator:
        env, step, rule = self.env, self.interval, self.rule
        a, h, share = self.app[c], self.host[c], self.share[c]
        window: list[list[float]] = [[] for _ in _R]
        targets = [math.nan] * N_RESOURCES
        for k in range(self.n_ticks):
            now = k * step
            self._land(c, now, strict=True)
            if rule is not None and k > 0:
                util, tol = rule.target_utilisation, rule.tolerance
                for r in _R:
                    cur = self.pending[c][r]
                    rec = ReactiveRule.recommend(self.last_served[c][r], cur, util[r], tol)
                    win = window[r]
                    win.append(rec)
                    if len(win) > rule.stabilisation_ticks:
                        win.pop(0)
                    desired = ReactiveRule.target(cur, rec, win)
                    t = min(max(desired * share, self.low[r]), self.high[r])
                    targets[r] = t
                    self.need_host[h][r] += max(t - self.reserve[c][r], 0.0)
            yield env.timeout(k * _UNITS + _APPLY - env.now)
            if rule is not None and k > 0:
                for r in _R:
                    t = targets[r]
                    if t != t:
                        continue
                    inc = max(t - self.reserve[c][r], 0.0)
                    f = self.factor_host[h][r]
                    if f < 1.0 and inc > 0:
                        t = min(t, self.reserve[c][r] + inc * f)
                    self.pending[c][r] = t
                    self.reserve[c][r] = max(self.reserve[c][r], t)
                    self.inflight[c][r].append((now + self.latency[r], t))
            self._land(c, now, strict=False)
            alloc = self.alloc[c]
            d = [self.demand[a][k][r] * share for r in _R] if share != 1.0 else self.demand[a][k]
            wanted = [min(d[r], alloc[r]) for r in _R]
            for r in _R:
                self.wanted_host[h][r] += wanted[r]
                self.class_host[h][r][self.cls[c]] += wanted[r]
            yield self.resolved
            self._account(c, k, d, wanted, alloc)
            yield env.timeout((k + 1) * _UNITS - env.now)

    def _account(
        self, c: int, k: int, d: list[float], wanted: list[float], alloc: list[float]
    ) -> None:
        """Scalar KPIs of component ``c`` in tick ``k`` (same algebra as the kernel)."""
        q, a, h, share = self.q, self.app[c], self.host[c], self.share[c]
        frac = self.served_frac[h]
        contended = self.any_contention
        survive = 1.0
        wait = 0.0
        tot = self.tot
        served = [0.0] * N_RESOURCES
        for r in _R:
            tot["d"][c][r] += d[r]
            if contended:
                uns = d[r] - wanted[r] * frac[r][self.cls[c]]
            else:
                uns = d[r] - alloc[r] if d[r] > alloc[r] else 0.0
            served[r] = d[r] - uns
            tot["s"][c][r] += served[r]
            if uns > 0.0:
                thr = min(uns, alloc[r] * self.buffer_ticks[r])
                drop = uns - thr
                tot["t"][c][r] += thr
                tot["x"][c][r] += drop
                survive *= 1.0 - drop / max(d[r], _TINY)
                wait = max(wait, thr * (self.half[r] / max(alloc[r], _TINY)))
            self.alloc_cost += alloc[r] * self.price[r] * self.interval
        self.last_served[c] = served
        inv_cpu = 1.0 / max(alloc[0], _TINY)
        rho = 1.0 - min(d[0] * inv_cpu, q.max_utilisation)
        resp = min((inv_cpu * q.request_cpu_s) / rho + wait, q.timeout_s)
        err = 1.0 - survive
        inv_rate = 1.0 / q.request_cpu_s
        self.resp_hist[k][a] += resp * share if share != 1.0 else resp
        self.tput_hist[k][a] += d[0] * inv_rate - d[0] * err * inv_rate
        self.err_tick[a] += err * share if share != 1.0 else err

    def _hosts(self) -> simpy.events.ProcessGenerator:
        env = self.env
        n_cls = len(Priority)
        for k in range(self.n_ticks):
            yield env.timeout(k * _UNITS + _CLAMP - env.now)
            reserved = [[0.0] * N_RESOURCES for _ in range(self.n_hosts)]
            for c in range(self.n_comp):
                for r in _R:
                    reserved[self.host[c]][r] += self.reserve[c][r]
            for h in range(self.n_hosts):
                for r in _R:
                    self.wanted_host[h][r] = 0.0
                    for p in range(n_cls):
                        self.class_host[h][r][p] = 0.0
                    room = max(self.limit[h][r] - (reserved[h][r] + self.spare_held[h][r]), 0.0)
                    need = self.need_host[h][r]
                    over = need > room * (1 + 1e-12) + 1e-9
                    self.factor_host[h][r] = room / need if over else 1.0
                    self.need_host[h][r] = 0.0
            yield env.timeout(k * _UNITS + _CONTEND - env.now)
            contended = False
            for h in range(self.n_hosts):
                for r in _R:
                    cap = self.capacity[h][r]
                    frac = self.served_frac[h][r]
                    for p in range(n_cls):
                        frac[p] = 1.0
                    if not self.wanted_host[h][r] > cap * (1.0 + 1e-12):
                        continue
                    contended = True
                    remaining = cap
                    for p in range(n_cls - 1, -1, -1):
                        need = self.class_host[h][r][p]
                        if need > remaining:
                            frac[p] = remaining / need
                        remaining = max(remaining - need, 0.0)
            self.any_contention = contended
            resolved, self.resolved = self.resolved, env.event()
            resolved.succeed()

    def _apps(self) -> simpy.events.ProcessGenerator:
        env = self.env
        for k in range(self.n_ticks):
            yield env.timeout(k * _UNITS + _SLA - env.now)
            for a in range(self.n_apps):
                resp = self.resp_hist[k][a]
                err = self.err_tick[a]
                self.err_tick[a] = 0.0
                active = self.active is None or self.active[a][k]
                if active and (resp > self.sla_r[a] or err > self.sla_e[a]):
                    self.violations[a] += 1
