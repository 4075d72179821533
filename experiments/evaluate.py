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
regret. Prints a rich table of the metrics of :mod:`shadowsim.metrics` per seed with their
mean and standard deviation, logs the run to MLflow (params, per-seed metrics as steps, the
means), and prints as the LAST line one JSON object.
"""

from __future__ import annotations

import copy
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from shadowsim.config_store import build_config, register_configs
from shadowsim.engine.action_codec import ActionMode
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.metrics.episode_metrics import EpisodeMetrics
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.sim.config import ClusterConfig
from shadowsim.workloads.loading import load_workload
from shadowsim.workloads.workload import Workload
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_envs.rollout import run_episode
from shadowsim_policies.base import Policy
from shadowsim_policies.oracle import OraclePolicy

register_configs()


class ModeChoice(Enum):
    """Which action mode the env uses for the evaluated policy."""

    NATIVE = "native"
    """The policy's own (``policy.action_mode``)."""
    DISCRETE = "discrete"
    CONTINUOUS = "continuous"


@dataclass(frozen=True)
class SeedResult:
    """One seed's episode.

    Attributes:
        seed: The seed.
        metrics: Its metrics (with regret when the oracle ran).
        n_steps: Steps taken.
        wall_s: Episode wall time, s.
        guardrail_counts: Target entries changed per guardrail rule.
        rejections: Number of backend rejection lines.
    """

    seed: int
    metrics: EpisodeMetrics
    n_steps: int
    wall_s: float
    guardrail_counts: dict[str, int] = field(default_factory=dict)
    rejections: int = 0


def env_config_for(policy: Policy, base: EnvConfig, mode: ModeChoice, seed: int) -> EnvConfig:
    """The env settings for ``policy``: test window, seed, action mode, oracle forecasts.

    A policy that needs perfect foresight gets OracleForecasts and every lead from 1 to the
    longest one (its look-ahead for the maximum change per tick needs them all).
    """
    engine: EngineConfig = base.engine
    wanted = policy.action_mode if mode is ModeChoice.NATIVE else ActionMode(mode.value)
    engine = replace(engine, action=replace(engine.action, mode=wanted))
    if policy.needs_oracle:
        leads = tuple(range(1, engine.observation.forecast_leads[-1] + 1))
        engine = replace(engine, observation=replace(engine.observation, forecast_leads=leads))
    return replace(
        base, engine=engine, test_window=True, seed=seed, oracle=bool(policy.needs_oracle)
    )


def run_seed(
    policy: Policy,
    workload: Workload,
    cluster: ClusterConfig,
    env_config: EnvConfig,
    forecaster: Forecaster | None,
    seed: int,
) -> tuple[EpisodeMetrics, int, float, dict[str, int], int]:
    """One test-window episode of a bound-at-once policy; returns metrics and facts."""
    env = ClusterEnv(workload, cluster, forecaster=forecaster, config=env_config)
    policy.bind(env)
    start = time.perf_counter()
    result = run_episode(env, policy, seed=seed)
    wall = time.perf_counter() - start
    env.close()
    return result.metrics, result.n_steps, wall, result.guardrail_counts, len(result.rejections)


