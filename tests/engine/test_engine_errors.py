"""Bad input to the engine gives an error naming the config key, argument or tick at fault."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shadowsim.cluster_state import ClusterSpec
from shadowsim.engine.action_codec import ActionCodec, ActionConfig
from shadowsim.engine.component_map import ComponentMap
from shadowsim.engine.demand_window import DemandWindow
from shadowsim.engine.engine import AllocationEngine
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.engine.forecast_cache import ForecastCache
from shadowsim.engine.forecasts import (
    OnlineForecasts,
    OracleForecasts,
    PrecomputedForecasts,
    ShadowServiceForecasts,
)
from shadowsim.engine.observation import ObservationConfig
from shadowsim.errors import ActionError, ConfigError, ForecastError, ShadowSimError
from shadowsim.shadow.forecasters.last_value import LastValueForecaster
from shadowsim.shadow.forecasters.seasonal_naive import SeasonalNaiveForecaster
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.jit import jit_available
from shadowsim.sim.placement import InitialAllocationConfig
from shadowsim.sim.simulator import Simulator
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator

from .cluster_fixtures import make_spec, make_state


def _demand(n_apps: int = 2, n_ticks: int = 60) -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.uniform(1.0, 5.0, size=(n_apps, n_ticks, 4))


def _seasonal(demand: np.ndarray) -> SeasonalNaiveForecaster:
    forecaster = SeasonalNaiveForecaster(interval_s=300.0, max_horizon=3600.0, season=12 * 300.0)
    return forecaster.fit(demand[:, :40])


# ---------------------------------------------------------------- config values


@pytest.mark.parametrize(
    ("observation", "match"),
    [
        (
            {"ref_quantile": math.nan},
            r"'engine\.observation\.ref_quantile': must be a number, got NaN",
        ),
        ({"window": 2.5}, r"'engine\.observation\.window': must be an integer, got 2\.5"),
        ({"quantiles": "0.5"}, r"'engine\.observation\.quantiles': must be a list of numbers"),
        ({"quantiles": []}, r"'engine\.observation\.quantiles': must not be empty"),
        (
            {"forecast_leads": 6},
            r"'engine\.observation\.forecast_leads': must be a list of integers",
        ),
    ],
)
def test_engine_config_values_name_the_key(observation, match):
    with pytest.raises(ConfigError, match=match):
        EngineConfig(observation=observation)


def test_empty_pool_levels_name_the_key():
    with pytest.raises(ConfigError, match=r"'engine\.action\.pool_levels': must not be empty"):
        EngineConfig(action={"pool_levels": []})


def test_sub_config_of_the_wrong_kind_names_the_key():
    wrong_kind = r"'engine\.observation': must be a mapping of its fields or an instance of Obs"
    with pytest.raises(ConfigError, match=wrong_kind):
        EngineConfig(observation=12)  # type: ignore[arg-type]


# ---------------------------------------------------------------- cluster layout


def _spec(component_app: list[int], n_apps: int = 2) -> ClusterSpec:
    n_c = len(component_app)
    return ClusterSpec(
        app_ids=tuple(f"app{i}" for i in range(n_apps)),
        priority=np.full(n_apps, 1, dtype=np.int8),
        sla_response_s=np.full(n_apps, 0.5),
        sla_max_error_rate=np.full(n_apps, 0.01),
        component_app=np.asarray(component_app, dtype=np.intp),
        component_share=np.ones(n_c),
        component_critical=np.zeros(n_c, dtype=bool),
        host_capacity=np.full((1, 4), 100.0),
        interval_s=300.0,
    )


def test_component_of_no_application_is_refused():
    with pytest.raises(ConfigError, match=r"'cluster\.component_app': every component must belong"):
        ComponentMap(_spec([0, 2]))


def test_application_without_component_is_refused():
    with pytest.raises(ConfigError, match=r"'cluster\.component_app': application 'app1' has no"):
        ComponentMap(_spec([0, 0]))


def test_demand_window_needs_a_length():
    with pytest.raises(ShadowSimError, match="demand window needs length >= 1, got 0"):
        DemandWindow(2, 0)


# ---------------------------------------------------------------- the engine


def _engine_parts():
    workload = SyntheticGenerator(SyntheticConfig(n_apps=2, n_ticks=200, seed=0)).load()
    cluster = ClusterConfig(initial=InitialAllocationConfig(window_s=3600.0))
    return workload, Simulator(workload.window(0, 40), cluster)


def test_engine_refuses_a_provider_with_a_short_horizon():
    workload, sim = _engine_parts()
    provider = OracleForecasts(workload.demand, horizon=3)
    with pytest.raises(ConfigError, match=r"'engine\.observation\.forecast_leads'.*covers 3"):
        AllocationEngine(sim, provider, history=workload.demand[:, :24], origin_tick=24,
                         max_steps=4)


def test_engine_refuses_history_of_the_wrong_shape():
    workload, sim = _engine_parts()
    provider = OracleForecasts(workload.demand, horizon=12)
    with pytest.raises(ConfigError, match=r"'history': must have shape \(2, T, 4\), got \(24, 4\)"):
        AllocationEngine(sim, provider, history=workload.demand[0, :24], origin_tick=24,
                         max_steps=4)


def test_engine_refuses_too_little_history():
    workload, sim = _engine_parts()
    provider = OracleForecasts(workload.demand, horizon=12)
    with pytest.raises(ConfigError, match=r"'warmup_ticks'.*observation\.window = 12.*got 5"):
        AllocationEngine(sim, provider, history=workload.demand[:, :5], origin_tick=24,
                         max_steps=4)


def test_engine_refuses_non_finite_history():
    workload, sim = _engine_parts()
    provider = OracleForecasts(workload.demand, horizon=12)
    history = workload.demand[:, :24].copy()
    history[1, 3, 2] = np.nan
    with pytest.raises(ShadowSimError, match="warm-up history contains NaN or infinite"):
        AllocationEngine(sim, provider, history=history, origin_tick=24, max_steps=4)


def test_engine_refuses_steps_beyond_the_episode():
    workload, sim = _engine_parts()
    provider = OracleForecasts(workload.demand, horizon=12)
    engine = AllocationEngine(sim, provider, history=workload.demand[:, :24], origin_tick=24,
                              max_steps=2)
    engine.reset()
    hold = engine.codec.hold_action
    engine.step(hold)
    engine.step(hold)
    with pytest.raises(ShadowSimError, match="prepared for 2 steps; reset for a new episode"):
        engine.step(hold)


def test_encode_targets_checks_the_shapes():
    spec = make_spec()
    codec = ActionCodec(spec, ActionConfig())
    with pytest.raises(ActionError, match=r"must have shape \(3, 4\), got \(3,\) and \(3, 4\)"):
        codec.encode_targets(np.ones(3), np.ones((3, 4)))


# ---------------------------------------------------------------- forecast providers


def test_providers_check_the_demand_shape():
    with pytest.raises(ForecastError, match=r"demand must have shape \(n_apps, n_ticks, 4\)"):
        OracleForecasts(np.ones((2, 10)), horizon=3)


def test_online_forecasts_check_their_arguments():
    demand = _demand()
    forecaster = _seasonal(demand)
    with pytest.raises(ForecastError, match="context_ticks must be >= 1, got 0"):
        OnlineForecasts(forecaster, demand, horizon=3, context_ticks=0)
    with pytest.raises(ForecastError, match="refit_every_ticks must be >= 1 or None, got 0"):
        OnlineForecasts(forecaster, demand, horizon=3, context_ticks=12, refit_every_ticks=0)
    online = OnlineForecasts(forecaster, demand, horizon=3, context_ticks=12)
    with pytest.raises(ForecastError, match=r"origins 0\.\.5 must satisfy 1 <= first <= last"):
        online.start(0, 5)
    online.start(20, 30)
    behind = "asked at tick 25 but has observed demand up to tick 19"
    with pytest.raises(ForecastError, match=behind):
        online.forecast(25)


def test_oracle_origins_must_lie_in_the_workload():
    oracle = OracleForecasts(_demand(n_ticks=60), horizon=3)
    with pytest.raises(ForecastError, match=r"origins 10\.\.70 must lie within 0\.\.60"):
        oracle.start(10, 70)


def test_forecast_cache_chunk_size_must_be_positive():
    demand = _demand()
    with pytest.raises(ForecastError, match="chunk_origins must be >= 1, got 0"):
        ForecastCache(_seasonal(demand), demand, 3, chunk_origins=0)
    # PrecomputedForecasts still builds with a valid cache
    assert PrecomputedForecasts(LastValueForecaster(interval_s=300.0, max_horizon=900.0).fit(
        demand[:, :40]), demand, horizon=3).horizon == 3


@pytest.fixture
def service(tmp_path):
    from shadowsim.shadow.registry import RegistryConfig, ShadowRegistry
    from shadowsim.shadow.service import ShadowConfig, ShadowService

    config = ShadowConfig(
        forecaster="seasonal_naive",
        forecaster_params={"max_horizon": "1h"},
        horizon="1h",
        train_window="2h",
        validation_window="1h",
        model_prefix="errtest",
    )
    registry = ShadowRegistry(config=RegistryConfig(root=str(tmp_path / "registry")))
    return ShadowService(config, ("app0", "app1"), 300.0, registry)


def test_shadow_service_forecasts_check_apps_and_ticks(service):
    with pytest.raises(ForecastError, match="serves 2 applications, the demand has 3"):
        ShadowServiceForecasts(service, _demand(n_apps=3))
    provider = ShadowServiceForecasts(service, _demand(n_apps=2))
    with pytest.raises(ForecastError, match=r"origins 0\.\.4 must satisfy 1 <= first <= last"):
        provider.start(0, 4)
    with pytest.raises(ForecastError, match="asked at tick 5, the service has observed demand"):
        provider.forecast(5)
    with pytest.raises(ForecastError, match="observed tick 5, expected tick 0"):
        provider.observe(5, np.ones((2, 4)))


# ---------------------------------------------------------------- compiled observation builder


@pytest.mark.skipif(not jit_available(), reason="numba is not installed")
def test_fused_builder_checks_the_forecast_shape():
    from shadowsim.engine.fused.observation import FusedObservationBuilder

    spec = make_spec()
    config = ObservationConfig(window=2, forecast_leads=(1, 6))
    builder = FusedObservationBuilder(spec, config)
    state = make_state(spec, app_allocation=np.ones((3, 4)))
    history = np.ones((3, 2, 4))
    error = np.zeros((3, 4))
    ref = np.ones((3, 4))
    with pytest.raises(ShadowSimError, match=r"forecast covers 3 ticks.*leads up to 6"):
        builder.build(state, history, np.ones((3, 3, 4, 2)), error, ref)
    quantiles = r"forecast has 3 quantiles.*quantiles = \(0\.5, 0\.9\)"
    with pytest.raises(ShadowSimError, match=quantiles):
        builder.build(state, history, np.ones((3, 6, 4, 3)), error, ref)
