"""Fast-mode forecasts kept across episodes give the same episodes as recomputing them."""

from __future__ import annotations

import numpy as np
import pytest
from env_fixtures import small_cluster, small_workload

from shadowsim.errors import ConfigError
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig


def _env(cache_mib: float) -> ClusterEnv:
    config = EnvConfig(
        episode_ticks=24, warmup_ticks=24, test_window_s=86_400.0, forecast_cache_mib=cache_mib
    )
    return ClusterEnv(workload=small_workload(), cluster=small_cluster(), config=config)


def test_cached_forecasts_replay_the_uncached_episodes() -> None:
    cached, uncached = _env(256.0), _env(0.0)
    cached.action_space.seed(2)
    actions = [cached.action_space.sample() for _ in range(6)]
    for seed in (3, 4, 3, 5, 4):  # repeated and overlapping episodes
        (obs_c, info_c), (obs_u, info_u) = cached.reset(seed=seed), uncached.reset(seed=seed)
        assert info_c["start_tick"] == info_u["start_tick"]
        for action in actions:
            (obs_c, rew_c, *_), (obs_u, rew_u, *_) = cached.step(action), uncached.step(action)
            assert rew_c == rew_u
            for key in obs_u:
                np.testing.assert_array_equal(obs_c[key], obs_u[key], err_msg=key)
    cache_c = cached.provider.cache  # type: ignore[attr-defined]
    cache_u = uncached.provider.cache  # type: ignore[attr-defined]
    assert cache_c.computed < cache_u.computed  # the cached env reused chunks
    with pytest.raises(ConfigError) as info:
        EnvConfig(forecast_cache_mib=-1.0)
    assert info.value.key == "env.forecast_cache_mib"
