"""Bad input to the shadow package gets a clear error naming the file, field or config key.

Each test reaches one error the way a user would: a bad constructor argument or config
value, a bad history, a damaged artifact in ``tmp_path``, a damaged or foreign MLflow store.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import safetensors.numpy
from numpy.typing import NDArray

from shadowsim.errors import ArtifactError, ConfigError, ForecastError
from shadowsim.shadow.accuracy import RollingAccuracy
from shadowsim.shadow.artifact import (
    META_FILE,
    TENSORS_FILE,
    load_forecaster,
    save_forecaster,
)
from shadowsim.shadow.demand_history import DemandHistory
from shadowsim.shadow.evaluation import targets
from shadowsim.shadow.forecaster import Forecaster, forecaster_from_state
from shadowsim.shadow.forecasters import LastValueForecaster
from shadowsim.shadow.forecasters.configs import forecaster_config_from_node
from shadowsim.shadow.forecasters.ets import ETSForecaster
from shadowsim.shadow.forecasters.prophet import ProphetForecaster
from shadowsim.shadow.service import ShadowConfig
from shadowsim.shadow.triggers import RetrainConfig
from shadowsim.shadow.validation import ValidationWindow, validate

from .error_fixtures import HORIZON, INTERVAL_S, PERIOD, _demand, _last_value
from .lstm_helpers import one_torch_thread, small  # noqa: F401 (autouse fixture)
from .seasonal_data import seasonal_series

# -- helpers -------------------------------------------------------------------------------


def _resign(directory: Path, change: Callable[[dict[str, Any]], None]) -> None:
    """Edit ``meta.json`` and write a matching ``meta_sha256`` (as a careful forger would)."""
    path = directory / META_FILE
    document = json.loads(path.read_text())
    change(document)
    body = {k: v for k, v in document.items() if k != "meta_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    document["meta_sha256"] = hashlib.sha256(canonical.encode()).hexdigest()
    path.write_text(json.dumps(document))


def _replace_tensors(directory: Path, data: bytes) -> None:
    """Overwrite the tensor file and record its true sha256 in the (re-signed) metadata."""
    (directory / TENSORS_FILE).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    _resign(directory, lambda doc: doc.update(tensors_sha256=digest))


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    save_forecaster(_last_value().fit(_demand()), tmp_path / "m", app_ids=["a", "b"])
    return tmp_path / "m"


class _Plugin(Forecaster):
    """A user-written forecaster (not registered) with configurable flaws."""

    name = "test_plugin"

    def __init__(
        self, tensors: dict[str, Any] | None = None, origins_shape_bug: bool = False
    ) -> None:
        super().__init__((0.5, 0.9), INTERVAL_S)
        self.tensors = tensors or {}
        self.origins_shape_bug = origins_shape_bug

    def fit(self, history: NDArray[np.float64], *, start_s: float = 0.0) -> _Plugin:
        self.n_apps = self.check_history(history).shape[0]
        return self

    def predict(
        self, history: NDArray[np.float64], horizon: int, *, start_s: float = 0.0
    ) -> NDArray[np.float64]:
        return np.zeros((self.n_apps, horizon, 4, len(self.quantiles)))

    def predict_origins(
        self,
        demand: NDArray[np.float64],
        origins: NDArray[np.int64],
        horizon: int,
        *,
        start_s: float = 0.0,
    ) -> NDArray[np.float64]:
        out = super().predict_origins(demand, origins, horizon, start_s=start_s)
        return out[:, :, :-1] if self.origins_shape_bug else out

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        return self.base_meta(), self.tensors

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, Any]) -> _Plugin:
        return cls()


# -- saving and loading artifacts ----------------------------------------------------------


def test_save_rejects_non_json_extra_meta(tmp_path: Path) -> None:
    f = _last_value().fit(_demand())
    with pytest.raises(
        ArtifactError, match=r"m: metadata of forecaster 'last_value' is not JSON-able .*extra_meta"
    ):
        save_forecaster(f, tmp_path / "m", {"val_mae": float("nan")})
    assert not (tmp_path / "m").exists()


def test_save_rejects_a_tensor_that_is_not_an_array(tmp_path: Path) -> None:
    f = _Plugin(tensors={"weights": [1.0, 2.0]}).fit(_demand())
    with pytest.raises(
        ArtifactError, match=r"'test_plugin' returned list for tensor 'weights'; every tensor"
    ):
        save_forecaster(f, tmp_path / "m")


def test_save_rejects_a_dtype_safetensors_cannot_store(tmp_path: Path) -> None:
    f = _Plugin(tensors={"names": np.array(["a", "b"])}).fit(_demand())
    with pytest.raises(
        ArtifactError, match=r"cannot serialise the tensors of forecaster 'test_plugin': .*dtype"
    ):
        save_forecaster(f, tmp_path / "m")


def test_load_tensor_file_that_is_not_safetensors(saved: Path) -> None:
    _replace_tensors(saved, b"this is not a safetensors file")
    with pytest.raises(ArtifactError, match=r"tensors\.safetensors: not a valid safetensors file"):
        load_forecaster(saved)


def test_load_unknown_forecaster_name(saved: Path) -> None:
    _resign(saved, lambda doc: doc.update(forecaster="my_forecaster"))
    with pytest.raises(
        ArtifactError,
        match=r"meta\.json: forecaster 'my_forecaster' is not available .*import the module",
    ):
        load_forecaster(saved)


def test_load_state_missing_a_tensor(saved: Path) -> None:
    arrays = safetensors.numpy.load_file(saved / TENSORS_FILE)
    del arrays["table"]
    _replace_tensors(saved, safetensors.numpy.save(arrays))
    with pytest.raises(
        ArtifactError,
        match=r"does not rebuild a 'last_value' forecaster \(ForecastError: last_value: "
        r"incomplete or wrong state: 'table'\)",
    ):
        load_forecaster(saved)


def test_load_state_with_a_wrongly_shaped_table(saved: Path) -> None:
    arrays = safetensors.numpy.load_file(saved / TENSORS_FILE)
    arrays["table"] = np.ascontiguousarray(arrays["table"][:1])
    _replace_tensors(saved, safetensors.numpy.save(arrays))
    with pytest.raises(
        ArtifactError, match=r"last_value: residual table has shape \(1, .*expected \(2, "
    ):
        load_forecaster(saved)


def test_load_metadata_quantiles_disagree_with_the_model(saved: Path) -> None:
    _resign(saved, lambda doc: doc.update(quantiles=[0.5, 0.95]))
    with pytest.raises(
        ArtifactError, match=r"meta\.json: the rebuilt forecaster has quantiles \(0\.5, 0\.9\)"
    ):
        load_forecaster(saved)


def test_load_metadata_that_is_not_an_object(saved: Path) -> None:
    (saved / META_FILE).write_text("[1, 2]")
    with pytest.raises(ArtifactError, match=r"meta\.json: expected a JSON object, got list"):
        load_forecaster(saved)


def test_load_metadata_with_nan(saved: Path) -> None:
    document = json.loads((saved / META_FILE).read_text())
    document["interval_s"] = float("nan")
    (saved / META_FILE).write_text(json.dumps(document))  # Python writes NaN; JSON has none
    with pytest.raises(ArtifactError, match=r"meta\.json: metadata is not canonical JSON"):
        load_forecaster(saved)


def test_load_metadata_missing_a_field(saved: Path) -> None:
    _resign(saved, lambda doc: doc.pop("extra"))
    with pytest.raises(
        ArtifactError,
        match=r"meta\.json: missing or malformed field \(KeyError: 'extra'\); expected the "
        r"fields written by format version 1",
    ):
        load_forecaster(saved)


# -- forecaster construction, histories and saved states -----------------------------------


def test_interval_must_be_positive() -> None:
    with pytest.raises(ForecastError, match=r"interval_s must be > 0 s, got 0\.0"):
        LastValueForecaster((0.5, 0.9), 0.0)


def test_history_without_applications() -> None:
    with pytest.raises(ForecastError, match="last_value: history has no applications"):
        _last_value().fit(np.zeros((0, 50, 4)))


def test_empty_origins() -> None:
    d = _demand()
    f = _last_value().fit(d)
    with pytest.raises(ForecastError, match=r"origins must be a non-empty 1-d array.*\(0,\)"):
        f.predict_origins(d, np.array([], dtype=np.int64), HORIZON)


def test_origins_not_increasing() -> None:
    d = _demand()
    f = _last_value().fit(d)
    with pytest.raises(
        ForecastError, match=r"origins must be strictly increasing ticks in \[1, 400\], got 300"
    ):
        f.predict_origins(d, np.array([300, 200]), HORIZON)


def test_state_of_a_newer_format_version() -> None:
    meta, arrays = _last_value().fit(_demand()).state()
    meta["format_version"] = 2
    with pytest.raises(ForecastError, match=r"format_version 2; this shadowsim reads 1"):
        forecaster_from_state(meta, arrays)


def test_ets_state_missing_components() -> None:
    meta, arrays = ETSForecaster(max_horizon="1h", calibration="12h").state()
    del meta["components"]
    with pytest.raises(ForecastError, match=r"ets: incomplete or wrong state: 'components'"):
        forecaster_from_state(meta, arrays)


def test_ets_state_with_too_few_models() -> None:
    meta, arrays = ETSForecaster(max_horizon="1h", calibration="12h").state()
    meta["n_apps"] = 1
    with pytest.raises(ForecastError, match=r"ets: state holds 0 models .* expected 4"):
        forecaster_from_state(meta, arrays)


def test_prophet_state_missing_models() -> None:
    meta, arrays = ProphetForecaster().state()
    del meta["models"]
    with pytest.raises(ForecastError, match=r"prophet: incomplete or wrong state: 'models'"):
        forecaster_from_state(meta, arrays)


def test_prophet_state_with_too_few_models() -> None:
    meta, arrays = ProphetForecaster().state()
    meta["n_apps"] = 2
    with pytest.raises(ForecastError, match=r"prophet: state holds 0 models, expected 8"):
        forecaster_from_state(meta, arrays)


def test_forecaster_node_without_target() -> None:
    with pytest.raises(ConfigError, match=r"'forecaster\._target_': missing; name a forecaster"):
        forecaster_config_from_node({"horizon": "1h"})


def test_forecaster_node_with_unimportable_target() -> None:
    with pytest.raises(
        ConfigError,
        match=r"'forecaster\._target_': cannot import 'shadowsim\.no_such_module\.Thing'",
    ):
        forecaster_config_from_node({"_target_": "shadowsim.no_such_module.Thing"})


@pytest.mark.parametrize("key", ["patch", "hidden", "layers", "head_hidden"])
def test_lstm_sizes_must_be_positive_ints(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"'forecaster\.{key}': must be an int >= 1, got 0"):
        small(**{key: 0})


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("lr", 0.0, r"must be > 0, got 0\.0"),
        ("batch_size", 0, "must be > 0, got 0"),
        ("ema_decay", 1.0, r"must be in \[0, 1\), got 1\.0"),
        ("plateau_factor", 1.0, r"must be in \(0, 1\), got 1\.0"),
    ],
)
def test_lstm_train_config_ranges(key: str, value: float, expected: str) -> None:
    with pytest.raises(ConfigError, match=rf"'forecaster\.train\.{key}': {expected}"):
        small(train={key: value})


def test_lstm_origin_without_enough_history() -> None:
    d = seasonal_series(2, 300, PERIOD, seed=4)
    f = small(train={"epochs": 1, "samples_per_epoch": 256}).fit(d)
    with pytest.raises(
        ForecastError,
        match=r"lstm: needs 48 ticks of history before a forecast \(context 12, season 48\), "
        r"got 10 of 300",
    ):
        f.predict_origins(d, np.array([10, 100]), HORIZON)


# -- accuracy, history, evaluation and validation ------------------------------------------


def test_accuracy_without_quantiles() -> None:
    with pytest.raises(ForecastError, match="a forecast needs at least one quantile level"):
        RollingAccuracy(2, (), 10)


def test_accuracy_without_applications() -> None:
    with pytest.raises(ForecastError, match="RollingAccuracy needs n_apps >= 1, got 0"):
        RollingAccuracy(0, (0.5, 0.9), 10)


def test_accuracy_actual_of_wrong_shape() -> None:
    acc = RollingAccuracy(2, (0.5, 0.9), 10)
    with pytest.raises(ForecastError, match=r"actual must have shape \(2, 4\), got \(4,\)"):
        acc.update(np.ones((2, 4, 2)), np.ones(4))


def test_accuracy_mask_of_wrong_shape() -> None:
    acc = RollingAccuracy(2, (0.5, 0.9), 10)
    with pytest.raises(ForecastError, match=r"mask must have shape \(2,\), got \(3,\)"):
        acc.update(np.ones((2, 4, 2)), np.ones((2, 4)), np.ones(3, dtype=bool))


def test_demand_history_without_capacity() -> None:
    with pytest.raises(ForecastError, match=r"n_apps >= 1 and capacity >= 1, got 2, 0"):
        DemandHistory(2, 0, INTERVAL_S)


def test_targets_past_the_data() -> None:
    with pytest.raises(ForecastError, match=r"origin 395 \+ horizon 12 runs past the data"):
        targets(_demand(), np.array([100, 395]), HORIZON)


def test_validate_a_forecaster_returning_the_wrong_shape() -> None:
    d = _demand()
    f = _Plugin(origins_shape_bug=True).fit(d[:, :300])
    window = ValidationWindow(d, first_origin=300, horizon=HORIZON, stride=HORIZON)
    with pytest.raises(
        ForecastError,
        match=r"test_plugin: predict_origins returned shape \(2, 8, 11, 4, 2\), "
        r"expected \(2, 8, 12, 4, 2\)",
    ):
        validate(f, window)


# -- triggers and service config -----------------------------------------------------------


def test_retrain_without_resources() -> None:
    with pytest.raises(
        ConfigError, match=r"'shadow\.retrain\.resources': needs at least one resource"
    ):
        RetrainConfig(resources=[])


def test_retrain_accuracy_min_ticks() -> None:
    with pytest.raises(ConfigError, match=r"'shadow\.retrain\.accuracy_min_ticks': must be >= 1"):
        RetrainConfig(accuracy_min_ticks=0)


def test_accuracy_lead_below_one() -> None:
    with pytest.raises(ConfigError, match=r"'shadow\.accuracy_lead': must be an int >= 1, got 0"):
        ShadowConfig(forecaster="last_value", accuracy_lead=0)


def test_accuracy_lead_beyond_the_horizon() -> None:
    cfg = ShadowConfig(forecaster="last_value", horizon="1h", accuracy_lead=13)
    with pytest.raises(
        ConfigError, match=r"'shadow\.accuracy_lead': 13 is beyond the horizon of 12 ticks"
    ):
        cfg.ticks(INTERVAL_S)
