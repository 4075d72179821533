"""Observation builder: shapes, normalisation, dtypes, version check, config errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shadowsim.engine.observation import (
    OBSERVATION_KEYS,
    OBSERVATION_VERSION,
    ObservationBuilder,
    ObservationConfig,
    ObservationVersionError,
    check_observation_version,
    reference_sizes,
)
from shadowsim.errors import ConfigError, ShadowSimError
from shadowsim.workloads.workload import Priority

from .cluster_fixtures import app_array, make_spec, make_state


def _inputs(n_apps: int, window: int, horizon: int, q: int = 2):
    rng = np.random.default_rng(0)
    history = rng.uniform(0.5, 2.0, size=(n_apps, window, 4))
    forecast = np.cumsum(rng.uniform(0.1, 1.0, size=(n_apps, horizon, 4, q)), axis=3)
    error = rng.uniform(0.0, 0.5, size=(n_apps, 4))
    ref = np.array([[2.0, 1024.0, 10.0, 20.0]] * n_apps)
    return history, forecast, error, ref


def test_shapes_dtypes_and_space_membership():
    spec = make_spec()
    config = ObservationConfig(window=5, forecast_leads=(1, 2, 4))
    builder = ObservationBuilder(spec, config)
    alloc = app_array([[1, 512, 5, 5], [2, 1024, 10, 10], [4, 2048, 20, 20]])
    state = make_state(spec, app_allocation=alloc, app_demand=alloc * 0.5)
    history, forecast, error, ref = _inputs(3, 5, 4)
    obs = builder.build(state, history, forecast, error, ref)
    assert tuple(obs) == OBSERVATION_KEYS
    assert obs["usage"].shape == (3, 5, 4)
    assert obs["forecast"].shape == (3, 3, 4, 2)
    assert obs["pool"].shape == (8,)
    assert obs["hosts"].shape == (3, 4)
    assert all(v.dtype == np.float32 for v in obs.values())
    assert builder.space.contains(obs)


def test_values_are_divided_by_ref_and_leads_picked():
    spec = make_spec()
    config = ObservationConfig(window=3, forecast_leads=(1, 3))
    builder = ObservationBuilder(spec, config)
    alloc = app_array([[1, 512, 5, 5], [2, 1024, 10, 10], [4, 2048, 20, 20]])
    pending = alloc * 1.5
    state = make_state(spec, app_allocation=alloc, app_pending=pending)
    history, forecast, error, ref = _inputs(3, 3, 3)
    obs = builder.build(state, history, forecast, error, ref)
    np.testing.assert_allclose(obs["usage"], history / ref[:, None, :], rtol=1e-6)
    np.testing.assert_allclose(obs["allocation"], alloc / ref, rtol=1e-6)
    np.testing.assert_allclose(obs["pending"], pending / ref, rtol=1e-6)
    # lead 1 is entry 0 of the forecast, lead 3 entry 2
    np.testing.assert_allclose(obs["forecast"][:, 0], forecast[:, 0] / ref[..., None], rtol=1e-6)
    np.testing.assert_allclose(obs["forecast"][:, 1], forecast[:, 2] / ref[..., None], rtol=1e-6)
    np.testing.assert_allclose(obs["ref_log"], np.log1p(ref), rtol=1e-6)
    np.testing.assert_array_equal(obs["priority"].argmax(axis=1), [0, 1, 2])


def test_kpi_hosts_pool_and_time():
    spec = make_spec(per_app=1, n_hosts=3)
    alloc = app_array([[1, 512, 5, 5], [2, 1024, 10, 10], [4, 2048, 20, 20]])
    demand = app_array([[2, 512, 5, 5], [1, 1024, 10, 10], [4, 4096, 20, 20]])
    host_allocated = np.array([[15.0, 0, 0, 0], [8.0, 0, 0, 0], [0.0, 0, 0, 0]])
    state = make_state(
        spec,
        app_allocation=alloc,
        app_demand=demand,
        host_of=np.arange(3),
        host_allocated=host_allocated,
        response_time_s=np.array([0.25, math.inf, np.nan]),
        sla_violated=np.array([False, True, False]),
        pool_count=(3, 0, 0, 0),
        pool_target=(0, 6, 0, 0),
        time_s=6 * 3600.0,
    )
    builder = ObservationBuilder(spec, ObservationConfig(window=1, forecast_leads=(1,)))
    history, forecast, error, ref = _inputs(3, 1, 1)
    obs = builder.build(state, history, forecast, error, ref)
    kpi = obs["kpi"]
    np.testing.assert_allclose(kpi[:, 0], [0.5, 100.0, 0.0])  # 0.25 / 0.5; inf clipped; NaN -> 0
    np.testing.assert_allclose(kpi[:, 2], [0.0, 1.0, 0.0])
    np.testing.assert_allclose(kpi[:, 3], [0.5, 0.0, 0.5])  # CPU 1 of 2 unserved; memory half
    np.testing.assert_allclose(obs["pool"], [1.0, 0, 0, 0, 0, 2.0, 0, 0])  # divided by C = 3
    cpu_share = np.array([15 / 16, 8 / 16, 0.0])
    np.testing.assert_allclose(obs["hosts"][:, 0], [1 - cpu_share.mean(), 1 / 16, 1 / 3], rtol=1e-6)
    # 06:00 UTC: a quarter of a day -> sin = 1, cos = 0
    np.testing.assert_allclose(obs["time"][:2], [1.0, 0.0], atol=1e-6)


def test_reference_sizes_quantile_and_floor():
    history = np.zeros((2, 100, 4))
    history[0, :, 0] = np.arange(100)
    ref = reference_sizes(history, ObservationConfig(ref_quantile=0.5))
    assert ref[0, 0] == pytest.approx(49.5)
    floor = np.asarray(ObservationConfig().ref_floor)
    np.testing.assert_allclose(ref[0, 1:], floor[1:])
    # app 1 had no demand at all (not active yet): the median of the active apps' references
    np.testing.assert_allclose(ref[1], ref[0])
    np.testing.assert_allclose(reference_sizes(np.zeros((2, 5, 4)), ObservationConfig()),
                               np.tile(floor, (2, 1)))
    with pytest.raises(ShadowSimError, match="shape"):
        reference_sizes(np.zeros((2, 4)), ObservationConfig())


def test_forecast_too_short_raises():
    spec = make_spec()
    builder = ObservationBuilder(spec, ObservationConfig(window=2, forecast_leads=(1, 6)))
    alloc = np.ones((3, 4))
    history, forecast, error, ref = _inputs(3, 2, 3)
    with pytest.raises(ShadowSimError, match="leads up to 6"):
        builder.build(make_state(spec, app_allocation=alloc), history, forecast, error, ref)


def test_version_check():
    check_observation_version(OBSERVATION_VERSION)
    with pytest.raises(ObservationVersionError, match="retrain"):
        check_observation_version("0")


@pytest.mark.parametrize(
    ("kwargs", "key"),
    [
        ({"window": 0}, "window"),
        ({"forecast_leads": (3, 1)}, "forecast_leads"),
        ({"forecast_leads": ()}, "forecast_leads"),
        ({"quantiles": (0.5, 1.0)}, "quantiles"),
        ({"ref_floor": (1.0, 1.0)}, "ref_floor"),
        ({"ref_quantile": 0.0}, "ref_quantile"),
        ({"kpi_clip": "big"}, "kpi_clip"),
    ],
)
def test_config_errors_name_the_key(kwargs, key):
    with pytest.raises(ConfigError) as info:
        ObservationConfig(**kwargs)
    assert info.value.key.startswith(key)


def test_priority_classes_are_one_hot():
    spec = make_spec(priorities=(Priority.HIGH, Priority.HIGH))
    builder = ObservationBuilder(spec)
    history, forecast, error, ref = _inputs(2, 12, 12)
    obs = builder.build(
        make_state(spec, app_allocation=np.ones((2, 4))), history, forecast, error, ref
    )
    np.testing.assert_array_equal(obs["priority"], [[0, 0, 1], [0, 0, 1]])
