"""Evaluation metrics on hand-computed cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from engine.cluster_fixtures import make_spec, make_state

from shadowsim.cluster_state import CostBreakdown
from shadowsim.errors import ShadowSimError
from shadowsim.metrics import MetricsAccumulator, compute_metrics
from shadowsim.workloads.workload import Priority


def _states():
    spec = make_spec(priorities=(Priority.LOW, Priority.HIGH), per_app=1, n_hosts=1)
    alloc = np.array([[4.0, 1000.0, 10.0, 10.0], [2.0, 500.0, 10.0, 10.0]])
    # tick 0: app 0 uses half of everything, app 1 demands 3 vCPU of 2 (violation, HIGH)
    d0 = np.array([[2.0, 500.0, 5.0, 5.0], [3.0, 500.0, 10.0, 10.0]])
    # tick 1: both fully within allocation; app 1 uses everything
    d1 = np.array([[1.0, 250.0, 0.0, 0.0], [2.0, 500.0, 10.0, 10.0]])
    s0 = make_state(
        spec,
        app_allocation=alloc,
        app_demand=d0,
        cost=CostBreakdown(1.0, 0.5, 0.2),
        response_time_s=np.array([0.1, 0.9]),
        sla_violated=np.array([False, True]),
        migrations=1,
        throughput_rps=np.array([10.0, 20.0]),
    )
    s1 = make_state(
        spec,
        app_allocation=alloc,
        app_demand=d1,
        cost=CostBreakdown(2.0, 0.5, 0.0),
        response_time_s=np.array([0.2, 0.3]),
        throughput_rps=np.array([30.0, 40.0]),
    )
    return spec, [s0, s1]


def test_hand_computed_metrics():
    spec, states = _states()
    m = compute_metrics(states, spec)
    assert m.n_ticks == 2
    assert m.n_apps == 2
    assert m.cost == pytest.approx(4.2)
    assert (m.cost_allocation, m.cost_pool, m.cost_migration) == pytest.approx((3.0, 1.0, 0.2))
    assert m.pool_holding_cost == pytest.approx(1.0)
    # CPU: allocated 6 per tick -> 12; used (2 + 2 served) + (1 + 2) = 7 -> slack 5/12
    assert m.relative_slack[0] == pytest.approx(5 / 12)
    # memory: allocated 3000; used 500 + 500 + 250 + 500 = 1750
    assert m.relative_slack[1] == pytest.approx(1250 / 3000)
    # disk: allocated 40; used 5 + 10 + 0 + 10 = 25
    assert m.relative_slack[2] == pytest.approx(15 / 40)
    assert m.sla_violation_rate == pytest.approx(1 / 4)
    assert m.sla_violation_rate_high == pytest.approx(1 / 2)
    assert m.kpi_violation_rate == pytest.approx(1 / 4)
    assert m.kpi_violation_rate_high == pytest.approx(1 / 2)
    assert m.throughput_rps == pytest.approx((30 + 70) / 2)
    assert m.p95_response_time_s == pytest.approx(np.percentile([0.1, 0.9, 0.2, 0.3], 95))
    assert m.migrations == 1
    assert m.regret is None


def test_regret_against_the_oracle():
    spec, states = _states()
    m = compute_metrics(states, spec)
    oracle = compute_metrics(states[1:], spec)
    with_regret = m.with_regret(oracle)
    assert with_regret.regret == pytest.approx(4.2 - 2.5)
    assert with_regret.regret_relative == pytest.approx(1.7 / 2.5)
    flat = with_regret.as_dict()
    assert flat["slack_cpu"] == pytest.approx(5 / 12)
    assert flat["regret"] == pytest.approx(1.7)
    assert "relative_slack" not in flat


def test_no_high_priority_apps_gives_zero_high_rate():
    spec = make_spec(priorities=(Priority.LOW,), per_app=1, n_hosts=1)
    state = make_state(spec, app_allocation=np.ones((1, 4)), app_demand=np.full((1, 4), 2.0))
    m = compute_metrics([state], spec)
    assert m.sla_violation_rate == 1.0
    assert m.sla_violation_rate_high == 0.0
    assert math.isnan(m.with_regret(m).regret_relative)  # the oracle cost nothing


def test_empty_episode_raises():
    spec, _ = _states()
    with pytest.raises(ShadowSimError, match="no tick"):
        MetricsAccumulator(spec).result()


def test_accumulator_copies_what_it_keeps_as_snapshots_are_views_reused_by_the_simulator():
    spec, (s0, s1) = _states()
    expected = compute_metrics([s0, s1], spec).p95_response_time_s
    acc = MetricsAccumulator(spec)
    acc.add(s0)
    s0.kpis.response_time_s[:] = s1.kpis.response_time_s  # the buffer is overwritten ...
    acc.add(s1)  # ... before the next snapshot is accounted
    assert acc.result().p95_response_time_s == pytest.approx(expected)
    assert expected == pytest.approx(np.percentile([0.1, 0.9, 0.2, 0.3], 95))
