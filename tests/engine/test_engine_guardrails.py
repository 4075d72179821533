"""Guardrails: bounds, max change, cooldown, stabilisation, capacity by priority, reporting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shadowsim.engine.guardrails import GuardrailConfig, GuardrailRule, Guardrails
from shadowsim.errors import ConfigError
from shadowsim.workloads.workload import Priority

from .cluster_fixtures import make_spec, make_state

REF = np.array([[2.0, 1024.0, 10.0, 10.0]] * 3)
ALLOC = np.array([[2.0, 1024.0, 10.0, 10.0]] * 3)
FREE = GuardrailConfig(
    min_ref=(0, 0, 0, 0),
    min_abs=(0, 0, 0, 0),
    max_change_factor=math.inf,
    scale_down_cooldown_s=0.0,
    respect_host_capacity=False,
)


def _rails(config: GuardrailConfig, **spec_kwargs) -> tuple[Guardrails, object]:
    spec = make_spec(**spec_kwargs)
    return Guardrails(spec, config), spec


def test_unconstrained_requests_pass_unchanged():
    rails, spec = _rails(FREE)
    state = make_state(spec, app_allocation=ALLOC)
    want = ALLOC * np.array([0.5, 1.0, 3.0, 1.2])
    report = rails.apply(want, state, REF)
    np.testing.assert_allclose(report.targets, want)
    assert report.counts == {}
    assert not report.messages()


def test_bounds_in_ref_and_absolute_units():
    config = GuardrailConfig(
        min_ref=(0.5, 0, 0, 0),
        max_ref=(2.0, math.inf, math.inf, math.inf),
        min_abs=(0, 2048.0, 0, 0),
        max_abs=(math.inf, math.inf, 15.0, math.inf),
        max_change_factor=math.inf,
        scale_down_cooldown_s=0,
        respect_host_capacity=False,
    )
    rails, spec = _rails(config)
    state = make_state(spec, app_allocation=ALLOC)
    want = np.array([[0.1, 100.0, 30.0, 10.0], [10.0, 4096.0, 10.0, 10.0], [2, 1024, 10, 10]])
    report = rails.apply(want, state, REF)
    np.testing.assert_allclose(report.targets[0], [1.0, 2048.0, 15.0, 10.0])
    np.testing.assert_allclose(report.targets[1], [4.0, 4096.0, 10.0, 10.0])
    assert report.flags[0, 0] == GuardrailRule.BOUND_LOW
    assert report.flags[0, 2] == GuardrailRule.BOUND_HIGH
    assert report.flags[1, 0] == GuardrailRule.BOUND_HIGH
    assert report.counts == {"BOUND_LOW": 3, "BOUND_HIGH": 2}  # row 2 memory 1024 < 2048 too
    text = "\n".join(report.messages(spec.app_ids))
    assert "app app0 CPU: requested 0.1, set 1 vCPU (raised to the minimum allocation)" in text


def test_max_change_factor_limits_both_ways():
    config = GuardrailConfig(
        min_ref=(0, 0, 0, 0),
        min_abs=(0, 0, 0, 0),
        max_change_factor=1.5,
        scale_down_cooldown_s=0,
        respect_host_capacity=False,
    )
    rails, spec = _rails(config)
    state = make_state(spec, app_allocation=ALLOC)
    want = ALLOC * np.array([3.0, 0.1, 1.2, 0.9])
    report = rails.apply(want, state, REF)
    np.testing.assert_allclose(report.targets, ALLOC * np.array([1.5, 1 / 1.5, 1.2, 0.9]))
    assert report.counts == {"MAX_CHANGE": 6}


def test_cooldown_blocks_scale_down_after_scale_up():
    config = GuardrailConfig(
        min_ref=(0, 0, 0, 0),
        min_abs=(0, 0, 0, 0),
        max_change_factor=math.inf,
        scale_down_cooldown_s=600.0,
        respect_host_capacity=False,
    )
    rails, spec = _rails(config)
    up = rails.apply(ALLOC * 2, make_state(spec, app_allocation=ALLOC, time_s=0.0), REF)
    assert up.counts == {}
    after = ALLOC * 2
    down = rails.apply(after / 4, make_state(spec, app_allocation=after, time_s=300.0), REF)
    np.testing.assert_allclose(down.targets, after)
    assert down.counts == {"COOLDOWN": 12}
    later = rails.apply(after / 4, make_state(spec, app_allocation=after, time_s=600.0), REF)
    np.testing.assert_allclose(later.targets, after / 4)
    rails.reset()
    fresh = rails.apply(ALLOC / 2, make_state(spec, app_allocation=ALLOC, time_s=0.0), REF)
    np.testing.assert_allclose(fresh.targets, ALLOC / 2)


def test_stabilisation_keeps_the_recent_maximum():
    config = GuardrailConfig(
        min_ref=(0, 0, 0, 0),
        min_abs=(0, 0, 0, 0),
        max_change_factor=math.inf,
        scale_down_cooldown_s=0,
        stabilisation_s=900.0,
        respect_host_capacity=False,
    )
    rails, spec = _rails(config)  # window: 3 ticks of 300 s
    alloc = ALLOC * 2
    state = make_state(spec, app_allocation=alloc)
    first = rails.apply(alloc * 0.9, state, REF)  # recent max 0.9 alloc
    np.testing.assert_allclose(first.targets, alloc * 0.9)
    state = make_state(spec, app_allocation=alloc * 0.9)
    second = rails.apply(alloc * 0.5, state, REF)  # the window still holds 0.9 alloc
    np.testing.assert_allclose(second.targets, alloc * 0.9)
    assert second.counts == {"STABILISATION": 12}
    rails.apply(alloc * 0.5, state, REF)
    fourth = rails.apply(alloc * 0.5, state, REF)  # 0.9 has left the 3-tick window
    np.testing.assert_allclose(fourth.targets, alloc * 0.5)


def test_not_finite_requests_hold_and_are_reported():
    rails, spec = _rails(FREE)
    want = ALLOC.copy()
    want[1, 2] = np.nan
    want[2, 0] = np.inf
    report = rails.apply(want, make_state(spec, app_allocation=ALLOC), REF)
    np.testing.assert_allclose(report.targets, ALLOC)
    assert report.counts == {"NOT_FINITE": 2}


def test_capacity_serves_high_priority_first():
    # one host of 10 vCPU, apps LOW, MEDIUM, HIGH with 1 component each, 2 vCPU each allocated
    spec = make_spec(per_app=1, n_hosts=1, host_capacity=(10.0, 1e9, 1e9, 1e9))
    config = GuardrailConfig(
        min_ref=(0, 0, 0, 0),
        min_abs=(0, 0, 0, 0),
        max_change_factor=math.inf,
        scale_down_cooldown_s=0,
    )
    rails = Guardrails(spec, config)
    alloc = np.array([[2.0, 1, 1, 1]] * 3)
    state = make_state(spec, app_allocation=alloc)  # 6 of 10 vCPU allocated: 4 free
    want = alloc.copy()
    want[:, 0] = [4.0, 4.0, 5.0]  # +2 LOW, +2 MEDIUM, +3 HIGH = 7 > 4 free
    report = rails.apply(want, state, np.ones((3, 4)))
    np.testing.assert_allclose(report.targets[:, 0], [2.0, 3.0, 5.0])  # HIGH +3, MEDIUM +1
    assert report.flags[2, 0] == 0
    assert report.flags[0, 0] == GuardrailRule.CAPACITY
    assert report.flags[1, 0] == GuardrailRule.CAPACITY


def test_capacity_counts_in_flight_increases_and_share():
    spec = make_spec(
        per_app=1, n_hosts=1, host_capacity=(10.0, 1e9, 1e9, 1e9), priorities=(Priority.LOW,)
    )
    config = GuardrailConfig(
        min_ref=(0, 0, 0, 0),
        min_abs=(0, 0, 0, 0),
        max_change_factor=math.inf,
        scale_down_cooldown_s=0,
        host_capacity_share=0.8,
    )
    rails = Guardrails(spec, config)
    alloc = np.array([[4.0, 1, 1, 1]])
    pending = np.array([[6.0, 1, 1, 1]])  # 2 vCPU in flight; usable 8 -> 2 left
    state = make_state(spec, app_allocation=alloc, app_pending=pending)
    report = rails.apply(np.array([[10.0, 1, 1, 1]]), state, np.ones((1, 4)))
    assert report.targets[0, 0] == pytest.approx(8.0)
    assert report.counts == {"CAPACITY": 1}


def test_deadband_holds_small_changes():
    config = GuardrailConfig(
        min_ref=(0, 0, 0, 0),
        min_abs=(0, 0, 0, 0),
        max_change_factor=math.inf,
        scale_down_cooldown_s=0,
        respect_host_capacity=False,
        deadband=0.05,
    )
    rails, spec = _rails(config)
    want = ALLOC * np.array([1.02, 0.97, 1.1, 1.0])
    report = rails.apply(want, make_state(spec, app_allocation=ALLOC), REF)
    np.testing.assert_allclose(report.targets, ALLOC * np.array([1.0, 1.0, 1.1, 1.0]))
    assert report.counts == {"DEADBAND": 6}


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"min_ref": (0.1, 0.1)}, "min_ref"),
        ({"max_abs": (1, 1, 1, 0)}, "max_abs[3]"),
        ({"max_change_factor": 0.5}, "max_change_factor"),
        ({"scale_down_cooldown_s": -1}, "scale_down_cooldown_s"),
        ({"respect_host_capacity": "yes"}, "respect_host_capacity"),
        ({"deadband": 1.5}, "deadband"),
    ],
)
def test_config_errors(kwargs, key):
    with pytest.raises(ConfigError) as info:
        GuardrailConfig(**kwargs)
    assert info.value.key == key
