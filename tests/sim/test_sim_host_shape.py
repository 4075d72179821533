"""Host shape: the default grown to fit the largest component; a given one checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shadowsim.errors import ConfigError
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.host_shape import DEFAULT_HOST_CAPACITY, host_shape
from shadowsim.sim.simulator import Simulator
from tests.sim.sim_fixtures import make_workload

TRACES = Path(__file__).resolve().parents[2] / ".." / "shared" / "traces"


def _big_machines(n_apps: int = 3) -> np.ndarray:
    """Demand of large machines: up to 90 vCPU and 460 GiB per application."""
    demand = np.ones((n_apps, 12, 4)) * np.array([10.0, 50_000.0, 1_000.0, 1_000.0])
    demand[0, 5] = [90.0, 471_040.0, 1_000.0, 1_000.0]
    return demand


def test_default_shape_unchanged_for_small_components() -> None:
    sim = Simulator(make_workload(n_apps=4), ClusterConfig())
    np.testing.assert_array_equal(sim.host_capacity[0], DEFAULT_HOST_CAPACITY)


def test_default_shape_doubles_until_the_largest_component_fits() -> None:
    workload = make_workload(demand=_big_machines())
    sim = Simulator(workload, ClusterConfig(components_per_app=2))  # peak 45 vCPU, 230 GiB
    # 45 x 1.2 = 54 <= 64 vCPU stays; 235,520 MiB x 1.2 > 256 GiB -> 512 GiB
    np.testing.assert_array_equal(sim.host_capacity[0], [64.0, 524_288.0, 2e6, 1.25e6])
    assert sim.clipped_initial == 0
    one = Simulator(workload, ClusterConfig(components_per_app=1))  # 90 x 1.2 = 108 -> 128
    np.testing.assert_array_equal(one.host_capacity[0], [128.0, 1_048_576.0, 2e6, 1.25e6])
    assert one.spec.n_hosts >= 1


def test_host_shape_rule() -> None:
    peaks = np.array([65.0, 1.0, 1.0, 4e6])
    shape = host_shape(None, (1.0,) * 4, 1.0, peaks)
    np.testing.assert_array_equal(shape, [128.0, 262_144.0, 2e6, 5e6])
    # a peak that fits is kept when its headroom fits the overcommitted allocation limit
    near = np.array([61.0, 1.0, 1.0, 1.0])
    np.testing.assert_array_equal(host_shape(None, (1.5, 1, 1, 1), 1.2, near)[0], 64.0)
    np.testing.assert_array_equal(host_shape(None, (1.0,) * 4, 1.2, near)[0], 128.0)
    np.testing.assert_array_equal(
        host_shape((8.0, 2.0, 1.0, 1.0), (1.0,) * 4, 9.0, peaks * 0), [8, 2, 1, 1]
    )


def test_given_shape_smaller_than_a_component_is_a_config_error() -> None:
    workload = make_workload(demand=_big_machines())
    small = (64.0, 262_144.0, 2e6, 1.25e6)
    with pytest.raises(ConfigError) as info:
        Simulator(workload, ClusterConfig(components_per_app=1, host_capacity=small))
    assert info.value.key == "cluster.host_capacity[0]"
    message = str(info.value)
    assert "CPU peak 90 vCPU > capacity x overcommit 64" in message
    assert "MEMORY peak 471040 MiB" in message
    assert "to null" in message
    assert "components_per_app" in message
    # overcommit counts: 64 x 1.5 = 96 >= 90 vCPU (served up to 64, the rest throttled),
    # memory still short
    with pytest.raises(ConfigError) as info:
        Simulator(
            workload,
            ClusterConfig(components_per_app=1, host_capacity=small, overcommit=(1.5, 1, 1, 1)),
        )
    assert info.value.key == "cluster.host_capacity[1]"
    fits = (128.0, 524_288.0, 2e6, 1.25e6)
    sim = Simulator(workload, ClusterConfig(components_per_app=1, host_capacity=fits))
    np.testing.assert_array_equal(sim.host_capacity[0], fits)


def test_alibaba_hosts_hold_its_machines() -> None:
    folder = TRACES / "alibaba_v2018"
    if not folder.is_dir():
        pytest.skip(f"real traces not found at {folder}")
    from shadowsim.workloads.alibaba import AlibabaConfig, AlibabaReader

    workload = AlibabaReader(AlibabaConfig(path=str(folder))).load()
    sim = Simulator(workload, ClusterConfig())
    peak = workload.demand.max(axis=(0, 1)) / 2  # two components per application
    assert (sim.host_capacity[0] >= peak * 1.2).all()
    assert sim.host_capacity[0, 1] >= 524_288.0
    assert sim.clipped_initial == 0
