"""Forecasts kept across episodes (ForecastCache) equal fresh batched forecasts; the compiled
demand window equals the reference."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.engine.demand_window import DemandWindow
from shadowsim.engine.forecast_cache import ForecastCache
from shadowsim.engine.forecasts import PrecomputedForecasts
from shadowsim.errors import ForecastError
from shadowsim.shadow.forecasters.seasonal_naive import SeasonalNaiveForecaster
from shadowsim.sim.jit import jit_available


def _forecaster_and_demand(n_ticks: int = 600) -> tuple[SeasonalNaiveForecaster, np.ndarray]:
    rng = np.random.default_rng(11)
    demand = rng.uniform(0.0, 4.0, (3, n_ticks, 4))
    forecaster = SeasonalNaiveForecaster(
        quantiles=(0.5, 0.9), interval_s=300.0, max_horizon=3600.0, season=24 * 300.0
    )
    forecaster.fit(demand[:, :300])
    return forecaster, demand


def test_episodes_reuse_chunks_and_get_the_batched_figures() -> None:
    forecaster, demand = _forecaster_and_demand()
    provider = PrecomputedForecasts(forecaster, demand, 6, chunk_origins=50)
    episodes = [(130, 260), (140, 230), (30, 170), (130, 260), (400, 599)]
    computed = []
    for first, last in episodes:
        provider.start(first, last)
        computed.append(provider.cache.computed)
        batch = forecaster.predict_origins(demand, np.arange(first, last + 1), 6)
        for tick in range(first, last + 1):
            got = provider.forecast(tick)
            assert got.flags.c_contiguous
            assert not got.flags.writeable
            np.testing.assert_array_equal(got, batch[:, tick - first])
        with pytest.raises(ForecastError, match=rf"prepared for ticks {first}\.\.{last}"):
            provider.forecast(last + 1)
    # chunks 2..5 once; the second episode reuses them; the third adds 0, 1 (chunk 2 again,
    # first asked from 130); the fourth reuses everything; the last adds chunks 8..11
    assert computed == [4, 4, 7, 7, 11]


def test_the_budget_evicts_the_least_recently_used_chunks() -> None:
    forecaster, demand = _forecaster_and_demand()
    one_chunk = 50 * 3 * 6 * 4 * 2 * 8  # origins x apps x horizon x resources x quantiles x 8 B
    cache = ForecastCache(forecaster, demand, 6, chunk_origins=50, max_bytes=2 * one_chunk)
    cache.prepare(100, 249)  # chunks 2, 3, 4
    cache.prepare(300, 349)  # chunk 6; keeps the two most recent others (3, 4)
    assert cache.nbytes == 3 * one_chunk
    before = cache.computed
    cache.prepare(150, 249)
    assert cache.computed == before  # 3 and 4 were kept
    cache.prepare(100, 149)
    assert cache.computed == before + 1  # 2 was evicted
    cache.clear()
    assert cache.nbytes == 0
    with pytest.raises(ForecastError, match="must lie within"):
        cache.prepare(0, 10)
    with pytest.raises(ForecastError, match="max_bytes"):
        ForecastCache(forecaster, demand, 6, max_bytes=-1)


@pytest.mark.skipif(not jit_available(), reason="numba is not installed")
def test_compiled_demand_window_equals_the_reference() -> None:
    from shadowsim.engine.fused.demand_window import FusedDemandWindow

    rng = np.random.default_rng(3)
    history = rng.uniform(0.0, 5.0, (4, 9, 4))
    windows = [DemandWindow(4, 5), FusedDemandWindow(4, 5)]
    for window in windows:
        window.fill(history[:, :3])
    for tick in range(12):
        demand = rng.uniform(0.0, 5.0, (4, 4))
        if tick == 4:
            demand[1, 2] = np.nan
        for window in windows:
            window.push(demand)
        np.testing.assert_array_equal(windows[1].view(), windows[0].view())
        assert windows[1].count == windows[0].count
    with pytest.raises(ValueError, match="could not broadcast"):
        windows[1].push(np.zeros((3, 4)))  # the reference's broadcasting error
