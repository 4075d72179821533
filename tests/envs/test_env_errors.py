"""Bad arguments to ClusterEnv and the rollout give errors naming the key or argument at fault."""

from __future__ import annotations

import gymnasium as gym
import pytest
from env_fixtures import small_cluster, small_env, small_workload

from shadowsim.errors import ConfigError, ShadowSimError
from shadowsim.shadow.forecasters.last_value import LastValueForecaster
from shadowsim.shadow.registry import RegistryConfig, ShadowRegistry
from shadowsim.shadow.service import ShadowConfig, ShadowService
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_envs.rollout import run_episode


def test_forecaster_of_the_wrong_kind_names_the_argument():
    with pytest.raises(
        ConfigError, match=r"'forecaster': must be a Forecaster or a ShadowService, got str"
    ):
        small_env(forecaster="seasonal_naive")


def test_service_with_a_short_horizon_names_the_forecast_leads(tmp_path):
    workload = small_workload(n_apps=2)
    config = ShadowConfig(
        forecaster="seasonal_naive",
        forecaster_params={"max_horizon": "30min"},
        horizon="30min",
        train_window="4h",
        validation_window="1h",
        model_prefix="errtest",
    )
    registry = ShadowRegistry(config=RegistryConfig(root=str(tmp_path / "registry")))
    service = ShadowService(config, workload.app_ids, workload.interval_s, registry)
    with pytest.raises(
        ConfigError,
        match=r"'env\.engine\.observation\.forecast_leads': need forecasts 12 ticks ahead, "
        r"the forecast source covers 6",
    ):
        small_env(workload, forecaster=service, fast=False)


def test_test_window_without_room_for_history_names_the_key():
    config = EnvConfig(test_window=True, episode_ticks=24, warmup_ticks=24,
                       test_window_s=86_400.0)
    with pytest.raises(ConfigError, match=r"'env\.test_window_s': the workload has 288 ticks"):
        ClusterEnv(workload=small_workload(days=1), cluster=small_cluster(), config=config)


def test_forecaster_fitted_on_another_workload_is_refused():
    forecaster = LastValueForecaster(interval_s=300.0, max_horizon=3600.0)
    forecaster.fit(small_workload(n_apps=4).demand)
    with pytest.raises(
        ConfigError, match=r"'forecaster': was fitted on 4 applications, the workload has 6"
    ):
        small_env(small_workload(n_apps=6), forecaster=forecaster)


def test_run_episode_needs_a_cluster_env():
    class Hold:
        def predict(self, observation, state=None, episode_start=None, deterministic=True):
            return 0, None

    env = gym.make("CartPole-v1")
    with pytest.raises(ShadowSimError, match="needs a shadowsim_envs ClusterEnv, got CartPoleEnv"):
        run_episode(env, Hold())
