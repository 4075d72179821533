"""Small workloads and env factories shared by the env tests (not a conftest).

The workloads are tiny (a few applications, three days of 5-minute ticks) so that every env
test runs in well under a second; the simulator's initial-allocation window is one hour so
that each reset replays only 12 lead-in ticks.
"""

from __future__ import annotations

from typing import Any

from shadowsim.engine.engine_config import EngineConfig
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.placement import InitialAllocationConfig
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim.workloads.workload import Workload
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig

DAY_TICKS = 288


def small_workload(n_apps: int = 6, days: int = 3, seed: int = 0) -> Workload:
    """A seeded synthetic workload of ``days`` days of 5-minute ticks."""
    return SyntheticGenerator(
        SyntheticConfig(n_apps=n_apps, n_ticks=days * DAY_TICKS, seed=seed)
    ).load()


def small_cluster(**kwargs: Any) -> ClusterConfig:
    """The default cluster with a one-hour initial-allocation window (12 lead-in ticks)."""
    return ClusterConfig(initial=InitialAllocationConfig(window_s=3600.0), **kwargs)


def small_env(
    workload: Workload | None = None,
    *,
    engine: EngineConfig | dict[str, Any] | None = None,
    episode_ticks: int = 24,
    **kwargs: Any,
) -> ClusterEnv:
    """A ClusterEnv over a small workload: 24-tick episodes, one-day test window."""
    config = EnvConfig(
        episode_ticks=episode_ticks,
        warmup_ticks=24,
        test_window_s=86_400.0,
    )
    return ClusterEnv(
        workload=workload if workload is not None else small_workload(),
        cluster=kwargs.pop("cluster", small_cluster()),
        engine=engine,
        config=config,
        **kwargs,
    )
