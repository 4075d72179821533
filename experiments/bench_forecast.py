"""Benchmark the shadow forecasters: accuracy per resource and horizon, training time, latency.

    python -m experiments.bench_forecast
    python -m experiments.bench_forecast workload=bitbrains \\
        workload.path=../shared/traces/bitbrains_rnd/2013-8
    python -m experiments.bench_forecast compare_sharing=true   # + one LSTM per application
    python -m experiments.bench_forecast latency_only=true      # only the inference latency

Every forecaster trains on the first part of each series and forecasts from every tick of the
last ``test`` span (a week) from the history before it; the LSTM trains one model per horizon
(direct multi-output), the baselines one model for all. MAE/RMSE score the P50 over forecast
steps 1..horizon, in each resource's unit; P90 coverage is the share of actual demand at or
below the P90. Ticks where an application was not active are not scored. The batched
inference latency is one ``predict`` of the target-horizon LSTM for ``inference_apps``
applications on ``threads`` CPU threads (median of ``inference_repeats`` calls; the minimum
is printed too, since other processes on the machine inflate the median). With
``latency_only`` the LSTM is fitted briefly (one small epoch: latency does not depend on the
weights) and only the latency is measured.

Prints a rich table, the issue's target checks, and as the LAST line one JSON object
``{forecaster: {resource: {horizon: {mae, rmse, p90_coverage, train_s}}},
"inference_ms_1000_apps": ms}``.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import replace
from typing import Any

import numpy as np
from omegaconf import DictConfig
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from experiments.entry_point import entry_point
from shadowsim.config_store import register_configs
from shadowsim.errors import ConfigError
from shadowsim.resources import Resource
from shadowsim.shadow.error_concentration import top_error_apps
from shadowsim.shadow.evaluation import (
    BenchmarkResult,
    inference_times_ms,
    per_app_benchmark,
    run_forecast_benchmark,
)
from shadowsim.shadow.forecasters.configs import ForecasterConfig, forecaster_config_from_node
from shadowsim.shadow.forecasters.lstm import LSTMConfig, LSTMForecaster
from shadowsim.shadow.horizon import horizon_steps
from shadowsim.workloads.loading import load_workload
from shadowsim.workloads.workload import Workload

register_configs()
log = logging.getLogger(__name__)

BASELINES = ("last_value", "seasonal_naive", "ets", "prophet")
"""Statistical baselines the LSTM is compared with (those that ran)."""


def _tables(result: BenchmarkResult, horizons: list[str]) -> list[Table]:
    """One table per resource: forecaster x horizon rows, MAE / RMSE / P90 coverage / train s."""
    tables = []
    for r in Resource:
        what = f"{r.name.lower()} [{r.unit}]: P50 errors and P90 coverage on the test span"
        table = Table(title=escape(what))
        for col in ("forecaster", "horizon", "MAE", "RMSE", "P90 coverage", "train s"):
            table.add_column(col, justify="left" if col in ("forecaster", "horizon") else "right")
        for name, per_res in result.metrics.items():
            for h in horizons:
                m = per_res[r.name.lower()][h]
                table.add_row(name, h, f"{m['mae']:.4g}", f"{m['rmse']:.4g}",
                              f"{m['p90_coverage']:.3f}", f"{m['train_s']:.1f}")  # fmt: skip
        tables.append(table)
    return tables


def concentration_table(
    result: BenchmarkResult, horizon: str, steps: int, app_ids: list[str], top: int
) -> Table:
    """Per resource, the ``top`` applications holding most of the error of the LSTM (or of
    the first forecaster when no LSTM ran) at ``horizon``, with every forecaster's MAE on them."""
    scores = {name: per_h[horizon] for name, per_h in result.scores.items()}
    ranked_by = "lstm" if "lstm" in scores else next(iter(scores))
    table = Table(
        title=f"where {ranked_by}'s error is at {horizon}: the {top} applications with the largest "
        f"share of its absolute error, and every forecaster's MAE on them"
    )
    for col in ("resource", "app", "share", *scores):
        table.add_column(col, justify="left" if col in ("resource", "app") else "right")
    for r in Resource:
        top_apps = top_error_apps(scores, r, ranked_by=ranked_by, steps=steps, top=top)
        for i, (app, share) in enumerate(zip(top_apps.apps, top_apps.share, strict=True)):
            table.add_row(
                escape(f"{r.name.lower()} [{r.unit}]") if i == 0 else "",
                app_ids[int(app)],
                f"{share:.1%}",
                *(f"{top_apps.mae[name][i]:.4g}" for name in scores),
            )
        table.add_row(
            "", f"top {len(top_apps.apps)} of {top_apps.n_apps}",
            f"{top_apps.total_share:.1%}", *("" for _ in scores), end_section=True,
        )  # fmt: skip
    return table


