"""Evaluate one policy on the test window (the last week) of a workload, over several seeds.

    python -m experiments.evaluate policy=hpa
    python -m experiments.evaluate policy=shadow workload=bitbrains \\
        workload.path=../shared/traces/bitbrains_rnd/2013-8 'seeds=[0,1,2]'
    python -m experiments.evaluate policy=sb3 policy.path=outputs/.../agent/final

For each seed: the workload is loaded with that seed for its priority/SLA assignment (real
traces carry none; ``vary_metadata_seed``), the env runs the deterministic test window with
that seed, and the policy (built from ``conf/policy/NAME.yaml``) acts in its native action
mode (baselines think in targets: CONTINUOUS; agents: what they were trained on) unless
``action_mode`` says otherwise. With ``regret`` the oracle runs on the same window, for the
regret. A workload too short for the test window and the history before it (a PlanetLab
day) gets them shrunk, each change printed, as in the main job
(:func:`~shadowsim_policies.workload_fit.fit_env_to_workload`). Prints a rich table of the
metrics of :mod:`shadowsim.metrics` per seed with their mean and standard deviation, logs
the run to MLflow (params, per-seed metrics as steps, the means), and prints as the LAST line
one JSON object.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import DictConfig, OmegaConf

from experiments.entry_point import entry_point
from experiments.json_line import print_json_line
from shadowsim.config_store import build_config, register_configs
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.sim.config import ClusterConfig
from shadowsim_envs.env_config import EnvConfig
from shadowsim_policies.engine_settings import adopt_settings
from shadowsim_policies.evaluation import (
    ModeChoice,
    SeedResult,
    evaluate,
    seeded_workloads,
    summary,
)
from shadowsim_policies.workload_fit import fit_env_to_workload

register_configs()


def print_table(title: str, results: Sequence[SeedResult]) -> None:
    """A rich table: one row per metric, one column per seed, then mean +- std."""
    from rich.console import Console
    from rich.table import Table

    mean, std = summary(results)
    table = Table(title=title)
    table.add_column("metric")
    for r in results:
        table.add_column(f"seed {r.seed}", justify="right")
    table.add_column("mean ± std", justify="right")
    rows = [r.as_dict() for r in results]
    for key in mean:
        cells = [_fmt(row[key]) for row in rows]
        table.add_row(key, *cells, f"{_fmt(mean[key])} ± {_fmt(std[key])}")
    Console().print(table)


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, int):
        return str(value)
    return f"{float(value):.4g}"


@entry_point("evaluate")
def main(cfg: DictConfig) -> None:
    """Hydra entry point (see the module docstring)."""
    import torch
    from hydra.utils import get_original_cwd, instantiate

    from experiments.tracking import RunLogger
    from shadowsim.shadow.forecasters.configs import forecaster_config_from_node

    torch.set_num_threads(1)
    cluster = build_config(ClusterConfig, cfg.cluster, key="cluster")
    base = build_config(EnvConfig, cfg.env, key="env")
    mode = ModeChoice(str(cfg.action_mode).lower())
    seeds = [int(s) for s in cfg.seeds]
    probe = instantiate(cfg.policy)
    policy_name = str(probe.name)

    workload_for_seed = seeded_workloads(cfg.workload, bool(cfg.vary_metadata_seed))
    first = workload_for_seed(seeds[0])
    source, interval_s = first.source, float(first.interval_s)
    base, cluster, notes = fit_env_to_workload(first.n_ticks, interval_s, base, cluster)
    for note in notes:
        print(f"short workload: {note}")
    for note in adopt_settings(base.engine, probe.engine_settings)[1]:
        print(f"agent's settings: {note}")

    def forecaster() -> Forecaster | None:
        if cfg.get("forecaster") is None:
            return None
        return forecaster_config_from_node(cfg.forecaster).build(interval_s)

    results = evaluate(
        lambda: instantiate(cfg.policy),
        workload_for_seed,
        cluster,
        base,
        seeds,
        mode=mode,
        regret=bool(cfg.regret),
        forecaster_factory=forecaster,
    )
    mean, std = summary(results)
    print_table(f"{policy_name} on the test window of {source}", results)
    root = Path(get_original_cwd()) / str(cfg.tracking_root or "outputs/mlflow")
    with RunLogger(cfg.tracking_uri, root, str(cfg.experiment), f"evaluate/{policy_name}") as run:
        run.log_params(
            {
                "policy_name": policy_name,
                "policy": OmegaConf.to_container(cfg.policy, resolve=True),
                "workload": OmegaConf.to_container(cfg.workload, resolve=True),
                "env": OmegaConf.to_container(cfg.env, resolve=True),
                "forecaster": OmegaConf.to_container(cfg.forecaster, resolve=True)
                if cfg.get("forecaster") is not None
                else None,
                "seeds": seeds,
                "action_mode": mode.value,
            }
        )
        run.log_seeds([r.metrics for r in results], mean)
        run.set_tags({"policy": policy_name, "workload": source})
        print(f"MLflow run {run.run_id} in {run.tracking_uri}")
    payload = {
        "policy": policy_name,
        "workload": source,
        "seeds": seeds,
        "n_ticks": results[0].metrics.n_ticks,
        "n_apps": results[0].metrics.n_apps,
        "metrics": mean,
        "std": std,
        "per_seed": [dict(seed=r.seed, **r.as_dict()) for r in results],
        "wall_s": float(np.sum([r.wall_s for r in results])),
        "mlflow_run_id": run.run_id,
    }
    print_json_line(payload)


if __name__ == "__main__":
    main()
