"""Every policy on one window and the same seeds, and the issue-4 quality targets checked.

    python -m experiments.policy_quality                      # synthetic default, test week
    python -m experiments.policy_quality workload=bitbrains \\
        workload.path=../shared/traces/bitbrains_rnd/2013-8 'seeds=[0,1,2]'
    python -m experiments.policy_quality workload=bitbrains workload.path=... holdout=validation

For each seed the workload is loaded with that seed's priority/SLA assignment, every policy of
``policies`` (``conf/policy/*.yaml``) runs the deterministic window of ``holdout`` (``test``: the
last ``env.test_window_s``; ``validation``: the window before it, the workload cut so that the
test week is never seen; that is where ``conf/policy/shadow.yaml`` was tuned), with the shadow
forecaster of ``forecaster`` feeding the observations, and the oracle runs the same window for
the regret. Prints one row per policy (mean +- sample std over the seeds) and the targets:
``best`` reaches relative CPU slack <= ``targets.max_cpu_slack`` with a HIGH-priority violation
rate <= ``targets.max_violation_rate_high``, and costs less than each of ``baselines`` at no
more violations, overall and HIGH. Each policy is logged as one MLflow run (experiment
``shadowsim-policy-quality``: per-seed metrics as steps, the means, the plot), the seed means are
plotted to ``comparison.png`` in the Hydra run folder, and the last line is one JSON object.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from experiments.entry_point import entry_point
from experiments.json_line import print_json_line
from shadowsim.config_store import build_config, register_configs
from shadowsim.errors import ConfigError
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.sim.config import ClusterConfig
from shadowsim_envs.env_config import EnvConfig
from shadowsim_policies.evaluation import (
    Holdout,
    SeedResult,
    compare,
    holdout_workloads,
    mean_metrics,
    seeded_workloads,
    summary,
)
from shadowsim_policies.workload_fit import fit_env_to_workload

register_configs()

COLUMNS: tuple[tuple[str, str, float, str], ...] = (
    ("cost (cu)", "cost", 1.0, ".1f"),
    ("CPU slack %", "slack_cpu", 100.0, ".1f"),
    ("mem slack %", "slack_memory", 100.0, ".1f"),
    ("viol. %", "sla_violation_rate", 100.0, ".2f"),
    ("viol. HIGH %", "sla_violation_rate_high", 100.0, ".2f"),
    ("p95 resp. (s)", "p95_response_time_s", 1.0, ".3g"),
    ("regret %", "regret_relative", 100.0, ".1f"),
    ("return (cu)", "episode_return", 1.0, ".1f"),
)
"""Table columns: header, metric key, scale, format."""

Summary = dict[str, tuple[dict[str, float], dict[str, float]]]


def print_table(title: str, rows: Summary) -> None:
    """One row per policy, ``mean ± std`` per column."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("policy")
    for header, *_ in COLUMNS:
        table.add_column(header, justify="right")
    for name, (mean, std) in rows.items():
        cells = []
        for _, key, scale, fmt in COLUMNS:
            if key in mean:
                cells.append(f"{scale * mean[key]:{fmt}} ± {scale * std[key]:{fmt}}")
            else:
                cells.append("-")
        table.add_row(name, *cells)
    Console().print(table)


def check_names(policies: Sequence[str], best: str, baselines: Sequence[str]) -> None:
    """Refuse, before anything runs, a ``best`` or baseline that is not among ``policies``.

    Raises:
        ConfigError: Names the key, the policies that will run and how to fix it.
    """
    for name in (best, *baselines):
        if name not in policies:
            key = "best" if name == best else "baselines"
            kept = [b for b in baselines if b in policies]
            example = f"'baselines={kept}'" if key == "baselines" else "best=shadow"
            raise ConfigError(
                key,
                f"policy {name!r} is not among the policies that will run {sorted(policies)}; "
                f"add it (+policy@policies.{name}={name}) or change {key}, e.g. {example}",
            )


def check_targets(
    rows: Summary, best: str, baselines: Sequence[str], max_slack: float, max_high: float
) -> dict[str, bool]:
    """The issue-4 targets for ``best`` on the seed means (True = reached).

    Raises:
        ConfigError: ``best`` or a baseline did not run.
    """
    for name in (best, *baselines):
        if name not in rows:
            raise ConfigError(
                "best" if name == best else "baselines",
                f"policy {name!r} did not run; it must be one of {sorted(rows)}",
            )
    ours = rows[best][0]
    checks = {
        f"{best}: CPU slack <= {max_slack:g}": ours["slack_cpu"] <= max_slack,
        f"{best}: HIGH violations <= {max_high:g}": ours["sla_violation_rate_high"] <= max_high,
    }
    for name in baselines:
        theirs = rows[name][0]
        checks[f"{best} cheaper than {name}"] = ours["cost"] < theirs["cost"]
        checks[f"{best} violations <= {name}'s"] = (
            ours["sla_violation_rate"] <= theirs["sla_violation_rate"]
        )
        checks[f"{best} HIGH violations <= {name}'s"] = (
            ours["sla_violation_rate_high"] <= theirs["sla_violation_rate_high"]
        )
    return checks


