"""The shared tick-major demand: made once per read-only array, sliced by every feed over it."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from shadowsim.sim import demand_store
from shadowsim.sim.components import ComponentLayout
from shadowsim.sim.demand import DemandFeed
from shadowsim.sim.simulator import Simulator
from shadowsim.workloads.workload import Workload
from tests.sim.sim_fixtures import make_workload, small_cluster


def _unshared(workload: Workload, per_app: int) -> np.ndarray:
    layout = ComponentLayout.build(workload.priority, per_app, None)
    feed = DemandFeed(workload, layout, 4, share=False)
    return np.concatenate([feed.block(t, 1)[0] for t in range(workload.n_ticks)])


def test_a_workload_makes_the_demand_it_takes_read_only() -> None:
    demand = np.ones((2, 5, 4))
    workload = make_workload(demand=demand)
    assert workload.demand is demand
    with pytest.raises(ValueError, match="read-only"):
        demand[0, 0, 0] = 2.0
    mine = np.ones((2, 6, 4))
    viewed = make_workload(demand=mine[:, 1:])  # a view: the caller's array stays theirs
    assert mine.flags.writeable
    assert viewed.demand.flags.writeable


@pytest.mark.parametrize("per_app", [1, 3])
def test_feeds_over_windows_slice_one_copy_with_the_unshared_values(per_app: int) -> None:
    workload = make_workload(n_apps=5, n_ticks=40, seed=2)
    layout = ComponentLayout.build(workload.priority, per_app, None)
    windows = [workload, workload.window(7, 31), workload.window(7, 31).window(3, 20)]
    feeds = [DemandFeed(w, layout, 4) for w in windows]
    assert all(feed.shared for feed in feeds)
    copy = feeds[0].block(0, 1)[0].base
    full = _unshared(workload, per_app)
    for window, feed, start in zip(windows, feeds, (0, 7, 10), strict=True):
        for tick in range(0, window.n_ticks, 3):
            n = min(3, window.n_ticks - tick)
            block = feed.block(tick, n)[0]
            assert block.base is copy  # no conversion of its own
            assert not block.flags.writeable  # shared: nobody writes to it
            np.testing.assert_array_equal(block, full[start + tick : start + tick + n])


def test_other_conversions_and_shares_get_their_own_copies() -> None:
    workload = make_workload(n_apps=4, n_ticks=12, seed=3)
    halves = ComponentLayout.build(workload.priority, 2, (0.5, 0.5))
    skewed = ComponentLayout.build(workload.priority, 2, (0.25, 0.75))
    a, b = DemandFeed(workload, halves, 4), DemandFeed(workload, skewed, 4)
    assert a.block(0, 1)[0].base is not b.block(0, 1)[0].base
    np.testing.assert_array_equal(a.block(5, 1)[0][0, 0] * 2, workload.demand[0, 5])
    np.testing.assert_array_equal(b.block(5, 1)[0][0, 1], workload.demand[0, 5] * 0.75)


def test_writable_selected_or_too_large_demand_is_converted_by_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    layout_of = lambda w: ComponentLayout.build(w.priority, 1, None)  # noqa: E731
    writable = make_workload(demand=np.ones((3, 9, 4))[:, 1:])  # could change under a copy
    selected = make_workload(n_apps=4, n_ticks=9, seed=1).select([2, 0])
    assert selected.demand.base is None  # a copy of its own: shared
    for workload, shared in ((writable, False), (selected, True)):
        feed = DemandFeed(workload, layout_of(workload), 4)
        assert feed.shared is shared
        np.testing.assert_array_equal(feed.block(2, 3)[0], _unshared(workload, 1)[2:5])
        assert not feed.block(5, 2)[0].flags.writeable  # blocks are read-only either way
    big = make_workload(n_apps=3, n_ticks=10, seed=5)
    monkeypatch.setattr(demand_store, "SHARED_LIMIT_BYTES", 3 * 10 * 4 * 8 - 1)
    assert not DemandFeed(big, layout_of(big), 4).shared


def test_the_copy_goes_with_the_array_and_simulators_replay_it_identically() -> None:
    workload = make_workload(n_apps=6, n_ticks=30, seed=6)
    key = id(workload.demand)
    config = small_cluster(workload)
    shared = Simulator(workload, config)
    assert shared.feed.shared
    assert key in demand_store._copies
    unshared = Simulator(make_workload(demand=np.array(workload.demand)[:, :]), config)
    assert not unshared.feed.shared
    for sim in (shared, unshared):
        while not sim.done:
            sim.advance()
    np.testing.assert_array_equal(shared.ledger.totals.served, unshared.ledger.totals.served)
    del workload, shared, unshared
    gc.collect()
    assert key not in demand_store._copies
