"""Reused buffers: the control clock, the ledger's two sets of sums, snapshots as views."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields

import numpy as np
import pytest
import simpy

from shadowsim.actions import ScaleAllAction
from shadowsim.cluster_state import ClusterState
from shadowsim.sim.clock import ControlClock
from shadowsim.sim.jit import Kernel, jit_available
from shadowsim.sim.ledger import Ledger
from shadowsim.sim.simulator import Simulator
from tests.sim.sim_fixtures import make_workload, small_cluster

KERNELS = [Kernel.NUMPY] + ([Kernel.JIT] if jit_available() else [])


def _schedule(env: simpy.Environment, log: list[tuple[str, float]]) -> None:
    """Events before, at and after the stop times 10 and 20, and a process."""

    def logger(name: str) -> Callable[[simpy.events.Event], None]:
        return lambda _event: log.append((name, env.now))

    for name, delay in (("a", 3.0), ("b", 10.0), ("c", 10.0), ("d", 15.0), ("e", 25.0)):
        env.timeout(delay).callbacks.append(logger(name))

    def process() -> simpy.events.ProcessGenerator:
        while True:
            yield env.timeout(5.0)
            log.append(("p", env.now))

    env.process(process())


def test_run_to_is_run_until() -> None:
    expected: list[tuple[str, float]] = []
    got: list[tuple[str, float]] = []
    plain, clock = simpy.Environment(), ControlClock()
    _schedule(plain, expected)
    _schedule(clock, got)
    for stop in (10.0, 20.0, 30.0):
        plain.run(until=stop)
        clock.run_to(stop)
        assert got == expected
        assert clock.now == plain.now == stop
    with pytest.raises(ValueError, match="greater than the current"):
        clock.run_to(30.0)


def test_ledger_alternates_two_zeroed_sets() -> None:
    ledger = Ledger(3, 2)
    first = ledger.interval
    first.demand += 1.0
    first.violation_ticks += 2
    first.ticks = 1
    first.allocation_cost = 5.0
    done = ledger.swap_interval()
    assert done is first
    second = ledger.interval
    assert second is not first
    second.served += 3.0
    second.ticks = 1
    assert ledger.swap_interval() is second
    assert ledger.interval is first  # reused: zeroed
    assert not first.demand.any()
    assert not first.violation_ticks.any()
    assert (first.ticks, first.allocation_cost) == (0, 0.0)
    assert ledger.totals.ticks == 2
    assert ledger.totals.cost.allocation == 5.0


def _same(a: ClusterState, b: ClusterState) -> None:
    for field in fields(a):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if field.name == "kpis":
            for kpi in fields(x):
                np.testing.assert_array_equal(getattr(x, kpi.name), getattr(y, kpi.name))
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=field.name)
        else:
            assert x == y, field.name


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("every", [1, 2])
def test_snapshots_are_views_until_the_next_advance_and_copies_stay(
    kernel: Kernel, every: int
) -> None:
    workload = make_workload(n_apps=5, n_ticks=12, seed=2)
    config = small_cluster(workload, kernel=kernel, control_every_ticks=every)
    sim, again = Simulator(workload, config), Simulator(workload, config)
    kept: list[ClusterState] = []
    asked: list[np.ndarray] = []
    previous: ClusterState | None = None
    rng = np.random.default_rng(0)
    while not sim.done:
        asked.append(rng.uniform(0.5, 2.0, (5, 4)) * sim.pending)
        sim.apply([ScaleAllAction(asked[-1])])
        state = sim.advance()
        assert state is not previous  # a new object each time (callers cache by identity)
        assert sim.observe() is state
        copy = state.copy()
        _same(copy, state)
        assert not np.shares_memory(copy.kpis.served, state.kpis.served)
        kept.append(copy)
        previous = state
    for targets, copy in zip(asked, kept, strict=True):  # copies keep their values
        again.apply([ScaleAllAction(targets)])
        _same(copy, again.advance())


def test_lazy_ledger_marks_reused_sums_stale_and_settle_zeroes_them() -> None:
    ledger = Ledger(2, 2)
    ledger.lazy = True
    first = ledger.interval
    first.throttled += 1.0
    first.hits = np.ones(2, dtype=np.uint8)
    first.ticks, first.migrations = 3, 1
    ledger.swap_interval()
    ledger.swap_interval()
    assert ledger.interval is first
    assert first.stale
    assert (first.ticks, first.migrations) == (0, 0)  # scalars are zeroed at once
    assert first.throttled.all()  # arrays only when settled
    first.settle()
    assert not first.stale
    assert not first.throttled.any()
    assert not first.hits.any()


@pytest.mark.skipif(not jit_available(), reason="numba is not installed")
def test_fused_feed_reuses_two_buffers_and_matches_the_reference() -> None:
    from shadowsim.sim.components import ComponentLayout
    from shadowsim.sim.demand import DemandFeed
    from shadowsim.sim.fused.demand import FusedDemandFeed

    workload = make_workload(n_apps=3, n_ticks=23, seed=4)
    layout = ComponentLayout.build(workload.priority, 2, (0.25, 0.75))
    reference = DemandFeed(workload, layout, 3, chunk_ticks=4, share=False)
    fused = FusedDemandFeed(workload, layout, 3, chunk_ticks=4, share=False)
    assert not reference.shared
    assert not fused.shared
    previous: np.ndarray | None = None
    expected_previous: np.ndarray | None = None
    bases = set()
    for tick in range(0, 23, 3):
        n = min(3, 23 - tick)
        want, _ = reference.block(tick, n)
        got, _ = fused.block(tick, n)
        np.testing.assert_array_equal(got, want)
        assert not got.flags.writeable  # a read-only view of a buffer it converts into
        if previous is not None:  # the block before stays valid
            np.testing.assert_array_equal(previous, expected_previous)
        previous, expected_previous = got, want.copy()
        bases.add(id(got.base if got.base is not None else got))
    assert len(bases) <= 3  # two chunk buffers in turn (and the short last chunk's slice)


def test_assemble_makes_what_init_makes() -> None:
    workload = make_workload(n_apps=3, n_ticks=4, seed=1)
    state = Simulator(workload, small_cluster(workload)).advance()
    values = {field.name: getattr(state, field.name) for field in fields(state)}
    made = ClusterState(**values)
    assembled = ClusterState.assemble(values)
    assert type(assembled) is ClusterState
    assert assembled.__dict__ == made.__dict__
    with pytest.raises(AttributeError):
        assembled.tick = 5  # type: ignore[misc]
