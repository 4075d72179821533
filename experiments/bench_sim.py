"""Benchmark of the cluster simulator: vectorised replay against the naive SimPy way.

``python -m experiments.bench_sim`` replays 1,000 VMs (1,000 single-component applications
of the synthetic workload) for 2,016 five-minute ticks (one week) x 4 resources under the
reactive threshold rule (:mod:`shadowsim.sim.reactive`: tolerance 0.1, scale-down
stabilisation window), applied each control tick through the bulk ``ScaleAllAction``, with
full accounting: host contention (CPU overcommitted 1.5x), throttling and drops, response
times, error rates, SLA violations, allocation and spare-pool costs.

It runs the :class:`~shadowsim.sim.simulator.Simulator` at three control intervals (every
tick, every 3 ticks, every 12 ticks) with the per-tick kernels of ``BENCH_SIM_KERNEL``
(``cluster.kernel``: AUTO, the compiled kernels when numba is installed), the every-tick case
again with the numpy reference kernels, and the naive reference
(:class:`~shadowsim.sim.naive.NaiveReplay`: one SimPy process per VM advancing each tick,
scalar Python accounting) on the first ``NAIVE_TICKS`` ticks of the every-tick case, whose
KPIs it compares with a simulator replay of the same prefix. The compiled kernels are
compiled (or loaded from numba's cache) on a short replay before any timing; a timed replay
starts once its simulator is built. Every replay reads the workload's tick-major demand,
made once by the first simulator over it and shared (:mod:`shadowsim.sim.demand_store`), as
an RL run's episodes do. Timings are wall-clock on one thread (BLAS threads are limited to 1
before numpy loads); run it pinned to one core (``taskset -c 1``) on a quiet machine: the
1-minute load average is printed, and the replays' CPU time too (the thread's own,
``time.thread_time``: what the wall time would be on an otherwise idle core, short of the
cache and memory bandwidth other processes take). The last line printed is one JSON object;
``vm_steps_per_s`` is the every-tick run, policy included (the mean over the whole replay);
``median_us_per_tick`` and ``vm_steps_per_s_at_median_tick`` give the median control
interval of that run and the rate at its speed, which slow ticks (busy hours: more
components over their allocation) and other processes move less.

Environment variables: ``BENCH_SIM_APPS`` (1000), ``BENCH_SIM_TICKS`` (2016),
``BENCH_SIM_NAIVE_TICKS`` (288), ``BENCH_SIM_REPEATS`` (3, best of), ``BENCH_SIM_KERNEL``
(AUTO; JIT or NUMPY).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import gc  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

import numpy as np  # noqa: E402

from shadowsim.errors import ConfigError  # noqa: E402
from shadowsim.sim.config import ClusterConfig  # noqa: E402
from shadowsim.sim.jit import Kernel, use_jit  # noqa: E402
from shadowsim.sim.naive import NaiveReplay  # noqa: E402
from shadowsim.sim.reactive import ReactiveConfig, ReactiveRule  # noqa: E402
from shadowsim.sim.simulator import Simulator  # noqa: E402
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator  # noqa: E402
from shadowsim.workloads.workload import Workload  # noqa: E402

CONTROL_EVERY = (1, 3, 12)


@dataclass(frozen=True)
class Replay:
    """Figures of one vectorised replay.

    Attributes:
        control_every: Ticks per control interval.
        wall_s: Wall time of the whole loop (policy + simulator), s.
        cpu_s: CPU time of the thread over the same loop, s.
        policy_s: Part of the wall time spent in the policy's decisions, s.
        median_interval_s: Median wall time of one control interval (decide, apply,
            advance), s: less moved by other processes than the mean ``wall_s`` gives.
        vm_steps: VMs x ticks replayed.
        interval_vm_steps: VMs x ticks of one control interval.
        sla_violation_share: Share of app-ticks with a broken SLA.
        dropped_share: Dropped demand / demand, per resource.
        cost_total: Total cost, cu.
    """

    control_every: int
    wall_s: float
    cpu_s: float
    policy_s: float
    median_interval_s: float
    vm_steps: int
    interval_vm_steps: int
    sla_violation_share: float
    dropped_share: list[float]
    cost_total: float

    @property
    def vm_steps_per_s(self) -> float:
        """VM-steps per second, policy included."""
        return self.vm_steps / self.wall_s

    @property
    def median_vm_steps_per_s(self) -> float:
        """VM-steps per second at the median control interval's speed, policy included."""
        return self.interval_vm_steps / self.median_interval_s

    @property
    def cpu_vm_steps_per_s(self) -> float:
        """VM-steps per second of the thread's CPU time, policy included."""
        return self.vm_steps / self.cpu_s

    @property
    def sim_vm_steps_per_s(self) -> float:
        """VM-steps per second of the simulator alone (policy time taken out)."""
        return self.vm_steps / (self.wall_s - self.policy_s)


