"""FusedDecision (decode + guardrails + shift screen in one call) agrees with the parts.

Over a sequence of states and actions (both action modes, a stabilisation window, tight
hosts): the same reports, pool shares, shift masks and guardrail state as the compiled
codec then the compiled guardrails; the screen agrees with the shift planner; an action
outside the space raises the codec's error without counting a decision.
"""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.engine.action_codec import ActionConfig
from shadowsim.engine.guardrails import GuardrailConfig
from shadowsim.engine.shifting import ShiftConfig
from shadowsim.errors import ActionError
from shadowsim.sim.jit import jit_available
from shadowsim.workloads.workload import Priority

from .cluster_fixtures import make_spec, make_state

pytestmark = pytest.mark.skipif(not jit_available(), reason="numba is not installed")

PRIORITIES = (Priority.LOW, Priority.MEDIUM, Priority.HIGH) * 3


@pytest.mark.parametrize("mode", ["discrete", "continuous"])
@pytest.mark.parametrize("pool", ["auto", "policy"])
def test_fused_decision_equals_decode_then_guardrails(mode: str, pool: str) -> None:
    from shadowsim.engine.fused.action_codec import FusedActionCodec
    from shadowsim.engine.fused.component_map import FusedComponentMap
    from shadowsim.engine.fused.decision import FusedDecision
    from shadowsim.engine.fused.guardrails import FusedGuardrails
    from shadowsim.engine.fused.shifting import FusedShiftPlanner

    spec = make_spec(PRIORITIES, per_app=2, n_hosts=3, host_capacity=(8.0, 32768.0, 1e3, 1e3))
    action_cfg = ActionConfig(mode=mode, max_target=3.0, pool_control=pool)  # type: ignore[arg-type]
    rails_cfg = GuardrailConfig(host_capacity_share=0.4, stabilisation_s=900.0)
    shift_cfg = ShiftConfig(threshold=0.3)
    parts = []
    for _ in range(2):
        cmap = FusedComponentMap(spec)
        parts.append(
            (
                FusedActionCodec(spec, action_cfg, component_map=cmap),
                FusedGuardrails(spec, rails_cfg, component_map=cmap),
                FusedShiftPlanner(spec, shift_cfg, component_map=cmap),
            )
        )
    (codec, rails, planner), (f_codec, f_rails, f_planner) = parts
    fused = FusedDecision(f_codec, f_rails, f_planner)
    rng = np.random.default_rng(3)
    codec.space.seed(5)
    ref = rng.uniform(0.5, 2.0, (spec.n_apps, 4)) * np.array([1.0, 2048.0, 50.0, 50.0])
    pending = ref.copy()
    n_clear = n_cuts = 0
    for tick in range(30):
        state = make_state(
            spec,
            app_allocation=pending * rng.uniform(0.8, 1.0, pending.shape),
            app_pending=pending,
            time_s=300.0 * tick,
            tick=tick,
        )
        scale = rng.uniform(0.1, 0.8) if tick % 3 else 2.0  # some ticks near bottlenecks
        forecast = np.ascontiguousarray(
            np.broadcast_to((pending * scale)[:, None, :, None], (spec.n_apps, 4, 4, 2))
        )
        action = codec.space.sample()
        decision = codec.decode(action, state, ref)
        expected = rails.apply(decision.targets, state, ref)
        report, share, mask, clear = fused.decide(action, state, ref, forecast)
        np.testing.assert_array_equal(report.requested, expected.requested)
        np.testing.assert_array_equal(report.targets, expected.targets)
        np.testing.assert_array_equal(report.flags, expected.flags)
        assert report.counts == expected.counts
        assert (report.changes is None) == (expected.changes is None)
        if expected.changes is not None:
            np.testing.assert_array_equal(report.changes, expected.changes)
        assert share == decision.pool_share
        assert mask is None
        assert decision.shift_mask is None
        if clear:  # the screen only skips ticks the planner would not shift on
            n_clear += 1
            assert planner.plan(state, forecast) == []
        n_cuts += expected.counts.get("CAPACITY", 0)
        pending = expected.targets
    np.testing.assert_array_equal(f_rails._last_up_s, rails._last_up_s)
    np.testing.assert_array_equal(f_rails._window, rails._window)
    assert 0 < n_clear < 30
    assert n_cuts > 0


def test_fused_decision_refuses_an_action_outside_the_space_without_counting_it() -> None:
    from shadowsim.engine.fused.action_codec import FusedActionCodec
    from shadowsim.engine.fused.decision import FusedDecision
    from shadowsim.engine.fused.guardrails import FusedGuardrails

    spec = make_spec(PRIORITIES)
    codec = FusedActionCodec(spec)
    rails = FusedGuardrails(
        spec, GuardrailConfig(stabilisation_s=600.0), component_map=codec.components
    )
    fused = FusedDecision(codec, rails)
    alloc = np.tile([1.0, 1024.0, 40.0, 40.0], (spec.n_apps, 1))
    state = make_state(spec, app_allocation=alloc)
    forecast = np.zeros((spec.n_apps, 3, 4, 2))
    bad = codec.hold_action.copy()
    bad[5] = 99
    with pytest.raises(ActionError, match="entry 5 is 99"):
        fused.decide(bad, state, alloc, forecast)
    assert rails._n_seen == 0
    report, _, _, clear = fused.decide(codec.hold_action, state, alloc, forecast)
    assert rails._n_seen == 1
    assert report.changes is None
    assert clear is False  # no planner given: no screen
