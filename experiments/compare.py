"""Compare finished MLflow runs: a table and a plot of the policies' metrics.

    python -m experiments.compare                                    # newest run per policy
    python -m experiments.compare 'experiments=[shadowsim-policy-quality]'
    python -m experiments.compare "filter='tags.workload LIKE \"%bitbrains%\"'" sort_by=regret
    python -m experiments.evaluate -m policy=hpa,vpa,shadow && python -m experiments.compare

Reads the runs that ``evaluate``, ``simulate`` and ``policy_quality`` (and Hydra ``-m`` sweeps of
them) logged to the tracking store (:mod:`shadowsim.metrics.tracked_runs`), keeps the newest
per ``group_by`` value unless ``latest_only=false``, prints one row per run sorted by
``sort_by`` (lower first), writes ``comparison.png`` (cost against violations, relative slack)
into the Hydra run folder, and prints one JSON object as the last line.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig

from experiments.entry_point import entry_point
from shadowsim.errors import ConfigError
from shadowsim.metrics.tracked_runs import TrackedRun, episode_metrics, load_tracked_runs


def sort_runs(runs: Sequence[TrackedRun], key: str) -> list[TrackedRun]:
    """Runs by ``key`` (lower first; runs without it last).

    Raises:
        ConfigError: No run has the metric (the message lists the ones they have).
    """
    if not any(key in r.metrics for r in runs):
        have = sorted({k for r in runs for k in r.metrics})
        raise ConfigError("sort_by", f"no run has the metric {key!r}; they have {have}")
    return sorted(runs, key=lambda r: (key not in r.metrics, r.metrics.get(key, 0.0)))


def print_table(runs: Sequence[TrackedRun], columns: Sequence[str], title: str) -> None:
    """One row per run, one column per metric (and the experiment when runs mix them)."""
    from rich.console import Console
    from rich.table import Table

    mixed = len({r.experiment for r in runs}) > 1
    table = Table(title=title)
    for header in ("run", "experiment", "started (UTC)") if mixed else ("run", "started (UTC)"):
        table.add_column(header)
    for column in columns:
        table.add_column(column, justify="right")
    for r in runs:
        cells = [f"{r.metrics[c]:.4g}" if c in r.metrics else "-" for c in columns]
        first = (r.key, r.experiment) if mixed else (r.key,)
        table.add_row(*first, _utc(r.start_time_ms), *cells)
    Console().print(table)


def _utc(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


@entry_point("compare")
def main(cfg: DictConfig) -> None:
    """Hydra entry point (see the module docstring)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import get_original_cwd

    from shadowsim.metrics.plots import plot_comparison
    from shadowsim.shadow.tracking_store import open_store

    root = Path(get_original_cwd()) / str(cfg.tracking_root or "outputs/mlflow")
    store = open_store(cfg.tracking_uri, root)
    experiments = [str(e) for e in cfg.experiments]
    runs = load_tracked_runs(
        store.client(),
        experiments,
        group_by=str(cfg.group_by),
        filter_string=str(cfg.filter or ""),
        latest_only=bool(cfg.latest_only),
    )
    runs = sort_runs(runs, str(cfg.sort_by))
    title = f"{', '.join(experiments)} in {store.tracking_uri}"
    print_table(runs, [str(c) for c in cfg.columns], title)
    plot_path = None
    if cfg.plot:
        rebuilt = {r.key: episode_metrics(r.metrics) for r in runs}
        plottable = {k: m for k, m in rebuilt.items() if m is not None}
        skipped = sorted(set(rebuilt) - set(plottable))
        if skipped:
            print(f"not plotted (no episode metrics logged): {', '.join(skipped)}")
        if plottable:
            out_dir = Path(HydraConfig.get().runtime.output_dir)
            plot_path = plot_comparison(plottable, out_dir / "comparison.png", title)
            print(f"plot: {plot_path}")
    payload = {
        "tracking_uri": store.tracking_uri,
        "experiments": experiments,
        "sort_by": str(cfg.sort_by),
        "runs": [
            {"key": r.key, "run_id": r.run_id, "experiment": r.experiment, "metrics": r.metrics}
            for r in runs
        ],
        "plot": None if plot_path is None else str(plot_path),
    }
    print(json.dumps(payload))


if __name__ == "__main__":
    main()