def cluster_config(control_every: int, kernel: Kernel = Kernel.AUTO) -> ClusterConfig:
    """The benchmark cluster: one VM per application, CPU overcommitted 1.5x."""
    return ClusterConfig(
        components_per_app=1,
        overcommit=(1.5, 1.0, 1.0, 1.0),
        control_every_ticks=control_every,
        max_block_ticks=16,
        kernel=kernel,
    )


def replay(
    workload: Workload, control_every: int, kernel: Kernel = Kernel.AUTO
) -> tuple[Replay, Simulator]:
    """Replay the whole workload under the reactive rule; time it (not building it)."""
    sim = Simulator(workload, cluster_config(control_every, kernel))
    rule = ReactiveRule(ReactiveConfig(kernel=kernel), workload.n_apps)
    gc.collect()  # garbage of earlier runs is not this one's to collect
    clock = time.perf_counter
    policy = 0.0
    marks: list[float] = []  # the start of each control interval, then the end
    cpu_start = time.thread_time()
    start = clock()
    state = sim.advance()
    while not sim.done:
        t0 = clock()
        marks.append(t0)
        action = rule.decide(state)
        policy += clock() - t0
        sim.apply([action])
        state = sim.advance()
    end = clock()
    wall = end - start
    cpu = time.thread_time() - cpu_start
    marks.append(end)
    totals = sim.ledger.totals
    demand = totals.demand.sum(axis=0)
    dropped = np.divide(totals.dropped.sum(axis=0), np.maximum(demand, 1e-300))
    figures = Replay(
        control_every=control_every,
        wall_s=wall,
        cpu_s=cpu,
        policy_s=policy,
        median_interval_s=float(np.median(np.diff(marks))) if len(marks) > 1 else wall,
        vm_steps=sim.layout.n_components * workload.n_ticks,
        interval_vm_steps=sim.layout.n_components * control_every,
        sla_violation_share=float(totals.violation_ticks.sum() / (workload.n_apps * totals.ticks)),
        dropped_share=[float(x) for x in dropped],
        cost_total=totals.cost.total,
    )
    return figures, sim


def warm_up(workload: Workload, kernel: Kernel) -> float:
    """Compile (or load from cache) the kernels on a short replay; returns its wall time, s."""
    start = time.perf_counter()
    prefix = workload.window(0, min(workload.n_ticks, 8))
    for every in (1, 3):  # the one-call interval end, and the general path
        replay(prefix, every, kernel)
    return time.perf_counter() - start


def best_replay(workload: Workload, every: int, kernel: Kernel, repeats: int) -> Replay:
    """The fastest of ``repeats`` replays."""
    runs = [replay(workload, every, kernel)[0] for _ in range(repeats)]
    return min(runs, key=lambda r: r.wall_s)


def naive_check(workload: Workload, n_ticks: int, kernel: Kernel) -> dict[str, float]:
    """Naive replay of the first ``n_ticks`` ticks, timed, and its KPIs against the simulator's."""
    prefix = workload.window(0, n_ticks)
    config = cluster_config(1)
    naive = NaiveReplay(prefix, config, ReactiveConfig())
    start = time.perf_counter()
    result = naive.run()
    wall = time.perf_counter() - start
    _, sim = replay(prefix, 1, kernel)
    totals = sim.ledger.totals
    pairs = {
        "demand": (totals.demand, result.demand),
        "served": (totals.served, result.served),
        "throttled": (totals.throttled, result.throttled),
        "dropped": (totals.dropped, result.dropped),
        "allocation": (sim.alloc, result.allocation),
    }
    worst = max(
        float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-12))) for a, b in pairs.values()
    )
    same_violations = bool(np.array_equal(totals.violation_ticks, result.violation_ticks))
    cost_gap = abs(totals.cost.allocation - result.allocation_cost) / result.allocation_cost
    return {
        "naive_wall_s": wall,
        "naive_vm_steps": float(naive.n_comp * n_ticks),
        "naive_vm_steps_per_s": naive.n_comp * n_ticks / wall,
        "kpi_max_rel_diff": worst,
        "violations_identical": float(same_violations),
        "allocation_cost_rel_diff": cost_gap,
    }


