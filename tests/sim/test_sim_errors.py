"""Bad simulator configs raise a ConfigError naming the dotted key under ``cluster.``."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.errors import ConfigError
from shadowsim.sim.components import ComponentLayout
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.faults import FaultConfig
from shadowsim.sim.pool import PoolConfig
from shadowsim.sim.simulator import Simulator

from .sim_fixtures import make_workload, small_cluster


def test_fixture_cluster_is_valid() -> None:
    # the cases below change one field of a config that is otherwise accepted
    wl = make_workload(n_apps=2, n_ticks=4)
    sim = Simulator(wl, small_cluster(wl))
    assert sim.layout.n_components == 2


@pytest.mark.parametrize("value", ["1h", None, True, [3600.0]])
def test_fault_number_that_is_not_a_number(value: object) -> None:
    with pytest.raises(
        ConfigError, match=r"config key 'cluster\.faults\.repair_s': expected a number, got "
    ):
        FaultConfig(repair_s=value)  # type: ignore[arg-type]


def test_vector_entry_that_is_not_a_number() -> None:
    with pytest.raises(
        ConfigError,
        match=r"config key 'cluster\.host_capacity\[1\]': expected a number, got '16G' \(str\)",
    ):
        small_cluster(host_capacity=(8.0, "16G", 5000.0, 5000.0))


@pytest.mark.parametrize("value", [2.0, "2,2,2,2", None])
def test_vector_that_is_not_a_list(value: object) -> None:
    with pytest.raises(
        ConfigError, match=r"config key 'cluster\.overcommit': expected a list of 4 numbers, got "
    ):
        small_cluster(overcommit=value)


@pytest.mark.parametrize("value", [2, "1111", 1.0])
def test_pool_initial_target_that_is_not_a_list(value: object) -> None:
    with pytest.raises(
        ConfigError,
        match=r"config key 'cluster\.pool\.initial_target': expected a list of 4 integers, got ",
    ):
        PoolConfig(initial_target=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [(1, 1), (1, 1, 1, 1, 1)])
def test_pool_initial_target_of_the_wrong_length(value: tuple[int, ...]) -> None:
    with pytest.raises(
        ConfigError,
        match=rf"config key 'cluster\.pool\.initial_target': expected 4 values \(one per entry\), "
        rf"got {len(value)}",
    ):
        PoolConfig(initial_target=value)


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_faults_enabled_must_be_a_boolean(value: object) -> None:
    with pytest.raises(
        ConfigError, match=r"config key 'cluster\.faults\.enabled': expected true/false, got "
    ):
        FaultConfig(enabled=value)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"cluster\.faults\.enabled"):
        ClusterConfig(faults=FaultConfig(enabled=value))  # type: ignore[arg-type]


# ComponentLayout.build repeats ClusterConfig's checks of component_shares for direct callers
# (ClusterConfig refuses these shares before the simulator builds a layout).


def test_layout_shares_of_the_wrong_length() -> None:
    priority = np.zeros(2, dtype=np.int8)
    with pytest.raises(
        ConfigError,
        match=r"config key 'cluster\.component_shares': expected 3 shares "
        r"\(components_per_app\), got 2",
    ):
        ComponentLayout.build(priority, 3, (0.5, 0.5))


@pytest.mark.parametrize("shares", [(0.5, 0.6), (1.5, -0.5), (1.0, 0.0)])
def test_layout_shares_must_be_positive_and_sum_to_one(shares: tuple[float, ...]) -> None:
    priority = np.zeros(2, dtype=np.int8)
    with pytest.raises(
        ConfigError,
        match=r"config key 'cluster\.component_shares': shares must be > 0 and sum to 1, got ",
    ):
        ComponentLayout.build(priority, 2, shares)
    with pytest.raises(ConfigError, match=r"cluster\.component_shares"):
        small_cluster(components_per_app=2, component_shares=shares)
