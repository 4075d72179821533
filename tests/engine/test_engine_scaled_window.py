"""The demand window kept scaled (FusedDemandWindow.attach_scaled) gives the observation the
builder computes from the raw window, bit for bit, through fills, pushes, NaN and clipping."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.engine.demand_window import DemandWindow
from shadowsim.engine.observation import ObservationBuilder, ObservationConfig
from shadowsim.sim.jit import jit_available
from shadowsim.workloads.workload import Priority

from .cluster_fixtures import make_spec, make_state

pytestmark = pytest.mark.skipif(not jit_available(), reason="numba is not installed")


def test_scaled_window_observation_equals_the_reference() -> None:
    from shadowsim.engine.fused.demand_window import FusedDemandWindow
    from shadowsim.engine.fused.observation import FusedObservationBuilder

    spec = make_spec((Priority.LOW, Priority.MEDIUM, Priority.HIGH) * 2, n_hosts=3)
    config = ObservationConfig(window=4, forecast_leads=(1, 3), value_clip=20.0)
    reference = ObservationBuilder(spec, config)
    fused = FusedObservationBuilder(spec, config)
    rng = np.random.default_rng(11)
    n_apps = spec.n_apps
    ref = rng.uniform(0.1, 2.0, (n_apps, 4)) * np.array([1.0, 1024.0, 20.0, 20.0])
    plain, scaled = DemandWindow(n_apps, 4), FusedDemandWindow(n_apps, 4)
    scaled.attach_scaled(*fused.usage_scales(ref))
    assert scaled.scaled
    history = rng.uniform(0.0, 3.0, (n_apps, 9, 4)) * ref[:, None]
    history[2, -1, 1] = 1e9  # clipped
    for window in (plain, scaled):
        window.fill(history)
    alloc = ref * rng.uniform(0.5, 1.5, ref.shape)
    state = make_state(spec, app_allocation=alloc)
    error = rng.uniform(0.0, 1.0, (n_apps, 4))
    for tick in range(9):
        forecast = rng.uniform(0.0, 3.0, (n_apps, 3, 4, 2))
        expected = reference.build(state, plain.view(), forecast, error, ref)
        got = fused.build_scaled(state, scaled.scaled_view(), forecast, error, ref)
        assert list(got) == list(expected)
        for key, value in expected.items():
            np.testing.assert_array_equal(got[key], value, err_msg=f"{key} at tick {tick}")
        demand = rng.uniform(0.0, 3.0, (n_apps, 4)) * ref
        demand[tick % n_apps, tick % 4] = np.nan if tick % 2 else 1e12
        for window in (plain, scaled):
            window.push(demand)
    np.testing.assert_array_equal(scaled.view(), plain.view())
    last = fused.build_scaled(state, scaled.scaled_view(), forecast, error, ref)
    assert np.isnan(last["usage"]).any()
