"""Run one episode of a policy in a :class:`~shadowsim_envs.cluster_env.ClusterEnv`.

:func:`run_episode` is what ``experiments.evaluate`` uses: it drives the env with any object
that has stable-baselines3's ``predict(observation, state, episode_start, deterministic)``
(every shadowsim policy and every SB3 model), accumulates the evaluation metrics of
:mod:`shadowsim.metrics` from the env's per-tick :class:`~shadowsim.cluster_state.ClusterState`
and keeps compact per-tick records.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ShadowSimError
from shadowsim.metrics.accumulator import MetricsAccumulator
from shadowsim.metrics.episode_metrics import EpisodeMetrics
from shadowsim.metrics.served_allocation import ServedAllocation
from shadowsim_envs.cluster_env import ClusterEnv

RECORD_KEYS: tuple[str, ...] = (
    "reward",
    "cost",
    "sla",
    "migration",
    "pool",
    "cost_cu",
    "sla_violations",
    "sla_violations_high",
    "guardrail_changes",
    "rejections",
)
"""Per-tick record columns: the reward and its terms, the interval's cost (cu), the number
of applications breaking their SLA (all / HIGH), the number of target entries the guardrails
changed, and the number of backend rejection lines."""


class Predictor(Protocol):
    """Anything with stable-baselines3's predict signature."""

    def predict(
        self,
        observation: Any,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[Any, Any]:
        """The action for ``observation`` and the next recurrent/internal state."""
        ...


@dataclass(eq=False)
class EpisodeResult:
    """The outcome of one episode.

    Attributes:
        metrics: The evaluation metrics (:class:`EpisodeMetrics`).
        records: Per-tick arrays, one per :data:`RECORD_KEYS` entry, length ``n_steps``.
        total_reward: Sum of the rewards.
        n_steps: Steps taken.
        start_tick: Workload tick the episode started at.
        guardrail_counts: Target entries changed per guardrail rule over the episode.
        rejections: Every backend rejection line, in order (first 1,000).
    """

    metrics: EpisodeMetrics
    records: dict[str, NDArray[np.float64]]
    total_reward: float
    n_steps: int
    start_tick: int
    guardrail_counts: dict[str, int] = field(default_factory=dict)
    rejections: list[str] = field(default_factory=list)


def run_episode(
    env: gym.Env[Any, Any],
    policy: Predictor,
    seed: int | None = None,
    *,
    deterministic: bool = True,
    max_steps: int | None = None,
) -> EpisodeResult:
    """Run ``policy`` for one episode of ``env`` (until truncation or termination).

    Args:
        env: A ``ClusterEnv``, possibly wrapped (``gymnasium.make`` output).
        policy: A shadowsim policy bound to ``env``, or an SB3 model.
        seed: Seed of ``env.reset`` (None continues the env's random stream).
        deterministic: Passed to ``predict``.
        max_steps: Stop after this many steps even if the episode goes on.

    Raises:
        ShadowSimError: ``env`` is not a ClusterEnv.
    """
    inner = env.unwrapped
    if not isinstance(inner, ClusterEnv):
        raise ShadowSimError(
            f"run_episode needs a shadowsim_envs ClusterEnv, got {type(inner).__name__}"
        )
    observation, _ = env.reset(seed=seed)
    start_tick = inner.start_tick
    accumulator = MetricsAccumulator(
        inner.engine.spec,
        component_map=inner.engine.components,
        serving=ServedAllocation.for_latency(inner.cluster.scaling.latency_s, inner.interval_s),
        initial=inner.last_state,
    )
    rows: list[tuple[float, ...]] = []
    guardrails: Counter[str] = Counter()
    rejections: list[str] = []
    state: Any = None
    episode_start = np.ones(1, dtype=bool)
    limit = max_steps if max_steps is not None else inner.episode_length
    for _ in range(limit):
        action, state = policy.predict(
            observation, state=state, episode_start=episode_start, deterministic=deterministic
        )
        episode_start = np.zeros(1, dtype=bool)
        observation, reward, terminated, truncated, info = env.step(action)
        accumulator.add(inner.last_state)
        terms = info["reward_terms"]
        guardrails.update(info["guardrails"])
        rejected = info["rejected"]
        if rejected and len(rejections) < 1000:
            rejections.extend(rejected[: 1000 - len(rejections)])
        rows.append(
            (
                float(reward),
                terms["cost"],
                terms["sla"],
                terms["migration"],
                terms["pool"],
                info["cost"],
                info["sla_violations"],
                info["sla_violations_high"],
                sum(n for k, n in info["guardrails"].items() if k != "notes"),
                len(rejected),
            )
        )
        if terminated or truncated:
            break
    table = np.asarray(rows, dtype=np.float64).reshape(len(rows), len(RECORD_KEYS))
    records = {key: table[:, i] for i, key in enumerate(RECORD_KEYS)}
    return EpisodeResult(
        metrics=accumulator.result(),
        records=records,
        total_reward=float(table[:, 0].sum()),
        n_steps=len(rows),
        start_tick=start_tick,
        guardrail_counts=dict(guardrails),
        rejections=rejections,
    )
