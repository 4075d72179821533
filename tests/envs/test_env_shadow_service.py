"""The env driven by the shadow service (accuracy feedback, retraining, MLflow registry)."""

from __future__ import annotations

import numpy as np
import pytest
from env_fixtures import DAY_TICKS, small_env, small_workload

from shadowsim.errors import ConfigError
from shadowsim.shadow.registry import RegistryConfig, ShadowRegistry
from shadowsim.shadow.service import ShadowConfig, ShadowService
from shadowsim.shadow.triggers import RetrainConfig


def _service(workload, tmp_path) -> ShadowService:
    config = ShadowConfig(
        forecaster="seasonal_naive",
        forecaster_params={"max_horizon": "1h"},
        horizon="1h",
        train_window="2d",
        validation_window="1h",
        model_prefix="envtest",
        retrain=RetrainConfig(schedule=None, accuracy_threshold=0.5, cooldown="1d"),
    )
    registry = ShadowRegistry(config=RegistryConfig(root=str(tmp_path / "registry")))
    return ShadowService(config, workload.app_ids, workload.interval_s, registry)


def test_service_forecasts_drive_the_env(tmp_path):
    workload = small_workload(n_apps=3, days=4)
    service = _service(workload, tmp_path)
    env = small_env(workload, forecaster=service, fast=False, episode_ticks=6)
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert info["start_tick"] >= 2 * DAY_TICKS + 12  # room for the bootstrap windows
    for _ in range(6):
        obs, _, _, truncated, _ = env.step(env.codec.hold_action)
    assert truncated
    # the forecast in the observation is the service's latest one, in reference units
    lead1 = service.forecast()[:, 0] / env.engine.ref[..., None]
    np.testing.assert_allclose(obs["forecast"][:, 0], lead1, rtol=1e-5)
    assert service.accuracy().n.max() > 0  # the service scored its forecasts


def test_service_needs_online_mode(tmp_path):
    workload = small_workload(n_apps=3, days=4)
    with pytest.raises(ConfigError, match="fast=False") as info:
        small_env(workload, forecaster=_service(workload, tmp_path))
    assert info.value.key == "env.fast"
