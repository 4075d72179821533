"""Each compiled part against its numpy reference, on inputs chosen to hit every branch."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.sim import jit
from shadowsim.sim.components import ComponentLayout
from shadowsim.sim.demand import DemandFeed
from shadowsim.sim.jit import Kernel
from shadowsim.sim.placement import first_fit_decreasing
from shadowsim.sim.reactive import ReactiveConfig, ReactiveRule
from shadowsim.sim.scaling import ScalePlanner
from shadowsim.sim.simulator import Simulator
from tests.sim.sim_fixtures import make_workload, small_cluster

pytestmark = pytest.mark.skipif(not jit.jit_available(), reason="numba is not installed")

LOW = np.array([0.1, 128.0, 100.0, 100.0])
HIGH = np.array([8.0, 16_384.0, 5_000.0, 5_000.0])


@pytest.mark.parametrize("trial", range(40))
def test_scale_plans_and_reservations_are_identical(trial: int) -> None:
    from shadowsim.sim.fused.scaling import FusedScalePlanner

    rng = np.random.default_rng(trial)
    k, n_apps, n_hosts = int(rng.integers(1, 4)), int(rng.integers(1, 12)), int(rng.integers(1, 4))
    layout = ComponentLayout.build(rng.integers(0, 3, n_apps).astype(np.int8), k, None)
    n_comp = layout.n_components
    targets = rng.uniform(0.0, 1.3, (n_apps, 4)) * HIGH
    for _ in range(int(rng.integers(0, 5))):  # holds, non-finite and negative entries
        targets[rng.integers(n_apps), rng.integers(4)] = rng.choice(
            [np.nan, np.inf, -np.inf, -1.0, 0.0]
        )
    reserve = rng.uniform(0.2, 1.0, (n_comp, 4)) * HIGH * 0.5
    pending = rng.uniform(0.2, 1.0, (n_comp, 4)) * HIGH * 0.5
    host_of = rng.integers(0, n_hosts, n_comp).astype(np.intp)
    cells = (host_of[:, None] * 4 + np.arange(4)).ravel()
    room = rng.uniform(-0.2, 1.0, (n_hosts, 4)) * HIGH  # some hosts over-asked
    migrating = None if trial % 3 else rng.random(n_comp) < 0.3
    plans, states = [], []
    for planner_type in (ScalePlanner, FusedScalePlanner):
        planner = planner_type(layout, LOW, HIGH, n_hosts)
        r, p = reserve.copy(), pending.copy()
        plans.append(planner.plan(targets, r, room, host_of, cells, migrating, reserve_into=p))
        states.append((r, p))
    expected, got = plans
    np.testing.assert_array_equal(got.targets, expected.targets)
    np.testing.assert_array_equal(got.touched, expected.touched)
    assert (got.n_accepted, got.n_clamped) == (expected.n_accepted, expected.n_clamped)
    for name in ("accepted", "clamped", "applied"):
        np.testing.assert_array_equal(getattr(got.outcome, name), getattr(expected.outcome, name))
        assert not getattr(got.outcome, name).flags.writeable
    assert list(got.outcome.rejected_reasons.items()) == list(
        expected.outcome.rejected_reasons.items()
    )
    np.testing.assert_array_equal(states[1][0], states[0][0])  # reservations
    np.testing.assert_array_equal(states[1][1], states[0][1])  # pending allocations


def test_reactive_rule_targets_are_identical() -> None:
    rng = np.random.default_rng(0)
    numpy_rule = ReactiveRule(ReactiveConfig(kernel=Kernel.NUMPY), 50)
    fused_rule = ReactiveRule(ReactiveConfig(kernel=Kernel.JIT), 50)
    workload = make_workload(n_apps=50, n_ticks=3)
    state = Simulator(workload, small_cluster(workload, kernel=Kernel.NUMPY)).observe()
    current = rng.uniform(0.5, 2.0, (50, 4))
    for _ in range(8):
        usage = current * rng.uniform(0.0, 1.6, (50, 4))
        usage[rng.random(usage.shape) < 0.1] = 0.0
        kpis = type(state.kpis)(**{**state.kpis.__dict__, "served": usage})
        view = type(state)(**{**state.__dict__, "kpis": kpis, "pending_allocation": current})
        with np.errstate(invalid="ignore"):  # 0 / 0 once an allocation reaches 0: NaN
            expected = numpy_rule.decide(view).targets
        got = fused_rule.decide(view).targets
        np.testing.assert_array_equal(got, expected)
        current = expected


@pytest.mark.parametrize("share", [True, False])
@pytest.mark.parametrize("per_app", [1, 3])
def test_demand_feed_blocks_are_identical(per_app: int, share: bool) -> None:
    from shadowsim.sim.fused.demand import FusedDemandFeed

    workload = make_workload(n_apps=7, n_ticks=300, seed=1).window(10, 290)
    layout = ComponentLayout.build(workload.priority, per_app, None)
    reference = DemandFeed(workload, layout, 8, share=share)
    fused = FusedDemandFeed(workload, layout, 8, share=share)
    assert reference.shared == fused.shared == share
    for tick, n in ((0, 8), (5, 8), (250, 8), (256, 8), (272, 8)):
        np.testing.assert_array_equal(fused.block(tick, n)[0], reference.block(tick, n)[0])


@pytest.mark.parametrize("max_hosts", [None, 3, 1])
def test_first_fit_decreasing_places_identically(max_hosts: int | None) -> None:
    from shadowsim.sim.fused.placement import first_fit_decreasing as fused

    rng = np.random.default_rng(2)
    sizes = rng.uniform(0.05, 0.6, (40, 4)) * HIGH
    for util in (0.7, 1.0):
        expected = first_fit_decreasing(sizes, HIGH, util, max_hosts)
        got = fused(sizes, HIGH, util, max_hosts)
        if expected is None:
            assert got is None
        else:
            assert got is not None
            np.testing.assert_array_equal(got, expected)
    assert fused(np.array([HIGH * 1.5]), HIGH, 0.7, None) is None  # one item too big


def test_kernel_accounts_sums_made_field_by_field_like_packed_ones() -> None:
    from shadowsim.sim.fused.kpis import FusedKpiKernel
    from shadowsim.sim.ledger import IntervalSums

    workload = make_workload(n_apps=6, n_ticks=5, seed=3, noise=0.9)
    sim = Simulator(workload, small_cluster(kernel=Kernel.JIT, overcommit=(2.0, 1, 1, 1)))
    kernel = sim.kernel
    assert isinstance(kernel, FusedKpiKernel)
    kernel.set_allocation(sim.alloc * 0.6, check_contention=True)  # unserved demand
    demand, active = sim.feed.block(0, 3)
    packed = IntervalSums.zeros(6, 6)
    shape = (6, 4)
    loose = IntervalSums(
        demand=np.zeros(shape),
        served=np.zeros(shape),
        throttled=np.zeros(shape),
        dropped=np.zeros(shape),
        response_s=np.zeros(6),
        lost_throughput=np.zeros(6),
        violation_ticks=np.zeros(6, dtype=np.int64),
    )
    for sums in (packed, loose):
        kernel.account(demand, None, active, sums)
    assert loose.packed is None
    assert loose.ticks == packed.ticks == 3
    for name in ("demand", "served", "throttled", "dropped", "response_s", "lost_throughput"):
        np.testing.assert_array_equal(getattr(loose, name), getattr(packed, name), err_msg=name)
    np.testing.assert_array_equal(loose.violation_ticks, packed.violation_ticks)
    assert packed.dropped.sum() > 0
