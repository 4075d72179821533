"""How the simulator's cost per control tick grows with the cluster: a fixed part and a per-VM part.

``python -m experiments.bench_sim_scaling`` replays the synthetic workload under the reactive
rule, deciding every tick, exactly as :mod:`experiments.bench_sim` does (the same
:func:`~experiments.bench_sim.replay`), at several cluster sizes, and fits the wall time per
tick as ``fixed_us + n_vms * per_vm_us`` (least squares). The fixed part is what every tick
pays whatever the cluster size (Python between the compiled kernels, calling them, the
per-host work); the per-VM part is the compiled accounting. From the fit it prints the
throughput ceiling (``1 / per_vm_us``) and the smallest cluster that replays at 10 M
VM-steps/s. Run it pinned to one core (``taskset -c 1``); the 1-minute load average is
printed. The last line printed is one JSON object.

Environment variables: ``BENCH_SIM_SIZES`` (``125,250,500,1000,2000``: VMs, one
single-component application each), ``BENCH_SIM_TICKS`` (576: two days of five-minute
ticks), ``BENCH_SIM_REPEATS`` (3, best of).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from experiments.bench_sim import best_replay, warm_up  # noqa: E402
from experiments.json_line import print_json_line  # noqa: E402
from shadowsim.errors import ConfigError  # noqa: E402
from shadowsim.sim.jit import Kernel  # noqa: E402
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator  # noqa: E402

TARGET_VM_STEPS_PER_S = 10_000_000


def parse_sizes(text: str) -> list[int]:
    """Cluster sizes from ``BENCH_SIM_SIZES``: at least two distinct positive integers.

    Raises:
        ConfigError: A size is not a positive integer, or fewer than two distinct sizes.
    """
    sizes: list[int] = []
    for part in text.split(","):
        try:
            size = int(part.strip())
        except ValueError as err:
            raise ConfigError(
                "BENCH_SIM_SIZES", f"expected comma-separated VM counts, got {part.strip()!r}"
            ) from err
        if size < 1:
            raise ConfigError("BENCH_SIM_SIZES", f"a cluster needs at least 1 VM, got {size}")
        sizes.append(size)
    if len(set(sizes)) < 2:
        raise ConfigError(
            "BENCH_SIM_SIZES", f"the fit needs at least two different sizes, got {text!r}"
        )
    return sizes


def main() -> None:
    """Replay each size, fit the cost per tick, print a table and, last, one JSON object."""
    sizes = parse_sizes(os.environ.get("BENCH_SIM_SIZES", "125,250,500,1000,2000"))
    n_ticks = int(os.environ.get("BENCH_SIM_TICKS", "576"))
    repeats = int(os.environ.get("BENCH_SIM_REPEATS", "3"))
    load_before = os.getloadavg()[0]
    us_per_tick = []
    for n_vms in sizes:
        config = SyntheticConfig(n_apps=n_vms, n_ticks=n_ticks, seed=0)
        workload = SyntheticGenerator(config).load()
        warm_up(workload, Kernel.AUTO)
        run = best_replay(workload, 1, Kernel.AUTO, repeats)
        us_per_tick.append(run.wall_s / n_ticks * 1e6)
    load_after = os.getloadavg()[0]
    per_vm_us, fixed_us = (float(x) for x in np.polyfit(sizes, us_per_tick, 1))
    ceiling = 1e6 / per_vm_us if per_vm_us > 0 else float("inf")
    # n / (fixed + n * per_vm) >= target  <=>  n * (1 - target * per_vm) >= target * fixed
    slack = 1.0 - TARGET_VM_STEPS_PER_S * per_vm_us * 1e-6
    vms_for_target = (
        int(np.ceil(TARGET_VM_STEPS_PER_S * fixed_us * 1e-6 / slack)) if slack > 0 else None
    )
    print(
        f"bench_sim_scaling: reactive rule every tick, {n_ticks} ticks, best of {repeats}; "
        f"1-min load average {load_before:.2f} before, {load_after:.2f} after"
    )
    print(f"{'VMs':>6} {'us/tick':>9} {'VM-steps/s':>12} {'fit us/tick':>12}")
    for n_vms, us in zip(sizes, us_per_tick, strict=True):
        fit = fixed_us + per_vm_us * n_vms
        print(f"{n_vms:>6} {us:9.1f} {n_vms / us * 1e6:12.3e} {fit:12.1f}")
    print(
        f"fit: {fixed_us:.1f} us per tick + {per_vm_us * 1e3:.1f} ns per VM; ceiling "
        f"{ceiling:.3e} VM-steps/s; 10 M VM-steps/s from "
        f"{vms_for_target if vms_for_target is not None else 'no'} VMs"
    )
    print_json_line(
        {
            "sizes": sizes,
            "us_per_tick": us_per_tick,
            "vm_steps_per_s": [n / us * 1e6 for n, us in zip(sizes, us_per_tick, strict=True)],
            "fixed_us_per_tick": fixed_us,
            "ns_per_vm_tick": per_vm_us * 1e3,
            "ceiling_vm_steps_per_s": ceiling,
            "vms_for_10m_vm_steps_per_s": vms_for_target,
            "n_ticks": n_ticks,
            "load_avg_1m_before": load_before,
            "load_avg_1m_after": load_after,
        }
    )


if __name__ == "__main__":
    main()
