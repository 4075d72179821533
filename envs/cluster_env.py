"""``ClusterEnv``: the allocation engine on the SimPy simulator as a Gymnasium environment.

``step(action)`` applies the action through the engine's guardrails, then runs the
simulation to the next decision point (one control interval) and returns the next
observation (:mod:`shadowsim.engine.observation`), the reward (:mod:`shadowsim.engine.reward`)
and an ``info`` dict with the reward terms (``reward_terms``), what the guardrails changed
(``guardrails`` counts, ``guardrail_report``), actions the backend rejected or clamped
(``rejected``), and KPIs (``sla_violations``, ``sla_violations_high``, ``cost``,
``migrations``). The env never calls the agent. Episodes are windows of the workload (see
:mod:`shadowsim_envs.env_config`); ``reset(seed=...)`` is reproducible. Episodes end by
truncation after ``episode_ticks`` steps (the task itself never terminates).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.engine.action_codec import ActionCodec
from shadowsim.engine.engine import AllocationEngine
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.engine.forecasts import (
    ForecastProvider,
    OnlineForecasts,
    OracleForecasts,
    PrecomputedForecasts,
    ShadowServiceForecasts,
)
from shadowsim.engine.observation import ObservationBuilder, check_quantiles_match
from shadowsim.errors import ConfigError
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.forecasters.seasonal_naive import SeasonalNaiveForecaster
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.simulator import Simulator
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim.workloads.workload import Workload
from shadowsim_envs.env_config import EnvConfig

if TYPE_CHECKING:  # the service imports MLflow: loaded only when one is passed in
    from shadowsim.shadow.service import ShadowService

Observation = dict[str, NDArray[np.float32]]


class ClusterEnv(gym.Env[dict[str, Any], NDArray[Any]]):
    """A simulated cluster whose allocations a policy controls.

    Args:
        workload: The demand to replay (default: the seeded synthetic workload).
        cluster: The simulated cluster (default: ``ClusterConfig()``).
        engine: Engine settings (an :class:`EngineConfig` or a mapping of its fields);
            overrides ``config.engine``.
        forecaster: The shadow forecaster (fitted on the training part if not fitted yet),
            or a :class:`ShadowService` (forecasts online with accuracy feedback, retraining
            triggers and its MLflow registry; needs ``fast=False``); None = seasonal naive
            with a one-day season.
        fast: Precomputed forecasts (overrides ``config.fast``).
        episode_ticks: Steps per training episode (overrides ``config``).
        warmup_ticks: History before an episode (overrides ``config``).
        test_window: Run the test window (overrides ``config``).
        seed: Seed (overrides ``config.seed``).
        oracle: Perfect-foresight forecasts (overrides ``config.oracle``).
        config: All settings at once; the keyword arguments above override its fields.

    Raises:
        ConfigError: Inconsistent settings, or a workload too short for the episode layout.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 (gymnasium's class attribute)

    def __init__(
        self,
        workload: Workload | None = None,
        cluster: ClusterConfig | None = None,
        engine: EngineConfig | dict[str, Any] | None = None,
        forecaster: Forecaster | ShadowService | None = None,
        *,
        fast: bool | None = None,
        episode_ticks: int | None = None,
        warmup_ticks: int | None = None,
        test_window: bool | None = None,
        seed: int | None = None,
        oracle: bool | None = None,
        config: EnvConfig | None = None,
    ) -> None:
        super().__init__()
        overrides: dict[str, Any] = {
            "engine": engine,
            "fast": fast,
            "episode_ticks": episode_ticks,
            "warmup_ticks": warmup_ticks,
            "test_window": test_window,
            "seed": seed,
            "oracle": oracle,
        }
        base = config if config is not None else EnvConfig()
        self.config = replace(base, **{k: v for k, v in overrides.items() if v is not None})
        cfg = self.config
        self.engine_config: EngineConfig = cfg.engine
        self.workload = (
            workload
            if workload is not None
            else SyntheticGenerator(SyntheticConfig(seed=cfg.seed)).load()
        )
        self.cluster = cluster if cluster is not None else ClusterConfig()
        if self.cluster.control_every_ticks != 1:
            raise ConfigError(
                "cluster.control_every_ticks",
                f"the environment decides every workload tick; set it to 1, got "
                f"{self.cluster.control_every_ticks}",
            )
        self.interval_s = float(self.workload.interval_s)
        self.scale_latency_s = float(max(self.cluster.scaling.latency_s))
        self.actuation_lead_ticks = 1 + math.ceil(self.scale_latency_s / self.interval_s - 1e-9)
        self.lead_in_ticks = self._lead_in()
        self.test_ticks = self.workload.ticks_for(cfg.test_window_s)
        self.service: ShadowService | None = None
        if forecaster is not None and not isinstance(forecaster, Forecaster):
            from shadowsim.shadow.service import ShadowService

            if not isinstance(forecaster, ShadowService):
                raise ConfigError(
                    "forecaster",
                    f"must be a Forecaster or a ShadowService, got {type(forecaster).__name__}",
                )
            if cfg.fast and not cfg.oracle:
                raise ConfigError(
                    "env.fast",
                    "a ShadowService forecasts online, tick by tick; set fast=False to use it",
                )
            self.service = forecaster
            forecaster = None
        self.forecaster = forecaster if forecaster is not None else self._default_forecaster()
        self._first_start = self._earliest_start()
        self._check_layout()
        if self.service is None and not cfg.oracle:  # the oracle reads the true future
            self._fit_forecaster()
        self.provider = self._provider()
        check_quantiles_match(
            self.engine_config.observation, self.provider.quantiles, source="the forecaster"
        )
        if self.provider.horizon < self.engine_config.horizon:
            raise ConfigError(
                "env.engine.observation.forecast_leads",
                f"need forecasts {self.engine_config.horizon} ticks ahead, the forecast source "
                f"covers {self.provider.horizon}; lower the leads or raise its horizon",
            )
        self._np_random, _ = gym.utils.seeding.np_random(cfg.seed)
        probe = Simulator(self.workload.window(0, min(self.workload.n_ticks, 2)), self.cluster)
        self.codec = ActionCodec(probe.spec, self.engine_config.action)
        self.action_space = self.codec.space

        self.observation_space = ObservationBuilder(
            probe.spec, self.engine_config.observation
        ).space
        self._engine: AllocationEngine | None = None
        self._start = -1

    # ------------------------------------------------------------------ layout
    def _lead_in(self) -> int:
        needed = math.ceil(self.cluster.initial.window_s / self.interval_s - 1e-9)
        given = self.config.lead_in_ticks
        if given is None:
            return needed
        if given < needed:
            raise ConfigError(
                "env.lead_in_ticks",
                f"is {given} but the simulator's initial allocation looks at "
                f"cluster.initial.window_s = {self.cluster.initial.window_s} s ({needed} ticks) "
                "of what it replays: with a shorter lead-in it would see the episode's demand. "
                f"Raise env.lead_in_ticks to >= {needed} or lower cluster.initial.window_s",
            )
        return given

    def _earliest_start(self) -> int:
        seed_ticks = self.engine_config.accuracy_seed_ticks
        if self.config.oracle:  # the true future: no forecaster history needed
            min_history = 1
        elif self.service is not None:
            ticks = self.service.ticks
            min_history = ticks["train"] + ticks["validation"]
        else:
            min_history = int(getattr(self.forecaster, "min_history", 1))
        return max(
            self.config.warmup_ticks, self.lead_in_ticks, min_history + seed_ticks, seed_ticks + 1
        )

    @property
    def train_end(self) -> int:
        """First tick of the test window (training episodes end before it)."""
        return self.workload.n_ticks - self.test_ticks

    def _check_layout(self) -> None:
        cfg = self.config
        n = self.workload.n_ticks
        if cfg.test_window:
            if self.train_end < self._first_start:
                raise ConfigError(
                    "env.test_window_s",
                    f"the workload has {n} ticks; the test window takes {self.test_ticks} and "
                    f"needs {self._first_start} ticks of history before it (warm-up, simulator "
                    "lead-in, forecaster history); use a longer workload or a shorter window",
                )
        elif self.train_end - cfg.episode_ticks < self._first_start:
            raise ConfigError(
                "env.episode_ticks",
                f"the workload has {n} ticks, the last {self.test_ticks} are the test window "
                f"and each episode needs {self._first_start} ticks of history before it "
                "(warm-up, simulator lead-in, forecaster history): an episode of "
                f"{cfg.episode_ticks} ticks does not fit; shorten it, the history the "
                "forecaster needs, or use a longer workload",
            )

    def _default_forecaster(self) -> Forecaster:
        """Seasonal naive (one-day season) with residual quantiles up to the engine's horizon."""
        obs = self.engine_config.observation
        return SeasonalNaiveForecaster(
            quantiles=obs.quantiles,
            interval_s=self.interval_s,
            max_horizon=self.engine_config.horizon * self.interval_s,
        )

    def _fit_forecaster(self) -> None:
        """Fit the forecaster on the training part unless it is fitted already."""
        forecaster = self.forecaster
        if forecaster.n_apps == 0:
            train = self.workload.demand[:, : self.train_end]
            forecaster.fit(train, start_s=self.workload.start_time_s)
        elif forecaster.n_apps != self.workload.n_apps:
            raise ConfigError(
                "forecaster",
                f"was fitted on {forecaster.n_apps} applications, the workload has "
                f"{self.workload.n_apps}; fit it on this workload",
            )

    def _provider(self) -> ForecastProvider:
        cfg = self.config
        horizon = self.engine_config.horizon
        demand = self.workload.demand
        start_s = self.workload.start_time_s
        if cfg.oracle:
            return OracleForecasts(demand, horizon, self.engine_config.observation.quantiles)
        if self.service is not None:
            return ShadowServiceForecasts(self.service, demand, start_s=start_s)
        if cfg.fast:
            return PrecomputedForecasts(
                self.forecaster,
                demand,
                horizon,
                start_s=start_s,
                cache_bytes=int(cfg.forecast_cache_mib * 2**20),
            )
        return OnlineForecasts(
            self.forecaster,
            demand,
            horizon,
            context_ticks=cfg.online_context_ticks,
            refit_every_ticks=cfg.online_refit_every_ticks,
            start_s=start_s,
        )

    # ------------------------------------------------------------------ gymnasium API
    def _draw_start(self) -> int:
        if self.config.test_window:
            return self.train_end
        high = self.train_end - self.config.episode_ticks
        return int(self.np_random.integers(self._first_start, high + 1))

    @property
    def episode_length(self) -> int:
        """Steps of the current kind of episode."""
        return self.test_ticks if self.config.test_window else self.config.episode_ticks

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        """Start an episode at a random (or, in test-window mode, fixed) tick."""
        super().reset(seed=seed)
        start = self._draw_start()
        steps = self.episode_length
        lo = start - self.lead_in_ticks
        cluster = replace(self.cluster, seed=int(self.np_random.integers(0, 2**31 - 1)))
        sim = Simulator(self.workload.window(lo, start + steps), cluster)
        if self.lead_in_ticks:  # as many advance() calls, accounted in blocks
            sim.fast_forward(self.lead_in_ticks)
        warmup = self.config.warmup_ticks
        self._engine = AllocationEngine(
            sim,
            self.provider,
            self.engine_config,
            history=self.workload.demand[:, start - warmup : start],
            origin_tick=start,
            max_steps=steps,
            time_origin_s=self.workload.start_time_s + lo * self.interval_s,
        )
        self._start = start
        observation, info = self._engine.reset()
        info["start_tick"] = start
        return observation, info

    def step(self, action: NDArray[Any]) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        """Apply ``action`` through the guardrails and simulate one control interval."""
        engine = self.engine
        observation, reward, terminated, info = engine.step_values(action)
        truncated = engine.steps >= engine.max_steps or terminated
        return observation, reward, False, truncated, info

    # ------------------------------------------------------------------ for rollouts and policies
    @property
    def engine(self) -> AllocationEngine:
        """The current episode's engine (after :meth:`reset`)."""
        if self._engine is None:
            from gymnasium.error import ResetNeeded

            raise ResetNeeded("call reset() before step() or reading the engine")
        return self._engine

    @property
    def last_state(self) -> ClusterState:
        """The snapshot of the tick just accounted."""
        return self.engine.state

    @property
    def spec_of_cluster(self) -> ClusterSpec:
        """The current episode's :class:`ClusterSpec`."""
        return self.engine.spec

    @property
    def start_tick(self) -> int:
        """Workload tick the current episode started at."""
        return self._start
