"""Benchmark of the synthetic workload generator: ``python -m experiments.bench_synthetic``.

Generates the default-model workload at 1,000 applications x 8,064 five-minute ticks (four
weeks) several times on one thread, checks that the same seed gives bit-identical demand and
another seed a different one, and prints wall and CPU time per workload. The last line is one
JSON object with ``apps``, ``ticks``, ``best_wall_s``, ``median_wall_s``, ``best_cpu_s``,
``cells_per_s`` (app-tick-resource values per second at the best wall time) and
``bit_identical``.

Options: ``--apps N``, ``--ticks N``, ``--repeats N``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time

import torch

from shadowsim.resources import N_RESOURCES
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator


def _digest(seed: int, apps: int, ticks: int) -> str:
    """SHA-256 of the demand generated with ``seed``."""
    demand = SyntheticGenerator(SyntheticConfig(seed=seed, n_apps=apps, n_ticks=ticks)).load()
    return hashlib.sha256(demand.demand.tobytes()).hexdigest()


def main() -> None:
    """Run the benchmark and print its figures, then one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, default=1000)
    parser.add_argument("--ticks", type=int, default=8064)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)

    config = SyntheticConfig(seed=0, n_apps=args.apps, n_ticks=args.ticks)
    SyntheticGenerator(config).load()  # warm-up: imports, first page faults
    walls, cpus = [], []
    for _ in range(args.repeats):
        wall0, cpu0 = time.perf_counter(), time.process_time()
        workload = SyntheticGenerator(config).load()
        walls.append(time.perf_counter() - wall0)
        cpus.append(time.process_time() - cpu0)
        del workload
    same = _digest(0, args.apps, args.ticks) == _digest(0, args.apps, args.ticks)
    differs = _digest(0, args.apps, args.ticks) != _digest(1, args.apps, args.ticks)
    cells = args.apps * args.ticks * N_RESOURCES
    best = min(walls)
    print(f"synthetic workload: {args.apps} apps x {args.ticks} ticks x {N_RESOURCES} resources")
    print(f"  wall per workload: best {best:.3f} s, median {statistics.median(walls):.3f} s")
    print(f"  CPU per workload:  best {min(cpus):.3f} s")
    print(f"  throughput:        {cells / best / 1e6:.1f} M values/s")
    print(f"  same seed bit-identical: {same}; other seed differs: {differs}")
    result = {
        "apps": args.apps,
        "ticks": args.ticks,
        "best_wall_s": round(best, 4),
        "median_wall_s": round(statistics.median(walls), 4),
        "best_cpu_s": round(min(cpus), 4),
        "cells_per_s": round(cells / best),
        "bit_identical": same and differs,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
