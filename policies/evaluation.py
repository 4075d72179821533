"""Evaluating policies on the test window of a workload: the core every comparison uses.

:func:`evaluate` runs one policy on the deterministic test window (the last
``env.test_window_s``) once per seed and returns a :class:`SeedResult` per seed; with
``regret`` the oracle runs on the same window; :func:`compare` runs several policies against
one oracle run per seed. :func:`mean_metrics` averages seeds.
:class:`Holdout` and :func:`holdout_workloads` move the comparison to the validation week (the
one before the test window) for tuning. The
experiments ``evaluate`` (one policy) and ``simulate`` (the main job: every policy compared)
are thin Hydra entry points over this module; it works without Hydra too.
"""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from typing import Any

from shadowsim.engine.action_codec import ActionMode
from shadowsim.errors import ConfigError
from shadowsim.metrics.episode_metrics import EpisodeMetrics
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.sim.config import ClusterConfig
from shadowsim.workloads.loading import load_workload
from shadowsim.workloads.workload import Workload
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_envs.rollout import run_episode
from shadowsim_policies.base import Policy
from shadowsim_policies.engine_settings import adopt_settings
from shadowsim_policies.oracle import OraclePolicy


class ModeChoice(Enum):
    """Which action mode the env uses for the evaluated policy."""

    NATIVE = "native"
    """The policy's own (``policy.action_mode``)."""
    DISCRETE = "discrete"
    CONTINUOUS = "continuous"


class Holdout(Enum):
    """Which week a comparison runs on (each is the last ``env.test_window_s`` of the workload
    the env sees; everything before it is history: forecaster training, warm-up)."""

    TEST = "test"
    """The test window: the last ``test_window_s`` of the workload."""
    VALIDATION = "validation"
    """The ``test_window_s`` before the test window (the workload cut before the test window,
    so nothing of the test window is seen): where parameters are tuned."""


def holdout_workloads(
    workload_for_seed: Callable[[int], Workload], test_window_s: float, holdout: Holdout
) -> Callable[[int], Workload]:
    """``seed -> Workload`` whose last ``test_window_s`` is the chosen holdout.

    Raises:
        ConfigError: The workload is too short to cut a validation window from it.
    """
    if holdout is Holdout.TEST:
        return workload_for_seed

    def cut(seed: int) -> Workload:
        workload = workload_for_seed(seed)
        stop = workload.n_ticks - workload.ticks_for(test_window_s)
        if stop < 1:
            raise ConfigError(
                "holdout",
                f"the workload has {workload.n_ticks} ticks, one test window of "
                f"{test_window_s:g} s leaves none for a validation window; use holdout=test or "
                "a longer workload",
            )
        return workload.window(0, stop)

    return cut


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
        episode_return: Sum of the env's rewards over the episode, cu (minus the cost and
            the priced SLA violations under ``env.engine.reward``: what an RL agent is
            trained to raise, so agents and baselines compare on their objective too).
    """

    seed: int
    metrics: EpisodeMetrics
    n_steps: int
    wall_s: float
    guardrail_counts: dict[str, int] = field(default_factory=dict)
    rejections: int = 0
    episode_return: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The metrics (:meth:`EpisodeMetrics.as_dict`) and ``episode_return``."""
        return {**self.metrics.as_dict(), "episode_return": self.episode_return}

    def with_metrics(self, metrics: EpisodeMetrics) -> SeedResult:
        """A copy with other metrics (e.g. with the regret filled in)."""
        return replace(self, metrics=metrics)


def env_config_for(policy: Policy, base: EnvConfig, mode: ModeChoice, seed: int) -> EnvConfig:
    """The env settings for ``policy``: test window, seed, action mode, oracle forecasts.

    A trained agent gets the action and observation settings it was trained with
    (:func:`~shadowsim_policies.engine_settings.adopt_settings`). A policy that needs perfect
    foresight gets OracleForecasts and every lead from 1 to the longest one (its look-ahead
    for the maximum change per tick needs them all).
    """
    engine, _ = adopt_settings(base.engine, policy.engine_settings)
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
) -> SeedResult:
    """One test-window episode of a bound-at-once policy."""
    env = ClusterEnv(workload, cluster, forecaster=forecaster, config=env_config)
    policy.bind(env)
    start = time.perf_counter()
    result = run_episode(env, policy, seed=seed)
    wall = time.perf_counter() - start
    env.close()
    return SeedResult(
        seed,
        result.metrics,
        result.n_steps,
        wall,
        result.guardrail_counts,
        len(result.rejections),
        result.total_reward,
    )


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
        result = run_seed(policy, workload, cluster, env_config, forecaster_factory(), seed)
        if regret:
            if policy.needs_oracle:
                result = result.with_metrics(result.metrics.with_regret(result.metrics))
            else:
                oracle = OraclePolicy()
                oracle_env = env_config_for(oracle, base, ModeChoice.NATIVE, seed)
                best = run_seed(oracle, workload, cluster, oracle_env, None, seed).metrics
                result = result.with_metrics(result.metrics.with_regret(best))
        results.append(result)
    return results


