"""ServedModels: the models serving blocks of applications as one forecaster."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.errors import ForecastError
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.forecasters.last_value import LastValueForecaster
from shadowsim.shadow.forecasters.seasonal_naive import SeasonalNaiveForecaster
from shadowsim.shadow.registry import RegistryConfig, ShadowRegistry
from shadowsim.shadow.served_models import ServedModels
from shadowsim.shadow.service import ModelGrouping, ShadowConfig, ShadowService

from .test_instance import APPS, DAY, INTERVAL_S, T0, _demand

HORIZON = 12


def _parts(demand: np.ndarray) -> list[tuple[slice, Forecaster]]:
    """Rows 0-1 by last value, row 2 by seasonal naive, each fitted on its rows."""
    first = LastValueForecaster(max_horizon="1h").fit(demand[0:2])
    second = SeasonalNaiveForecaster(max_horizon="1h").fit(demand[2:3])
    return [(slice(0, 2), first), (slice(2, 3), second)]


def test_each_block_is_forecast_by_its_own_model() -> None:
    demand = _demand(3 * DAY)
    parts = _parts(demand)
    served = ServedModels(parts)
    assert served.n_apps == 3
    assert served.kinds == ("last_value", "seasonal_naive")
    assert served.min_history == max(m.min_history for _, m in parts)
    history = demand[:, : 2 * DAY]
    out = served.predict(history, HORIZON, start_s=T0)
    assert out.shape == (3, HORIZON, 4, 2)
    for rows, model in parts:
        np.testing.assert_array_equal(out[rows], model.predict(history[rows], HORIZON, start_s=T0))
    # the batched form agrees with a forecast at each origin
    origins = np.array([DAY + 5, DAY + 40, 2 * DAY], dtype=np.int64)
    batched = served.predict_origins(demand, origins, HORIZON, start_s=T0)
    for i, t in enumerate(origins):
        np.testing.assert_array_equal(batched[:, i], served.predict(demand[:, :t], HORIZON))


def test_state_round_trip_and_refit() -> None:
    demand = _demand(3 * DAY)
    served = ServedModels(_parts(demand))
    meta, arrays = served.state()
    again = ServedModels.from_state(meta, arrays)
    assert again.kinds == served.kinds
    history = demand[:, : 2 * DAY]
    np.testing.assert_array_equal(again.predict(history, HORIZON), served.predict(history, HORIZON))
    # fitting refits every part on its own rows (the parts are the served objects)
    shifted = demand * 2.0
    served.fit(shifted)
    first = served.parts[0][1]
    np.testing.assert_array_equal(
        served.predict(shifted[:, :DAY], HORIZON)[:2], first.predict(shifted[:2, :DAY], HORIZON)
    )


def test_blocks_must_tile_the_applications() -> None:
    demand = _demand(2 * DAY)
    (a, first), (b, second) = _parts(demand)
    with pytest.raises(ForecastError, match="at least one"):
        ServedModels([])
    with pytest.raises(ForecastError, match=r"do not continue the blocks at row 2"):
        ServedModels([(a, first), (slice(3, 4), second)])
    with pytest.raises(ForecastError, match="fitted on 1 applications, not 2"):
        ServedModels([(slice(0, 2), second)])
    odd = LastValueForecaster(quantiles=(0.5, 0.95), max_horizon="1h").fit(demand[2:3])
    with pytest.raises(ForecastError, match="serve models of one kind"):
        ServedModels([(a, first), (b, odd)])
    served = ServedModels([(a, first), (b, second)])
    with pytest.raises(ForecastError, match="fitted on 3 applications, got history for 2"):
        served.predict(demand[:2], HORIZON)


@pytest.mark.parametrize("grouping", list(ModelGrouping))
def test_a_service_serves_its_models_as_one_forecaster(tmp_path, grouping) -> None:
    registry = ShadowRegistry(config=RegistryConfig(root=str(tmp_path)))
    config = ShadowConfig(
        forecaster="last_value", forecaster_params={"max_horizon": "1h"}, horizon="1h",
        train_window="2d", validation_window="1d", grouping=grouping, model_prefix="served",
    )
    service = ShadowService(config, APPS, INTERVAL_S, registry)
    with pytest.raises(ForecastError, match="bootstrap"):
        service.served_models()
    demand = _demand(4 * DAY)
    service.bootstrap(demand[:, : 3 * DAY], T0)
    served = service.served_models()
    assert len(served.parts) == (1 if grouping is ModelGrouping.GLOBAL else 3)
    assert {i.kind for i in service.instances} == {"last_value"}
    # what the service forecast at bootstrap, from the same models
    recent = demand[:, : 3 * DAY]
    np.testing.assert_array_equal(served.predict(recent, service.horizon), service.forecast())
