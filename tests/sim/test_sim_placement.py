"""Initial allocation, first-fit-decreasing placement and cluster sizing."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.errors import ConfigError
from shadowsim.sim.components import ComponentLayout
from shadowsim.sim.placement import (
    InitialAllocationConfig,
    first_fit_decreasing,
    initial_allocation,
    place,
)
from shadowsim.sim.simulator import Simulator
from tests.sim.sim_fixtures import make_workload, small_cluster

CAP = np.array([10.0, 100.0, 10.0, 10.0])


def test_ffd_packs_decreasing_within_target_utilisation() -> None:
    sizes = np.array([[4.0, 10, 1, 1], [6.0, 10, 1, 1], [3.0, 10, 1, 1], [2.0, 10, 1, 1]])
    host_of = first_fit_decreasing(sizes, CAP, 0.8, None)
    assert host_of is not None
    # decreasing: 6 -> host 0; 4 -> host 1 (6 + 4 > 8); 3 -> host 1; 2 -> host 0
    assert host_of.tolist() == [1, 0, 1, 0]
    for host in range(int(host_of.max()) + 1):
        assert (sizes[host_of == host].sum(axis=0) <= CAP * 0.8 + 1e-9).all()


def test_ffd_lets_a_big_item_alone_on_an_empty_host_and_fails_beyond_capacity() -> None:
    big = np.array([[9.0, 1, 1, 1]])
    host_of = first_fit_decreasing(big, CAP, 0.5, None)
    assert host_of is not None
    assert host_of.tolist() == [0]
    assert first_fit_decreasing(np.array([[11.0, 1, 1, 1]]), CAP, 1.0, None) is None
    assert first_fit_decreasing(np.ones((3, 4)) * 6, CAP, 1.0, 2) is None


def test_place_sizes_or_explains_what_is_missing() -> None:
    sizes = np.tile([5.0, 10, 1, 1], (6, 1))
    host_of, n_hosts = place(sizes, CAP, 0.5, None)
    assert n_hosts == 6
    assert sorted(host_of.tolist()) == list(range(6))
    _, n_hosts = place(sizes, CAP, 0.5, 3)  # fits at full capacity on 3 hosts
    assert n_hosts == 3
    with pytest.raises(ConfigError) as info:
        place(sizes, CAP, 0.5, 2)
    assert info.value.key == "cluster.n_hosts"
    assert "needs 3" in str(info.value)
    with pytest.raises(ConfigError) as info:
        place(np.array([[20.0, 1, 1, 1]]), CAP, 0.5, None)
    assert info.value.key == "cluster.host_capacity"


def test_initial_allocation_is_quantile_times_share_times_headroom() -> None:
    demand = np.zeros((1, 10, 4))
    demand[0, :, :] = np.arange(10)[:, None] + 1.0  # 1..10
    layout = ComponentLayout.build(np.array([1], dtype=np.int8), 2, (0.25, 0.75))
    cfg = InitialAllocationConfig(quantile=1.0, window_s=3000.0, headroom=2.0)
    low = np.full(4, 0.5)
    high = np.full(4, 10.0)
    alloc, clipped = initial_allocation(demand, 300.0, layout, cfg, low, high)
    assert np.allclose(alloc[0], 10 * 0.25 * 2.0)
    assert np.allclose(alloc[1], 10.0)  # 15 clipped to 10
    assert clipped == 4


def test_an_application_that_starts_later_is_sized_by_its_first_window_of_activity() -> None:
    demand = np.ones((2, 40, 4))
    demand[1, :20] = 0.0  # app 1 appears at tick 20 with demand 8
    demand[1, 20:] = 8.0
    active = np.ones((2, 40), dtype=bool)
    active[1, :20] = False
    layout = ComponentLayout.build(np.array([1, 1], dtype=np.int8), 1, (1.0,))
    cfg = InitialAllocationConfig(quantile=1.0, window_s=3000.0, headroom=1.0)
    low, high = np.full(4, 0.5), np.full(4, 100.0)
    before, _ = initial_allocation(demand, 300.0, layout, cfg, low, high)
    np.testing.assert_allclose(before[1], 0.5)  # the floor: it would starve once it starts
    alloc, _ = initial_allocation(demand, 300.0, layout, cfg, low, high, active)
    np.testing.assert_allclose(alloc[0], 1.0)
    np.testing.assert_allclose(alloc[1], 8.0)
    late = active.copy()
    late[1, :35] = False  # only 5 active ticks left: the window is what there is
    demand[1, 35:] = np.arange(5.0, 10.0)[:, None]
    alloc, _ = initial_allocation(demand, 300.0, layout, cfg, low, high, late)
    np.testing.assert_allclose(alloc[1], 9.0)


def test_simulator_sizes_cluster_and_respects_limits() -> None:
    workload = make_workload(n_apps=12)
    sim = Simulator(workload, small_cluster(workload))
    limit = sim.host_limit
    reserved = sim.host_reserved()
    assert sim.spec.n_hosts >= 2
    assert (reserved <= limit + 1e-9).all()
    explicit = Simulator(workload, small_cluster(workload, n_hosts=sim.spec.n_hosts + 3))
    assert explicit.spec.n_hosts == sim.spec.n_hosts + 3