def compare(
    policies: Mapping[str, Callable[[], Policy]],
    workload_for_seed: Callable[[int], Workload],
    cluster: ClusterConfig,
    base: EnvConfig,
    seeds: Sequence[int],
    *,
    regret: bool = True,
    forecaster_factory: Callable[[], Forecaster | None] = lambda: None,
    on_done: Callable[[str], None] | None = None,
) -> dict[str, list[SeedResult]]:
    """Every policy on the same window and seeds (each in its native action mode).

    With ``regret`` the oracle runs once per seed, every policy's regret is measured against
    it, and it is returned last as ``"oracle"`` (regret 0).

    Args:
        policies: Name -> factory of a fresh, unbound policy.
        workload_for_seed: The workload of a seed.
        cluster: The simulated cluster.
        base: Env settings.
        seeds: Seeds to run.
        regret: Also run the oracle.
        forecaster_factory: Builds the shadow forecaster feeding the observations.
        on_done: Called with each name once its seeds have run (progress).

    Returns:
        The seeds' results per name, in the order of ``policies``.
    """
    oracle: list[SeedResult] = []
    if regret:
        oracle = evaluate(OraclePolicy, workload_for_seed, cluster, base, seeds, regret=False)
    results: dict[str, list[SeedResult]] = {}
    for name, factory in policies.items():
        runs = evaluate(
            factory,
            workload_for_seed,
            cluster,
            base,
            seeds,
            regret=False,
            forecaster_factory=forecaster_factory,
        )
        if oracle:
            runs = [
                r.with_metrics(r.metrics.with_regret(o.metrics))
                for r, o in zip(runs, oracle, strict=True)
            ]
        results[name] = runs
        if on_done is not None:
            on_done(name)
    if oracle:
        results["oracle"] = [r.with_metrics(r.metrics.with_regret(r.metrics)) for r in oracle]
    return results


def summary(results: Sequence[SeedResult]) -> tuple[dict[str, float], dict[str, float]]:
    """Mean and (sample) standard deviation over seeds of every numeric metric, and of the
    episode return (``episode_return``)."""
    rows = [r.as_dict() for r in results]
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


def seeded_workloads(node: Any, vary_seed: bool) -> Callable[[int], Workload]:
    """``seed -> Workload`` from a workload config node (the last one cached).

    Real traces carry no priorities: with ``vary_seed`` each seed draws its own priority/SLA
    assignment (``metadata.seed``).
    """
    cache: dict[int, Workload] = {}

    def load(seed: int) -> Workload:
        key = seed if vary_seed else -1
        if key not in cache:
            config = copy.deepcopy(node)
            if vary_seed and "metadata" in config:
                config.metadata.seed = seed
            cache.clear()
            cache[key] = load_workload(config)
        return cache[key]

    return load


def mean_metrics(runs: Sequence[EpisodeMetrics]) -> EpisodeMetrics:
    """The field-wise mean of several episodes' metrics (e.g. over seeds).

    Regret fields stay None unless every run has them.
    """
    if not runs:
        raise ValueError("mean_metrics needs at least one run")
    values: dict[str, Any] = {}
    for f in fields(EpisodeMetrics):
        column = [getattr(m, f.name) for m in runs]
        if any(v is None for v in column):
            values[f.name] = None
        elif f.name == "relative_slack":
            values[f.name] = tuple(statistics.fmean(c) for c in zip(*column, strict=True))
        elif f.name in ("n_ticks", "n_apps", "migrations"):
            values[f.name] = round(statistics.fmean(column))
        else:
            values[f.name] = statistics.fmean(column)
    return EpisodeMetrics(**values)
