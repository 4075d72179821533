"""The :class:`EnvConfig` of :class:`~shadowsim_envs.cluster_env.ClusterEnv` (with or without
Hydra).

Episode layout, in workload ticks: an episode starting at tick ``s`` accounts ticks ``s ..
s + episode_ticks - 1``. Before it:

- the simulator replays ``lead_in_ticks`` ticks ``s - lead_in .. s - 1`` (no policy acts), so
  its initial allocation rule (a quantile of the first ``cluster.initial.window_s`` of what it
  replays) only sees demand from before the episode;
- the engine sees the ``warmup_ticks`` before ``s`` (reference sizes, usage window) and
  replays the last ``engine.accuracy_seed_ticks`` of them through the forecast provider.

Training episodes start uniformly at random in the training part (everything before the
test window); ``test_window`` episodes cover exactly the last ``test_window_s`` of the
workload (deterministic start). The forecaster, when not fitted yet, is fitted on the
training part only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from shadowsim.engine.config_checks import (
    check_bool,
    check_int,
    check_number,
    check_sub_config,
    set_value,
)
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.errors import ConfigError


@dataclass(frozen=True)
class EnvConfig:
    """Settings of the Gymnasium environment (see the module docstring for the layout).

    Attributes:
        episode_ticks: Steps per training episode, >= 1.
        warmup_ticks: History before the episode the engine sees, >= the observation window.
        test_window: Run the test window (the last ``test_window_s``), deterministic start.
        test_window_s: Length of the test window, s (default one week), > 0.
        fast: Precompute the episode's forecasts in one batched pass (else forecast online,
            tick by tick).
        oracle: Perfect-foresight forecasts (for the oracle baseline).
        lead_in_ticks: Ticks the simulator replays before the episode, or None for
            ``cluster.initial.window_s`` in ticks (the least that keeps its initial
            allocation from seeing the episode).
        online_context_ticks: History given to each online forecast, ticks, >= 1.
        online_refit_every_ticks: Online refit period in ticks, or None (never).
        forecast_cache_mib: Fast mode keeps the forecasts of past episodes up to this much
            memory, MiB, >= 0 (besides the current episode's), so a reset recomputes only
            the origins no recent episode covered (same figures either way).
        seed: Seed of episode starts (and of the simulator's random draws).
        engine: The allocation engine's settings.
    """

    episode_ticks: int = 288
    warmup_ticks: int = 288
    test_window: bool = False
    test_window_s: float = 7 * 86_400.0
    fast: bool = True
    oracle: bool = False
    lead_in_ticks: int | None = None
    online_context_ticks: int = 576
    online_refit_every_ticks: int | None = None
    forecast_cache_mib: float = 256.0
    seed: int = 0
    engine: EngineConfig = field(default_factory=EngineConfig)

    def __post_init__(self) -> None:
        set_value(self, "episode_ticks", check_int("env.episode_ticks", self.episode_ticks, low=1))
        set_value(self, "warmup_ticks", check_int("env.warmup_ticks", self.warmup_ticks, low=1))
        for key in ("test_window", "fast", "oracle"):
            set_value(self, key, check_bool(f"env.{key}", getattr(self, key)))
        set_value(
            self,
            "test_window_s",
            check_number(
                "env.test_window_s",
                self.test_window_s,
                low=0.0,
                low_open=True,
                high=math.inf,
                high_open=True,
            ),
        )
        if self.lead_in_ticks is not None:
            set_value(
                self, "lead_in_ticks", check_int("env.lead_in_ticks", self.lead_in_ticks, low=0)
            )
        set_value(
            self,
            "online_context_ticks",
            check_int("env.online_context_ticks", self.online_context_ticks, low=1),
        )
        if self.online_refit_every_ticks is not None:
            set_value(
                self,
                "online_refit_every_ticks",
                check_int("env.online_refit_every_ticks", self.online_refit_every_ticks, low=1),
            )
        set_value(
            self,
            "forecast_cache_mib",
            check_number(
                "env.forecast_cache_mib",
                self.forecast_cache_mib,
                low=0.0,
                high=math.inf,
                high_open=True,
            ),
        )
        set_value(self, "seed", check_int("env.seed", self.seed, low=0))
        engine = check_sub_config("env.engine", EngineConfig, self.engine, prefix="env")
        set_value(self, "engine", engine)
        window = self.engine.observation.window
        if self.warmup_ticks < window:
            raise ConfigError(
                "env.warmup_ticks",
                f"must be >= engine.observation.window ({window}), got {self.warmup_ticks}",
            )