@entry_point("policy_quality")
def main(cfg: DictConfig) -> None:
    """Hydra entry point (see the module docstring)."""
    import torch
    from hydra.utils import instantiate

    from shadowsim.shadow.forecasters.configs import forecaster_config_from_node

    torch.set_num_threads(int(cfg.threads))
    started = time.perf_counter()
    cluster = build_config(ClusterConfig, cfg.cluster, key="cluster")
    base = build_config(EnvConfig, cfg.env, key="env")
    seeds = [int(s) for s in cfg.seeds]
    check_names(
        [str(n) for n in cfg.policies] + (["oracle"] if cfg.regret else []),
        str(cfg.best),
        [str(b) for b in cfg.baselines],
    )
    try:
        holdout = Holdout(str(cfg.holdout).lower())
    except ValueError as err:
        choices = [h.value for h in Holdout]
        raise ConfigError("holdout", f"must be one of {choices}, got {cfg.holdout!r}") from err
    load = seeded_workloads(cfg.workload, bool(cfg.vary_metadata_seed))
    full = load(seeds[0])
    base, cluster, notes = fit_env_to_workload(full.n_ticks, full.interval_s, base, cluster)
    workloads = holdout_workloads(load, base.test_window_s, holdout)
    first = workloads(seeds[0])
    if first.n_ticks < full.n_ticks:  # the validation holdout: fit what is left
        base, cluster, more = fit_env_to_workload(first.n_ticks, first.interval_s, base, cluster)
        notes += more
    for note in notes:
        print(f"short workload: {note}")
    shared: list[Forecaster] = []

    def forecaster() -> Forecaster | None:
        """One fitted-once forecaster for every run (the seeds share the demand)."""
        if cfg.get("forecaster") is None:
            return None
        if not shared:
            config = forecaster_config_from_node(cfg.forecaster)
            shared.append(config.build(float(first.interval_s)))
        return shared[0]

    results = compare(
        {str(name): partial(instantiate, node) for name, node in cfg.policies.items()},
        workloads,
        cluster,
        base,
        seeds,
        regret=bool(cfg.regret),
        forecaster_factory=forecaster,
        on_done=lambda name: print(
            f"{name}: done ({time.perf_counter() - started:.0f} s)", flush=True
        ),
    )
    rows: Summary = {name: summary(runs) for name, runs in results.items()}
    window = f"{holdout.value} window of {first.source}"
    print_table(f"{window}: {first.n_apps} apps, seeds {seeds} (mean ± std)", rows)
    checks = check_targets(
        rows,
        str(cfg.best),
        [str(b) for b in cfg.baselines],
        float(cfg.targets.max_cpu_slack),
        float(cfg.targets.max_violation_rate_high),
    )
    for what, ok in checks.items():
        print(f"  [{'x' if ok else ' '}] {what}")
    run_ids, plot_path = log_runs(cfg, results, window, checks)
    payload = {
        "workload": first.source,
        "holdout": holdout.value,
        "n_apps": first.n_apps,
        "n_ticks": results[str(cfg.best)][0].metrics.n_ticks,
        "seeds": seeds,
        "forecaster": _forecaster_name(cfg),
        "policies": {name: {"mean": m, "std": s} for name, (m, s) in rows.items()},
        "per_seed": {
            name: [dict(seed=r.seed, **r.as_dict()) for r in runs]
            for name, runs in results.items()
        },
        "targets": checks,
        "targets_met": all(checks.values()),
        "mlflow_runs": run_ids,
        "plot": None if plot_path is None else str(plot_path),
        "wall_s": round(time.perf_counter() - started, 1),
    }
    print_json_line(payload)


def log_runs(
    cfg: DictConfig,
    results: dict[str, list[SeedResult]],
    window: str,
    checks: dict[str, bool],
) -> tuple[dict[str, str], Path | None]:
    """One MLflow run per policy and the comparison plot of the seed means.

    Returns:
        The run id per policy, and the plot's path (None with ``plot: false``).
    """
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import get_original_cwd

    from experiments.tracking import RunLogger
    from shadowsim.metrics.plots import plot_comparison

    means = {name: mean_metrics([r.metrics for r in runs]) for name, runs in results.items()}
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    plot_path = plot_comparison(means, out_dir / "comparison.png", window) if cfg.plot else None
    root = Path(get_original_cwd()) / str(cfg.tracking_root or "outputs/mlflow")
    run_ids: dict[str, str] = {}
    for name, runs in results.items():
        with RunLogger(cfg.tracking_uri, root, str(cfg.experiment), f"quality/{name}") as run:
            run.log_params(
                {
                    "policy": name,
                    "holdout": str(cfg.holdout),
                    "seeds": [r.seed for r in runs],
                    "forecaster": _forecaster_name(cfg),
                    "workload": OmegaConf.to_container(cfg.workload, resolve=True),
                    "cluster": OmegaConf.to_container(cfg.cluster, resolve=True),
                }
            )
            run.log_seeds([r.metrics for r in runs], means[name].as_dict())
            tags = {"policy": name, "window": window}
            if name == str(cfg.best):
                tags["targets_met"] = str(all(checks.values()))
            run.set_tags(tags)
            if plot_path is not None:
                run.log_artifact(plot_path)
            run_ids[name] = run.run_id
    if plot_path is not None:
        print(f"plot: {plot_path}")
    return run_ids, plot_path


def _forecaster_name(cfg: DictConfig) -> str | None:
    node = cfg.get("forecaster")
    return None if node is None else str(node.get("_target_", "")).rsplit(".", 1)[-1]


if __name__ == "__main__":
    main()