def evaluate(
    policy_factory: Callable[[], Policy],
    workload_for_seed: Callable[[int], Workload],
    cluster: ClusterConfig,
    base: EnvConfig,
    seeds: Sequence[int],
    *,
    mode: ModeChoice = ModeChoice.NATIVE,
    regret: bool = True,
    forecaster_factory: Callable[[], Forecaster | None] = lambda: None,
) -> list[SeedResult]:
    """Evaluate a policy on the test window for each seed (usable without Hydra).

    Args:
        policy_factory: Builds a fresh, unbound policy.
        workload_for_seed: The workload of a seed (its priority assignment may depend on it).
        cluster: The simulated cluster.
        base: Env settings (test_window, seed, oracle and action mode are set here).
        seeds: Seeds to run.
        mode: Action mode choice.
        regret: Also run the oracle on the same window and fill in the regret.
        forecaster_factory: Builds the shadow forecaster (None = the env's default).

    Returns:
        One :class:`SeedResult` per seed, in order.
    """
    results: list[SeedResult] = []
    for seed in seeds:
        workload = workload_for_seed(seed)
        policy = policy_factory()
        env_config = env_config_for(policy, base, mode, seed)
        metrics, steps, wall, guards, rejections = run_seed(
            policy, workload, cluster, env_config, forecaster_factory(), seed
        )
        if regret:
            if policy.needs_oracle:
                metrics = metrics.with_regret(metrics)
            else:
                oracle = OraclePolicy()
                oracle_env = env_config_for(oracle, base, ModeChoice.NATIVE, seed)
                best = run_seed(oracle, workload, cluster, oracle_env, None, seed)[0]
                metrics = metrics.with_regret(best)
        results.append(SeedResult(seed, metrics, steps, wall, guards, rejections))
    return results


def summary(results: Sequence[SeedResult]) -> tuple[dict[str, float], dict[str, float]]:
    """Mean and (sample) standard deviation over seeds of every numeric metric."""
    rows = [r.metrics.as_dict() for r in results]
    mean: dict[str, float] = {}
    std: dict[str, float] = {}
    for key, value in rows[0].items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        values = [float(row[key]) for row in rows if row[key] is not None]
        if not values:
            continue
        mean[key] = statistics.fmean(values)
        std[key] = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


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
    rows = [r.metrics.as_dict() for r in results]
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


def _workload_loader(cfg: DictConfig, vary_seed: bool) -> Callable[[int], Workload]:
    """``seed -> Workload`` from ``cfg.workload`` (cached per seed)."""
    cache: dict[int, Workload] = {}

    def load(seed: int) -> Workload:
        key = seed if vary_seed else -1
        if key not in cache:
            node = copy.deepcopy(cfg.workload)
            if vary_seed and "metadata" in node:
                node.metadata.seed = seed
            cache.clear()
            cache[key] = load_workload(node)
        return cache[key]

    return load


@hydra.main(config_path="../conf", config_name="evaluate", version_base=None)
def main(cfg: DictConfig) -> None:
    """Hydra entry point (see the module docstring)."""
    import torch
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import instantiate

    from experiments.tracking import RunLogger
    from shadowsim.shadow.forecasters.configs import forecaster_config_from_node

    torch.set_num_threads(1)
    cluster = build_config(ClusterConfig, cfg.cluster, key="cluster")
    base = build_config(EnvConfig, cfg.env, key="env")
    mode = ModeChoice(str(cfg.action_mode).lower())
    seeds = [int(s) for s in cfg.seeds]
    policy_name = str(instantiate(cfg.policy).name)

    def forecaster() -> Forecaster | None:
        if cfg.get("forecaster") is None:
            return None
        config = forecaster_config_from_node(cfg.forecaster)
        return config.build(float(_workload_loader(cfg, False)(seeds[0]).interval_s))

    results = evaluate(
        lambda: instantiate(cfg.policy),
        _workload_loader(cfg, bool(cfg.vary_metadata_seed)),
        cluster,
        base,
        seeds,
        mode=mode,
        regret=bool(cfg.regret),
        forecaster_factory=forecaster,
    )
    mean, std = summary(results)
    source = _workload_loader(cfg, False)(seeds[0]).source
    print_table(f"{policy_name} on the test window of {source}", results)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    root = Path(cfg.tracking_root) if cfg.get("tracking_root") else out_dir.parent.parent / "mlflow"
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
        for i, r in enumerate(results):
            run.log_metrics(r.metrics.as_dict(), step=i)
        run.log_metrics({f"mean_{k}": v for k, v in mean.items()})
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
        "per_seed": [dict(seed=r.seed, **r.metrics.as_dict()) for r in results],
        "wall_s": float(np.sum([r.wall_s for r in results])),
        "mlflow_run_id": run.run_id,
    }
    print(json.dumps(payload, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    return str(value)


if __name__ == "__main__":
    main()
