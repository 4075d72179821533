"""Action codec: spaces, decode, encode round trips, invalid actions, config errors."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from shadowsim.engine.action_codec import ActionCodec, ActionConfig, ActionMode, ControlSource
from shadowsim.errors import ActionError, ConfigError

from .cluster_fixtures import app_array, make_spec, make_state

ALLOC = app_array([[1, 512, 5, 5], [2, 1024, 10, 10], [4, 2048, 20, 20]])
REF = app_array([[2, 1024, 10, 10]] * 3)


def test_discrete_space_layout_with_policy_controls():
    spec = make_spec()
    config = ActionConfig(pool_control=ControlSource.POLICY, shift_control="policy")
    codec = ActionCodec(spec, config)
    assert isinstance(codec.space, spaces.MultiDiscrete)
    nvec = codec.space.nvec
    assert nvec.shape == (3 * 4 + 1 + 3,)
    assert (nvec[:12] == 5).all()
    assert nvec[12] == 4
    assert (nvec[13:] == 2).all()


def test_discrete_decode_scales_pending():
    spec = make_spec()
    codec = ActionCodec(spec, ActionConfig(pool_control="POLICY", shift_control="POLICY"))
    pending = ALLOC * 2
    state = make_state(spec, app_allocation=ALLOC, app_pending=pending)
    action = np.full(codec.size, 2, dtype=np.int64)  # 1.0 = hold
    action[0] = 4  # app 0 CPU x1.25
    action[5] = 0  # app 1 MEMORY x0.8
    action[12] = 3  # pool level 0.1
    action[13:] = [0, 1, 0]
    decision = codec.decode(action, state, REF)
    expected = pending.copy()
    expected[0, 0] *= 1.25
    expected[1, 1] *= 0.8
    np.testing.assert_allclose(decision.targets, expected)
    assert decision.pool_share == pytest.approx(0.1)
    np.testing.assert_array_equal(decision.shift_mask, [False, True, False])


def test_continuous_decode_uses_ref_units():
    spec = make_spec()
    codec = ActionCodec(spec, ActionConfig(mode=ActionMode.CONTINUOUS))
    assert isinstance(codec.space, spaces.Box)
    assert codec.space.shape == (12,)
    action = np.linspace(0, 4, 12, dtype=np.float32)
    decision = codec.decode(action, make_state(spec, app_allocation=ALLOC), REF)
    np.testing.assert_allclose(decision.targets, action.reshape(3, 4) * REF, rtol=1e-6)
    assert decision.pool_share is None
    assert decision.shift_mask is None


@pytest.mark.parametrize("mode", list(ActionMode))
def test_encode_targets_round_trip(mode):
    spec = make_spec()
    codec = ActionCodec(
        spec, ActionConfig(mode=mode, pool_control="policy", shift_control="policy")
    )
    state = make_state(spec, app_allocation=ALLOC)
    pending_ref = ALLOC / REF
    wanted = pending_ref * np.array([1.25, 1.0, 0.8, 1.1])
    action = codec.encode_targets(
        wanted, pending_ref, pool_share=0.05, shift_mask=np.array([1, 0, 1], bool)
    )
    assert codec.space.contains(action)
    decision = codec.decode(action, state, REF)
    np.testing.assert_allclose(decision.targets, wanted * REF, rtol=1e-6)
    assert decision.pool_share == pytest.approx(0.05)
    np.testing.assert_array_equal(decision.shift_mask, [True, False, True])


def test_encode_discrete_picks_nearest_factor_in_log_space():
    spec = make_spec()
    codec = ActionCodec(spec)
    pending = np.ones((3, 4))
    wanted = np.ones((3, 4))
    wanted[0] = [3.0, 1.04, 1.06, 0.1]  # beyond 1.25; nearer 1.0; nearer 1.1; below 0.8
    wanted[1] = [0.0, np.nan, 1.0, 0.94]
    action = codec.encode_targets(wanted, pending)
    factors = np.asarray(codec.config.scale_factors)[action[:12]].reshape(3, 4)
    np.testing.assert_allclose(factors[0], [1.25, 1.0, 1.1, 0.8])
    np.testing.assert_allclose(factors[1], [0.8, 1.0, 1.0, 0.9])  # NaN holds
    # zero target on zero pending holds
    zero = codec.encode_targets(np.zeros((3, 4)), np.zeros((3, 4)))
    assert (np.asarray(codec.config.scale_factors)[zero] == 1.0).all()


def test_hold_action_holds():
    spec = make_spec()
    codec = ActionCodec(spec, ActionConfig(pool_control="policy"))
    decision = codec.decode(codec.hold_action, make_state(spec, app_allocation=ALLOC), REF)
    np.testing.assert_allclose(decision.targets, ALLOC)
    assert decision.pool_share == pytest.approx(0.05)
    with pytest.raises(ActionError, match="CONTINUOUS"):
        _ = ActionCodec(spec, ActionConfig(mode="continuous")).hold_action


@pytest.mark.parametrize(
    ("mode", "action", "match"),
    [
        (ActionMode.DISCRETE, np.zeros(11, np.int64), "shape"),
        (ActionMode.DISCRETE, np.zeros(12, np.float32), "integers"),
        (ActionMode.DISCRETE, np.full(12, 5, np.int64), r"entry 0 is 5, outside \[0, 4\]"),
        (ActionMode.CONTINUOUS, np.full(12, 2000.0, np.float32), "clip it first"),  # > max_target
        (ActionMode.CONTINUOUS, np.full(12, np.nan, np.float32), "outside"),
        (ActionMode.CONTINUOUS, np.zeros(12, np.int64), "floats"),
    ],
)
def test_invalid_actions_raise_naming_the_space(mode, action, match):
    spec = make_spec()
    codec = ActionCodec(spec, ActionConfig(mode=mode))
    with pytest.raises(ActionError, match=match) as info:
        codec.decode(action, make_state(spec, app_allocation=ALLOC), REF)
    assert "space" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "key", "match"),
    [
        ({"mode": "discrete_ish"}, "mode", "(?i)did you mean"),
        ({"scale_factors": (0.9, 1.1)}, "scale_factors", "1.0"),
        ({"scale_factors": (1.0, 0.9)}, "scale_factors", "increasing"),
        ({"max_target": 0}, "max_target", "in"),
        ({"pool_levels": (0.0, 2.0)}, "pool_levels", "in"),
        ({"pool_control": "policies"}, "pool_control", "(?i)did you mean"),
    ],
)
def test_config_errors(kwargs, key, match):
    with pytest.raises(ConfigError, match=match) as info:
        ActionConfig(**kwargs)
    assert info.value.key.startswith(key)
