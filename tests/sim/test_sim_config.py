"""ClusterConfig and nested configs: defaults work, bad values name their key."""

from __future__ import annotations

import pytest

from shadowsim.errors import ConfigError
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.cost import PriceConfig
from shadowsim.sim.faults import FaultConfig
from shadowsim.sim.kpis import QueueConfig
from shadowsim.sim.migration import MigrationConfig
from shadowsim.sim.placement import InitialAllocationConfig
from shadowsim.sim.pool import PoolConfig
from shadowsim.sim.reactive import ReactiveConfig
from shadowsim.sim.scaling import ScalingConfig


def test_defaults_are_valid_and_lists_become_tuples() -> None:
    cfg = ClusterConfig(host_capacity=[8, 1024, 10, 10], overcommit=[2, 1, 1, 1])
    assert cfg.host_capacity == (8.0, 1024.0, 10.0, 10.0)
    assert cfg.overcommit == (2.0, 1.0, 1.0, 1.0)
    assert PoolConfig(initial_target=[0, 1, 2, 3]).initial_target == (0, 1, 2, 3)


@pytest.mark.parametrize(
    ("build", "key", "words"),
    [
        (lambda: ClusterConfig(n_hosts=0), "cluster.n_hosts", ">= 1"),
        (lambda: ClusterConfig(host_capacity=(1, 2, 3)), "cluster.host_capacity", "4 values"),
        (lambda: ClusterConfig(host_capacity=(1, 0, 3, 4)), "cluster.host_capacity[1]", "> 0"),
        (lambda: ClusterConfig(overcommit=(0.5, 1, 1, 1)), "cluster.overcommit", ">= 1.0"),
        (lambda: ClusterConfig(target_utilisation=1.5), "cluster.target_utilisation", "(0, 1]"),
        (lambda: ClusterConfig(components_per_app=0), "cluster.components_per_app", ">= 1"),
        (
            lambda: ClusterConfig(components_per_app=2, component_shares=(0.5, 0.6)),
            "cluster.component_shares",
            "sum to 1",
        ),
        (lambda: ClusterConfig(control_every_ticks=True), "cluster.control_every_ticks", "integer"),
        (lambda: ClusterConfig(seed=-1), "cluster.seed", ">= 0"),
        (lambda: ClusterConfig(pool=3), "cluster.pool", "PoolConfig"),  # type: ignore[arg-type]
        (lambda: ScalingConfig(latency_s=(1, -1, 0, 0)), "cluster.scaling.latency_s[1]", ">= 0"),
        (
            lambda: ScalingConfig(max_allocation=(0.001, 1e6, 1e6, 1e6)),
            "cluster.scaling.max_allocation",
            "below min_allocation",
        ),
        (lambda: PoolConfig(activation_s=(1, 2, 3)), "cluster.pool.activation_s", "4 values"),
        (
            lambda: PoolConfig(held_fraction=((1, 1, 0, 0),) * 3),
            "cluster.pool.held_fraction",
            "4 rows",
        ),
        (
            lambda: PoolConfig(held_fraction=((2, 1, 0, 0),) * 4),
            "cluster.pool.held_fraction",
            "[0, 1]",
        ),
        (
            lambda: PoolConfig(initial_target=(1, 1, 1, 99), max_per_state=10),
            "cluster.pool.initial_target",
            "max_per_state",
        ),
        (lambda: PoolConfig(start_ready="yes"), "cluster.pool.start_ready", "true/false"),  # type: ignore[arg-type]
        (lambda: MigrationConfig(bandwidth_mib_s=0), "cluster.migration.bandwidth_mib_s", "> 0"),
        (lambda: MigrationConfig(degradation=1.5), "cluster.migration.degradation", "[0, 1]"),
        (lambda: MigrationConfig(max_rounds=0), "cluster.migration.max_rounds", ">= 1"),
        (lambda: PriceConfig(cpu_per_vcpu_h=-1), "cluster.prices.cpu_per_vcpu_h", ">= 0"),
        (lambda: QueueConfig(max_utilisation=1.0), "cluster.queue.max_utilisation", "< 1"),
        (lambda: QueueConfig(request_cpu_s=float("nan")), "cluster.queue.request_cpu_s", "finite"),
        (lambda: FaultConfig(repair_s=0), "cluster.faults.repair_s", "> 0"),
        (lambda: InitialAllocationConfig(quantile=2), "cluster.initial.quantile", "[0, 1]"),
        (lambda: ReactiveConfig(tolerance=-0.1), "reactive.tolerance", ">= 0"),
        (lambda: ReactiveConfig(stabilisation_ticks=0), "reactive.stabilisation_ticks", ">= 1"),
    ],
)
def test_bad_values_name_their_key(build, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        build()
    assert info.value.key == key
    assert words in str(info.value)
    assert f"'{key}'" in str(info.value)