def main() -> None:
    """Run the benchmark, print a table and, last, one JSON object."""
    n_apps = int(os.environ.get("BENCH_SIM_APPS", "1000"))
    n_ticks = int(os.environ.get("BENCH_SIM_TICKS", "2016"))
    naive_ticks = min(int(os.environ.get("BENCH_SIM_NAIVE_TICKS", "288")), n_ticks)
    repeats = int(os.environ.get("BENCH_SIM_REPEATS", "3"))
    name = os.environ.get("BENCH_SIM_KERNEL", "AUTO")
    if name not in Kernel.__members__:
        raise ConfigError("BENCH_SIM_KERNEL", f"expected one of {list(Kernel.__members__)}")
    kernel = Kernel[name]
    compiled = use_jit(kernel, "BENCH_SIM_KERNEL")
    load_before = os.getloadavg()[0]
    workload = SyntheticGenerator(SyntheticConfig(n_apps=n_apps, n_ticks=n_ticks, seed=0)).load()
    warm_s = warm_up(workload, kernel)
    runs = [best_replay(workload, every, kernel, repeats) for every in CONTROL_EVERY]
    reference = best_replay(workload, 1, Kernel.NUMPY, repeats) if compiled else runs[0]
    naive = naive_check(workload, naive_ticks, kernel)
    load_after = os.getloadavg()[0]
    main_run = runs[0]
    speedup = main_run.vm_steps_per_s / naive["naive_vm_steps_per_s"]

    label = "compiled (numba)" if compiled else "numpy"
    print(
        f"bench_sim: {n_apps} VMs x {n_ticks} ticks of 300 s x 4 resources, reactive rule, "
        f"{label} kernels (warm-up {warm_s:.1f} s); 1-min load average {load_before:.2f} "
        f"before, {load_after:.2f} after (on {os.cpu_count()} CPUs)"
    )
    print(
        f"{'control every':>14} {'wall s':>8} {'policy s':>9} {'VM-steps/s':>12} "
        f"{'sim only':>12} {'per CPU s':>12} {'SLA viol.':>10} {'cost cu':>10}"
    )
    for run in runs:
        print(
            f"{run.control_every:>11} tk {run.wall_s:8.2f} {run.policy_s:9.2f} "
            f"{run.vm_steps_per_s:12.3e} {run.sim_vm_steps_per_s:12.3e} "
            f"{run.cpu_vm_steps_per_s:12.3e} "
            f"{run.sla_violation_share:10.4f} {run.cost_total:10.1f}"
        )
    print(
        f"median control interval, every tick: {main_run.median_interval_s * 1e6:.1f} us = "
        f"{main_run.median_vm_steps_per_s:.3e} VM-steps/s at that speed (the headline is the "
        f"mean: {main_run.wall_s / n_ticks * 1e6:.1f} us; busy ticks and other processes make "
        "the difference)"
    )
    if compiled:
        print(
            f"numpy reference kernels, every tick: {reference.wall_s:.2f} s = "
            f"{reference.vm_steps_per_s:.3e} VM-steps/s; compiled/numpy "
            f"{main_run.vm_steps_per_s / reference.vm_steps_per_s:.1f}x"
        )
    print(
        f"naive (one SimPy process per VM, scalar): {naive_ticks} ticks in "
        f"{naive['naive_wall_s']:.2f} s = {naive['naive_vm_steps_per_s']:.3e} VM-steps/s; "
        f"speedup {speedup:.0f}x; KPI max relative difference {naive['kpi_max_rel_diff']:.1e}, "
        f"violations identical: {bool(naive['violations_identical'])}"
    )
    summary = {
        "vm_steps_per_s": main_run.vm_steps_per_s,
        "naive_vm_steps_per_s": naive["naive_vm_steps_per_s"],
        "speedup": speedup,
        "sim_only_vm_steps_per_s": main_run.sim_vm_steps_per_s,
        "vm_steps_per_cpu_s": main_run.cpu_vm_steps_per_s,
        "us_per_tick": main_run.wall_s / n_ticks * 1e6,
        "median_us_per_tick": main_run.median_interval_s * 1e6,
        "vm_steps_per_s_at_median_tick": main_run.median_vm_steps_per_s,
        "vm_steps_per_s_by_control_every": {str(r.control_every): r.vm_steps_per_s for r in runs},
        "sim_only_vm_steps_per_s_by_control_every": {
            str(r.control_every): r.sim_vm_steps_per_s for r in runs
        },
        "kernel": "jit" if compiled else "numpy",
        "numpy_vm_steps_per_s": reference.vm_steps_per_s,
        "speedup_over_numpy": main_run.vm_steps_per_s / reference.vm_steps_per_s,
        "warm_up_s": warm_s,
        "load_avg_1m_before": load_before,
        "load_avg_1m_after": load_after,
        "n_vms": n_apps,
        "n_ticks": n_ticks,
        "naive_ticks": naive_ticks,
        "kpi_max_rel_diff": naive["kpi_max_rel_diff"],
        "violations_identical": bool(naive["violations_identical"]),
        "sla_violation_share": main_run.sla_violation_share,
        "cost_total_cu": main_run.cost_total,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
