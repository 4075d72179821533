"""Reward terms, automatic pool sizing and shifting to spares."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.cluster_state import CostBreakdown
from shadowsim.engine.pool_sizing import PoolSizer, PoolSizingConfig
from shadowsim.engine.reward import Reward, RewardConfig
from shadowsim.engine.shifting import ShiftConfig, ShiftPlanner
from shadowsim.errors import ConfigError
from shadowsim.readiness import Readiness
from shadowsim.workloads.workload import Priority

from .cluster_fixtures import make_spec, make_state


def test_reward_terms_sum_to_reward_and_match_hand_computation():
    spec = make_spec()  # LOW, MEDIUM, HIGH
    config = RewardConfig(w_cost=2.0, w_sla=0.5, w_mig=3.0, w_pool=4.0, per_app=False)
    state = make_state(
        spec,
        app_allocation=np.ones((3, 4)),
        sla_violated=np.array([True, False, True]),
        cost=CostBreakdown(allocation=1.5, pool=0.25, migration=0.1),
    )
    terms = Reward(spec, config).terms(state)
    assert terms.cost == pytest.approx(3.0)
    assert terms.sla == pytest.approx(0.5 * (1.0 + 10.0))  # LOW weight 1, HIGH weight 10
    assert terms.migration == pytest.approx(0.3)
    assert terms.pool == pytest.approx(1.0)
    assert terms.reward == pytest.approx(-(3.0 + 5.5 + 0.3 + 1.0))
    parts = terms.as_dict()
    assert parts["reward"] == pytest.approx(
        -sum(parts[k] for k in ("cost", "sla", "migration", "pool"))
    )


def test_reward_per_app_scaling():
    spec = make_spec()
    state = make_state(spec, app_allocation=np.ones((3, 4)), cost=CostBreakdown(allocation=3.0))
    assert Reward(spec, RewardConfig(per_app=True)).terms(state).cost == pytest.approx(1.0)


def test_reward_config_errors():
    with pytest.raises(ConfigError) as info:
        RewardConfig(w_sla=-1)
    assert info.value.key == "w_sla"
    with pytest.raises(ConfigError) as info:
        RewardConfig(priority_weights=(1, 2))
    assert info.value.key == "priority_weights"


def _pool_state(spec, used_share: float):
    alloc = np.ones((spec.n_apps, 4))
    state = make_state(spec, app_allocation=alloc)
    state.host_used[:] = state.host_capacity * used_share
    return state


def test_pool_grows_and_warms_with_worse_accuracy():
    spec = make_spec(per_app=50)  # 150 components
    sizer = PoolSizer(spec, PoolSizingConfig(base_share=0.02, load_share=0.0, error_share=0.2))
    state = _pool_state(spec, 0.5)
    good = np.full((3, 4), 0.02)
    bad = np.full((3, 4), 0.5)
    good_targets = sizer.targets(sizer.auto_share(state, good), good)
    bad_targets = sizer.targets(sizer.auto_share(state, bad), bad)
    assert sum(bad_targets) > sum(good_targets)
    warm = Readiness.RUNNING_IDLE
    assert bad_targets[warm] > good_targets[warm]
    # hand computation: n = round(150 * (0.02 + 0.2 * 0.5)) = 18; urgency 1 -> all running idle
    assert bad_targets == (18, 0, 0, 0)
    # good: n = round(150 * 0.024) = 4; urgency 0.02/0.3; warm = round(4 * (0.25 + 0.75 u)) = 1
    assert good_targets == (0, 1, 3, 0)


def test_pool_grows_with_load_and_is_clipped():
    spec = make_spec(per_app=50)
    config = PoolSizingConfig(base_share=0.0, load_share=0.1, error_share=0.0, max_share=0.05)
    sizer = PoolSizer(spec, config)
    err = np.zeros((3, 4))
    low = sum(sizer.targets(sizer.auto_share(_pool_state(spec, 0.1), err), err))
    high = sum(sizer.targets(sizer.auto_share(_pool_state(spec, 0.9), err), err))
    assert low < high == 7  # min(round(150 * 0.09) = 14, floor(0.05 * 150) = 7)


def test_pool_schedule():
    spec = make_spec()
    sizer = PoolSizer(spec, PoolSizingConfig(every_ticks=3))
    assert [sizer.due() for _ in range(7)] == [True, False, False, True, False, False, True]


def test_pool_config_errors():
    with pytest.raises(ConfigError) as info:
        PoolSizingConfig(base_share=0.5, max_share=0.1)
    assert info.value.key == "base_share"


def _shift_setup():
    # 3 apps (LOW, MEDIUM, HIGH) x 3 components; all on host 0 except nothing on host 1
    spec = make_spec(per_app=3, n_hosts=2, host_capacity=(10.0, 1e9, 1e9, 1e9))
    host_of = np.zeros(9, dtype=np.intp)
    state = make_state(spec, app_allocation=np.full((3, 4), 3.0), host_of=host_of)
    return spec, state


def test_shift_plan_moves_only_non_critical_non_high():
    spec, state = _shift_setup()
    planner = ShiftPlanner(spec, ShiftConfig(threshold=0.9, lead_ticks=2, max_shifts_per_tick=10))
    forecast = np.zeros((3, 4, 4, 2))
    forecast[:, 1, 0, 1] = [3.0, 6.0, 6.0]  # P90 at lead 2: 15 vCPU on a 10 vCPU host
    actions = planner.plan(state, forecast)
    moved = [a.component for a in actions]
    # excess 15 - 9 = 6: MEDIUM's non-critical components (2 vCPU each) first, then LOW's (1)
    assert moved == [4, 5, 1, 2]
    assert not any(spec.component_critical[c] for c in moved)
    assert all(spec.priority[spec.component_app[c]] != Priority.HIGH for c in moved)


def test_shift_plan_respects_limits_and_no_bottleneck():
    spec, state = _shift_setup()
    planner = ShiftPlanner(spec, ShiftConfig(max_shifts_per_tick=1))
    forecast = np.zeros((3, 4, 4, 2))
    assert planner.plan(state, forecast) == []
    forecast[:, 0, 0, 1] = 6.0
    assert len(planner.plan(state, forecast)) == 1
    assert ShiftPlanner(spec, ShiftConfig(enabled=False)).plan(state, forecast) == []


def test_shift_never_moves_high_priority_even_if_only_candidate():
    spec = make_spec(
        priorities=(Priority.HIGH,), per_app=3, n_hosts=1, host_capacity=(1.0, 1e9, 1e9, 1e9)
    )
    state = make_state(spec, app_allocation=np.full((1, 4), 3.0), host_of=np.zeros(3, np.intp))
    planner = ShiftPlanner(spec, ShiftConfig(max_shifts_per_tick=5))
    forecast = np.full((1, 3, 4, 2), 100.0)
    assert planner.plan(state, forecast) == []
    actions, notes = planner.from_mask(np.array([True]), state)
    assert actions == []
    assert "HIGH-priority work is never moved out" in notes[0]


def test_shift_from_mask_picks_movable_component():
    spec, state = _shift_setup()
    state.on_spare[4] = True
    planner = ShiftPlanner(spec)
    actions, notes = planner.from_mask(np.array([True, True, False]), state)
    assert [a.component for a in actions] == [1, 5]
    assert notes == []
    state.migrating[5] = True
    actions, notes = planner.from_mask(np.array([False, True, False]), state)
    assert actions == []
    assert "no movable component" in notes[0]