def target_checks(
    metrics: dict[str, dict[str, dict[str, dict[str, float]]]], horizon: str, latency_ms: float
) -> list[tuple[str, bool]]:
    """The issue's targets at ``horizon``: (description, met) pairs."""
    checks: list[tuple[str, bool]] = []
    if "lstm" not in metrics:
        return checks
    baselines = [b for b in BASELINES if b in metrics]
    for res in ("cpu", "memory") if baselines else ():  # no baseline ran: nothing to compare
        lstm = metrics["lstm"][res][horizon]["mae"]
        best_name = min(baselines, key=lambda b: metrics[b][res][horizon]["mae"])
        best = metrics[best_name][res][horizon]["mae"]
        gain = 1.0 - lstm / best if best > 0 else 0.0
        checks.append((
            f"{res} MAE at {horizon}: lstm {lstm:.4g} vs best baseline {best_name} {best:.4g} "
            f"({gain:+.1%} lower; target >= +10%)",
            gain >= 0.10,
        ))  # fmt: skip
    for res in ("cpu", "memory", "disk", "network"):
        cov = metrics["lstm"][res][horizon]["p90_coverage"]
        checks.append((f"lstm {res} P90 coverage at {horizon}: {cov:.3f} (target 0.85-0.95)",
                       0.85 <= cov <= 0.95))  # fmt: skip
    checks.append((f"batched inference: {latency_ms:.1f} ms (target < 20 ms)", latency_ms < 20.0))
    return checks


def _latency(lstm: Any, workload: Workload, cfg: DictConfig, console: Console) -> float:
    """Median batched-inference time of ``lstm`` for ``cfg.inference_apps`` applications, ms."""
    n = int(cfg.inference_apps)
    big = lstm.tiled(n)
    reps = -(-n // workload.n_apps)
    hist = np.tile(workload.demand[:, -lstm.min_history :], (reps, 1, 1))[:n]
    times = inference_times_ms(big, hist, lstm.spec.horizon, repeats=int(cfg.inference_repeats))
    console.print(
        f"batched inference, {n} apps, {int(cfg.threads)} thread(s): median {np.median(times):.1f}"
        f" ms, min {times.min():.1f} ms, max {times.max():.1f} ms over {len(times)} calls"
    )
    return float(np.median(times))


@entry_point("bench_forecast")
def main(cfg: DictConfig) -> None:
    """Hydra entry point (see the module docstring)."""
    import torch

    torch.set_num_threads(int(cfg.threads))
    console = Console()
    workload = load_workload(cfg.workload)
    horizons = [str(h) for h in cfg.horizons]
    configs: dict[str, ForecasterConfig] = {
        name: forecaster_config_from_node(node, key=f"forecasters.{name}")
        for name, node in cfg.forecasters.items()
    }
    console.print(
        f"workload {workload.source}: {workload.n_apps} apps x {workload.n_ticks} ticks of "
        f"{workload.interval_s:g} s; test span {cfg.test}; forecasters {', '.join(configs)}"
    )

    target = str(cfg.target_horizon)
    if bool(cfg.latency_only):
        base = configs.get("lstm")
        if not isinstance(base, LSTMConfig):
            raise ConfigError("forecasters.lstm", "latency_only needs the LSTM config there")
        brief = replace(base.train, epochs=1, samples_per_epoch=512, max_val_samples=512)
        quick = replace(base, train=brief).with_horizon(target).build(workload.interval_s)
        quick.fit(workload.demand, start_s=workload.start_time_s)
        latency = _latency(quick, workload, cfg, console)
        print(json.dumps({"inference_ms_1000_apps": round(latency, 3)}))
        return

    def done(name: str, h: str, summary: dict[str, Any]) -> None:
        maes = ", ".join(f"{r} {v['mae']:.4g}" for r, v in summary.items())
        console.print(f"  {name} @ {h}: MAE {maes}")

    result = run_forecast_benchmark(
        workload.demand,
        workload.interval_s,
        configs,
        horizons=horizons,
        test=str(cfg.test),
        start_s=workload.start_time_s,
        mask=workload.active,
        on_done=done,
    )
    model = result.models.get("lstm", {}).get(target)
    latency = (
        _latency(model, workload, cfg, console) if isinstance(model, LSTMForecaster) else math.nan
    )
    for table in _tables(result, horizons):
        console.print(table)
    if int(cfg.error_apps) > 0 and target in horizons:
        steps = horizon_steps(target, workload.interval_s, key="target_horizon")
        console.print(
            concentration_table(result, target, steps, list(workload.app_ids), int(cfg.error_apps))
        )
    out: dict[str, Any] = {
        name: {
            res: {h: {k: round(v[k], 6) for k in ("mae", "rmse", "p90_coverage", "train_s")}
                  for h, v in per_h.items()}
            for res, per_h in per_res.items()
        }
        for name, per_res in result.metrics.items()
    }  # fmt: skip
    if bool(cfg.compare_sharing) and "lstm" in configs:
        summary, train_s = per_app_benchmark(
            workload.demand, workload.interval_s, configs["lstm"], target,
            test=str(cfg.test), start_s=workload.start_time_s, mask=workload.active,
        )  # fmt: skip
        out["lstm_per_app"] = {
            res: {target: {k: round(v[k], 6) for k in ("mae", "rmse", "p90_coverage")}
                  | {"train_s": round(train_s, 3)}}
            for res, v in summary.items()
        }  # fmt: skip
        glob = result.metrics["lstm"]
        for res in ("cpu", "memory", "disk", "network"):
            console.print(
                f"sharing @ {target}, {res}: global MAE {glob[res][target]['mae']:.4g} vs "
                f"one model per app {summary[res]['mae']:.4g}"
            )
    for text, ok in target_checks(result.metrics, target, latency):
        console.print(f"[{'green' if ok else 'red'}]{'MET ' if ok else 'MISS'}[/] {text}")
    out["inference_ms_1000_apps"] = round(latency, 3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
