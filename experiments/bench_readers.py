"""Benchmark of the real-trace readers: ``python -m experiments.bench_readers``.

Loads each real trace in ``../shared/traces`` (beside the repo checkout; ``--traces DIR``
to point elsewhere) with its reader's default config several times on one thread: Bitbrains
Rnd 2013-8 (30 files, 262,871 rows), PlanetLab (1,950 files) and Alibaba v2018 (51,362
rows). Prints, per trace, the best and median wall time and CPU time of a full ``load()``
(parse, resample, metadata), the workload's shape and its repair summary, and checks that
two loads give bit-identical demand. A trace that is absent is reported and skipped. The
last line is one JSON object mapping each trace to ``rows``, ``apps``, ``ticks``,
``best_wall_s``, ``median_wall_s``, ``best_cpu_s``, ``rows_per_s`` and ``bit_identical``.

Options: ``--traces DIR``, ``--repeats N``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from shadowsim.workloads.alibaba import AlibabaConfig, AlibabaReader
from shadowsim.workloads.bitbrains import BitbrainsConfig, BitbrainsReader
from shadowsim.workloads.planetlab import PlanetLabConfig, PlanetLabReader
from shadowsim.workloads.trace_reader import TraceReader
from shadowsim.workloads.workload import Workload

DEFAULT_TRACES = Path(__file__).resolve().parents[1] / ".." / "shared" / "traces"


def _readers(traces: Path) -> dict[str, TraceReader[Any]]:
    """The reader of each trace, with its default config."""
    return {
        "bitbrains": BitbrainsReader(
            BitbrainsConfig(path=str(traces / "bitbrains_rnd" / "2013-8"))
        ),
        "planetlab": PlanetLabReader(PlanetLabConfig(path=str(traces / "planetlab"))),
        "alibaba": AlibabaReader(AlibabaConfig(path=str(traces / "alibaba_v2018"))),
    }


def _digest(workload: Workload) -> str:
    """SHA-256 of the demand and activity mask."""
    h = hashlib.sha256(workload.demand.tobytes())
    if workload.active is not None:
        h.update(workload.active.tobytes())
    return h.hexdigest()


def main() -> None:
    """Run the benchmark and print its figures, then one JSON line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--traces", type=Path, default=DEFAULT_TRACES)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)

    results: dict[str, dict[str, object]] = {}
    for name, reader in _readers(args.traces).items():
        path = Path(reader.config.path)
        if not path.exists():
            print(f"{name}: {path} not found, skipped")
            continue
        walls, cpus, digests = [], [], set()
        workload = reader.load()  # warm-up: imports, file cache
        for _ in range(args.repeats):
            wall0, cpu0 = time.perf_counter(), time.process_time()
            workload = reader.load()
            walls.append(time.perf_counter() - wall0)
            cpus.append(time.process_time() - cpu0)
            digests.add(_digest(workload))
        rows = int(reader.read().samples.time_s.size)  # rows parsed, before resampling
        best = min(walls)
        print(
            f"{name}: {workload.n_apps} apps x {workload.n_ticks} ticks of "
            f"{workload.interval_s:g} s from {rows:,} rows; load best {best:.2f} s, median "
            f"{statistics.median(walls):.2f} s wall, best {min(cpus):.2f} s CPU "
            f"({rows / best:,.0f} rows/s)"
        )
        print("  repairs: " + workload.repairs.summary().replace("\n", "\n           "))
        results[name] = {
            "rows": rows,
            "apps": workload.n_apps,
            "ticks": workload.n_ticks,
            "best_wall_s": round(best, 4),
            "median_wall_s": round(statistics.median(walls), 4),
            "best_cpu_s": round(min(cpus), 4),
            "rows_per_s": round(rows / best),
            "bit_identical": len(digests) == 1,
        }
    print(json.dumps(results))


if __name__ == "__main__":
    main()
