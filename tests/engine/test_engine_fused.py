"""The compiled guardrails and observation builder agree with the numpy reference.

Bit for bit where the docstrings promise it (observations; guardrail flags, counts and every
rule but the host-capacity sums), to 1e-12 relative for the capacity cut; over hand-built
states with tight hosts, NaN requests and KPIs, and over whole env episodes.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from shadowsim.engine.engine_config import EngineConfig
from shadowsim.engine.guardrails import GuardrailConfig, GuardrailReport, Guardrails
from shadowsim.engine.observation import ObservationBuilder, ObservationConfig
from shadowsim.sim.jit import Kernel, jit_available
from shadowsim.workloads.workload import Priority

from .cluster_fixtures import make_spec, make_state

pytestmark = pytest.mark.skipif(not jit_available(), reason="numba is not installed")

PRIORITIES = (Priority.LOW, Priority.MEDIUM, Priority.HIGH) * 3


def _same_report(fused: GuardrailReport, ref: GuardrailReport) -> None:
    np.testing.assert_allclose(fused.targets, ref.targets, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(fused.flags, ref.flags)
    assert fused.counts == ref.counts
    assert list(fused.counts) == list(ref.counts)  # same rule order in info
    assert (fused.changes is None) == (ref.changes is None)
    if ref.changes is not None:
        assert fused.changes is not None
        np.testing.assert_allclose(fused.changes, ref.changes, rtol=1e-12, atol=0)
    assert fused.requested is not None


CONFIGS = {
    "default": GuardrailConfig(),
    "stabilised_deadband": GuardrailConfig(stabilisation_s=900.0, deadband=0.05),
    "tight_hosts": GuardrailConfig(host_capacity_share=0.35, max_change_factor=4.0),
    "no_limits": GuardrailConfig(
        max_change_factor=math.inf, scale_down_cooldown_s=0.0, respect_host_capacity=False
    ),
    "bounded": GuardrailConfig(
        min_ref=(0.5, 0.5, 0.1, 0.1), max_ref=(1.5, 2.0, 3.0, 3.0), max_abs=(3.0, 1e9, 1e9, 1e9)
    ),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_fused_guardrails_match_the_reference_over_a_sequence(name: str) -> None:
    from shadowsim.engine.fused.guardrails import FusedGuardrails

    config = CONFIGS[name]
    spec = make_spec(PRIORITIES, per_app=2, n_hosts=3, host_capacity=(8.0, 32768.0, 1e3, 1e3))
    ref_rails, fused_rails = Guardrails(spec, config), FusedGuardrails(spec, config)
    rng = np.random.default_rng(7)
    n_apps = spec.n_apps
    ref = rng.uniform(0.5, 2.0, (n_apps, 4)) * np.array([1.0, 2048.0, 50.0, 50.0])
    pending = ref.copy()
    n_capacity_cuts = 0
    for tick in range(40):
        alloc = pending * rng.uniform(0.8, 1.0, pending.shape)
        state = make_state(
            spec, app_allocation=alloc, app_pending=pending, time_s=300.0 * tick, tick=tick
        )
        want = pending * rng.choice([0.5, 0.8, 1.0, 1.1, 1.5, 3.0], size=pending.shape)
        want[rng.random(want.shape) < 0.05] = np.nan
        want[rng.random(want.shape) < 0.02] = np.inf
        expected = ref_rails.apply(want.copy(), state, ref)
        got = fused_rails.apply(want.copy(), state, ref)
        _same_report(got, expected)
        n_capacity_cuts += expected.counts.get("CAPACITY", 0)
        pending = expected.targets
    np.testing.assert_array_equal(fused_rails._last_up_s, ref_rails._last_up_s)
    if name == "tight_hosts":
        assert n_capacity_cuts > 0  # the pro-rata path ran


def test_fused_guardrails_report_nothing_to_send_on_hold() -> None:
    from shadowsim.engine.fused.guardrails import FusedGuardrails

    spec = make_spec(PRIORITIES)
    alloc = np.tile([1.0, 1024.0, 40.0, 40.0], (spec.n_apps, 1))  # within the default bounds
    state = make_state(spec, app_allocation=alloc)
    report = FusedGuardrails(spec, GuardrailConfig()).apply(alloc.copy(), state, alloc)
    assert report.changes is None
    assert report.counts == {}
    assert Guardrails(spec, GuardrailConfig()).apply(alloc.copy(), state, alloc).changes is None


def _states(spec, rng):  # type: ignore[no-untyped-def]
    n_apps = spec.n_apps
    for tick in range(6):
        alloc = rng.uniform(0.1, 4.0, (n_apps, 4)) * np.array([1.0, 1024.0, 20.0, 20.0])
        demand = alloc * rng.uniform(0.0, 1.6, alloc.shape)
        if tick == 0:
            demand[0] = 0.0  # division by the 1e-12 floor
        response = rng.uniform(0.0, 2.0, n_apps)
        if tick == 1:
            response[1] = np.nan
            response[2] = np.inf
        host_allocated = rng.uniform(0.0, 1.2, (spec.n_hosts, 4)) * spec.host_capacity
        yield make_state(
            spec,
            app_allocation=alloc,
            app_pending=alloc * rng.uniform(0.9, 1.3, alloc.shape),
            app_demand=demand,
            host_allocated=host_allocated,
            response_time_s=response,
            sla_violated=rng.random(n_apps) < 0.3,
            time_s=3600.0 * 7 * tick + 123.0,
            pool_count=tuple(int(x) for x in rng.integers(0, 5, 4)),
            pool_target=tuple(int(x) for x in rng.integers(0, 5, 4)),
        )


def test_fused_observation_is_bit_identical() -> None:
    from shadowsim.engine.fused.observation import FusedObservationBuilder

    spec = make_spec(PRIORITIES, per_app=2, n_hosts=11)
    config = ObservationConfig(window=5, forecast_leads=(1, 2, 4), value_clip=50.0)
    reference = ObservationBuilder(spec, config, time_origin_s=1.7e9)
    fused = FusedObservationBuilder(spec, config, time_origin_s=1.7e9)
    rng = np.random.default_rng(3)
    n_apps = spec.n_apps
    ref = rng.uniform(0.05, 3.0, (n_apps, 4)) * np.array([1.0, 1024.0, 20.0, 20.0])
    for state in _states(spec, rng):
        history = rng.uniform(0.0, 2.0, (n_apps, 2 * config.window, 4))[:, 2:7] * ref[:, None]
        history[0, 0, 0] = 1e9  # clipped to value_clip
        forecast = rng.uniform(0.0, 3.0, (n_apps, 6, 4, 2))
        forecast[1, 0, 1, 0] = np.nan
        error = rng.uniform(0.0, 1.0, (n_apps, 4))
        expected = reference.build(state, history, forecast[:, 1:], error, ref)
        got = fused.build(state, history, forecast[:, 1:], error, ref)
        assert list(got) == list(expected)
        for key, value in expected.items():
            assert got[key].dtype == np.float32
            assert got[key].shape == value.shape, key
            np.testing.assert_array_equal(got[key], value, err_msg=key)
            assert fused.space[key].contains(np.nan_to_num(got[key])) or key == "forecast"


def test_engine_config_picks_the_kernels() -> None:
    assert EngineConfig(kernel="numpy").jit is False  # type: ignore[arg-type]
    assert EngineConfig(kernel=Kernel.JIT).jit is True
    assert EngineConfig().kernel is Kernel.AUTO


@pytest.mark.parametrize("mode", ["discrete", "continuous"])
@pytest.mark.parametrize("control", ["auto", "policy"])
def test_fused_codec_decodes_like_the_reference(mode: str, control: str) -> None:
    from shadowsim.engine.action_codec import ActionCodec, ActionConfig
    from shadowsim.engine.fused.action_codec import FusedActionCodec
    from shadowsim.errors import ActionError

    spec = make_spec(PRIORITIES)
    config = ActionConfig(mode=mode, pool_control=control, shift_control=control)  # type: ignore[arg-type]
    reference, fused = ActionCodec(spec, config), FusedActionCodec(spec, config)
    rng = np.random.default_rng(11)
    alloc = rng.uniform(0.5, 3.0, (spec.n_apps, 4))
    state = make_state(spec, app_allocation=alloc, app_pending=alloc * 1.1)
    ref = rng.uniform(0.5, 2.0, (spec.n_apps, 4))
    reference.space.seed(5)
    for _ in range(20):
        action = reference.space.sample()
        expected, got = reference.decode(action, state, ref), fused.decode(action, state, ref)
        np.testing.assert_array_equal(got.targets, expected.targets)
        assert got.pool_share == expected.pool_share
        if expected.shift_mask is None:
            assert got.shift_mask is None
        else:
            np.testing.assert_array_equal(got.shift_mask, expected.shift_mask)
    bad = reference.space.sample()
    bad[0] = -1 if mode == "discrete" else np.nan
    for codec in (reference, fused):
        with pytest.raises(ActionError, match="outside"):
            codec.decode(bad, state, ref)
        with pytest.raises(ActionError, match="shape"):
            codec.decode(bad[:-1], state, ref)


def test_fused_tracker_and_component_map_are_bit_identical() -> None:
    from shadowsim.engine.component_map import ComponentMap
    from shadowsim.engine.forecast_error import ForecastErrorTracker
    from shadowsim.engine.fused.component_map import FusedComponentMap
    from shadowsim.engine.fused.forecast_error import FusedForecastErrorTracker

    rng = np.random.default_rng(2)
    floor = np.array([0.05, 64.0, 1.0, 1.0])
    ref_tracker = ForecastErrorTracker(9, 6.0, floor, prior=0.3)
    fused_tracker = FusedForecastErrorTracker(9, 6.0, floor, prior=0.3)
    for tick in range(30):
        actual = rng.uniform(0.0, 5.0, (9, 4)) * np.array([1.0, 1000.0, 10.0, 10.0])
        actual[tick % 9] = 0.0  # the floor
        predicted = actual * rng.uniform(0.5, 1.5, actual.shape)
        ref_tracker.update(predicted, actual)
        fused_tracker.update(predicted, actual)
        np.testing.assert_array_equal(fused_tracker.error, ref_tracker.error)
    assert fused_tracker.n_updates_weight == ref_tracker.n_updates_weight
    for per_app in (1, 2, 3):
        spec = make_spec(PRIORITIES, per_app=per_app)
        alloc = rng.uniform(0.1, 9.0, (spec.n_apps, 4)) * 10 ** rng.uniform(-3, 3, (spec.n_apps, 4))
        state = make_state(spec, app_allocation=alloc, app_pending=alloc * 1.3)
        state.allocation[:] *= rng.uniform(0.5, 1.5, state.allocation.shape)  # uneven shares
        got = FusedComponentMap(spec).app_allocation(state)
        expected = ComponentMap(spec).app_allocation(state)
        for g, x in zip(got, expected, strict=True):
            np.testing.assert_array_equal(g, x)


def test_fused_shift_planner_plans_the_reference_shifts() -> None:
    from shadowsim.engine.fused.shifting import FusedShiftPlanner
    from shadowsim.engine.shifting import ShiftConfig, ShiftPlanner

    spec = make_spec(PRIORITIES, per_app=2, n_hosts=3, host_capacity=(8.0, 32768.0, 1e3, 1e3))
    config = ShiftConfig(threshold=0.8, lead_ticks=3, max_shifts_per_tick=3)
    reference, fused = ShiftPlanner(spec, config), FusedShiftPlanner(spec, config)
    rng = np.random.default_rng(4)
    alloc = np.tile([1.0, 2048.0, 50.0, 50.0], (spec.n_apps, 1))
    state = make_state(spec, app_allocation=alloc)
    planned = 0
    for scale in np.linspace(0.2, 1.6, 15):
        forecast = rng.uniform(0.5, 1.0, (spec.n_apps, 6, 4, 2)) * scale
        forecast *= np.array([2.0, 6000.0, 200.0, 200.0])[None, None, :, None]
        expected = reference.plan(state, forecast)
        assert fused.plan(state, forecast) == expected
        planned += len(expected)
    assert planned > 0  # both the clear screen and the reference rule ran


def test_host_entries_follow_the_placement() -> None:
    from shadowsim.engine.component_map import ComponentMap

    spec = make_spec(PRIORITIES, per_app=2, n_hosts=3)
    cm = ComponentMap(spec)

    def expected(host_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        matrix = np.zeros((3, spec.n_apps))
        np.add.at(matrix, (host_of, spec.component_app), spec.component_share)
        hosts, apps = np.nonzero(matrix)
        return np.stack([hosts, apps], axis=1), matrix[hosts, apps]

    first = (np.arange(spec.n_components) % 3).astype(np.intp)
    first.setflags(write=False)  # as a snapshot's
    for host_of in (first, first, np.roll(first, 1), first.copy()):
        rows, shares = cm.host_entries(host_of, 3)
        want_rows, want_shares = expected(host_of)
        np.testing.assert_array_equal(rows, want_rows)
        np.testing.assert_array_equal(shares, want_shares)
    writable = first.copy()
    cm.host_entries(writable, 3)
    writable[:] = 0  # changed in place: seen through the comparison, not the identity
    rows, _ = cm.host_entries(writable, 3)
    np.testing.assert_array_equal(rows, expected(writable)[0])
