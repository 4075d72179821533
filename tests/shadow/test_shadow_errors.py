"""Bad input to the shadow package gets a clear error naming the file, field or config key.

Each test reaches one error the way a user would: a bad constructor argument or config
value, a bad history, a damaged artifact in ``tmp_path``, a damaged or foreign MLflow store.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import numpy as np
import pytest
import safetensors.numpy
from numpy.typing import NDArray

from shadowsim.errors import ArtifactError, ConfigError, ForecastError, RegistryError
from shadowsim.shadow.accuracy import RollingAccuracy
from shadowsim.shadow.artifact import (
    META_FILE,
    TENSORS_FILE,
    TrainingWindow,
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
from shadowsim.shadow.registry import RegistryConfig, ShadowRegistry
from shadowsim.shadow.service import ShadowConfig, ShadowService
from shadowsim.shadow.triggers import RetrainConfig
from shadowsim.shadow.validation import ValidationWindow, validate

from .lstm_helpers import one_torch_thread, small  # noqa: F401 (autouse fixture)
from .seasonal_data import seasonal_series

INTERVAL_S = 300.0
PERIOD = 48
HORIZON = 12


# -- helpers -------------------------------------------------------------------------------


def _demand(n_apps: int = 2, n_ticks: int = 400) -> NDArray[np.float64]:
    return seasonal_series(n_apps, n_ticks, PERIOD, seed=3)


def _last_value() -> LastValueForecaster:
    return LastValueForecaster((0.5, 0.9), INTERVAL_S, max_horizon="1h")


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


# -- the registry --------------------------------------------------------------------------


@pytest.fixture
def registry(tmp_path: Path) -> ShadowRegistry:
    return ShadowRegistry(config=RegistryConfig(root=str(tmp_path / "reg"), experiment="errs"))


def _register(registry: ShadowRegistry, name: str = "m", **kw: Any) -> None:
    d = _demand()
    registry.register(
        _last_value().fit(d[:, :300]), name=name, app_ids=["a", "b"],
        validation=ValidationWindow(d, first_origin=300, horizon=HORIZON, stride=HORIZON),
        training_window=TrainingWindow(0.0, 300 * INTERVAL_S, 300),
        trained_at_s=300 * INTERVAL_S, **kw,
    )  # fmt: skip


def _drop_table(registry: ShadowRegistry, table: str) -> None:
    db = unquote(urlparse(registry.tracking_uri).path)
    with sqlite3.connect(db) as con:
        con.execute(f"DROP TABLE {table}")


def _delete_artifacts(registry: ShadowRegistry, name: str, version: int) -> None:
    run_id = registry.client.get_model_version(name, str(version)).run_id
    uri = registry.client.get_run(run_id).info.artifact_uri
    shutil.rmtree(unquote(urlparse(uri).path))


def test_registry_cache_size_negative() -> None:
    with pytest.raises(ConfigError, match=r"'registry\.cache_size': must be >= 0, got -1"):
        RegistryConfig(cache_size=-1)


def test_registry_experiment_empty() -> None:
    with pytest.raises(ConfigError, match=r"'registry\.experiment': must be a non-empty"):
        RegistryConfig(experiment="")


def test_registry_root_under_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    root = tmp_path / "file" / "reg"
    with pytest.raises(
        ConfigError, match=r"'registry\.root': cannot create the registry folder .*file/reg"
    ):
        ShadowRegistry(config=RegistryConfig(root=str(root)))


def test_registry_store_without_experiments_table(
    registry: ShadowRegistry, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _drop_table(registry, "experiments")
    caplog.set_level(logging.CRITICAL)  # MLflow logs the SQL error itself
    with pytest.raises(
        RegistryError, match=r"cannot open experiment 'errs' at sqlite:///.*no such table"
    ):
        ShadowRegistry(config=RegistryConfig(root=str(tmp_path / "reg"), experiment="errs"))


def test_register_with_a_bad_metric_name(registry: ShadowRegistry) -> None:
    with pytest.raises(
        RegistryError, match=r"cannot log the training run of 'm': Invalid value \"bad\?\""
    ):
        _register(registry, metrics={"bad?": 1.0})


def test_register_with_a_bad_tag_name(registry: ShadowRegistry) -> None:
    with pytest.raises(
        RegistryError, match=r"cannot create a version of 'm': Invalid value \"bad key\?\""
    ):
        _register(registry, tags={"bad key?": "x"})


def test_versions_of_a_damaged_store(registry: ShadowRegistry) -> None:
    _register(registry)
    _drop_table(registry, "model_versions")
    with pytest.raises(RegistryError, match=r"cannot list versions of 'm': .*model_versions"):
        registry.versions("m")


def test_load_unknown_version(registry: ShadowRegistry) -> None:
    with pytest.raises(RegistryError, match=r"'nope' has no version 3: .*not found"):
        registry.load_version("nope", 3)


def test_tags_of_unknown_version(registry: ShadowRegistry) -> None:
    _register(registry)
    with pytest.raises(RegistryError, match=r"'m' has no version 5: .*not found"):
        registry.version_tags("m", 5)


def test_load_version_made_outside_shadowsim(registry: ShadowRegistry, tmp_path: Path) -> None:
    registry.client.create_registered_model("external")
    registry.client.create_model_version("external", source=str(tmp_path))
    with pytest.raises(
        ArtifactError, match=r"'external' v1 has no run; it was not made by shadowsim"
    ):
        registry.load_version("external", 1)


def test_load_version_whose_artifacts_are_gone(registry: ShadowRegistry) -> None:
    _register(registry)
    _delete_artifacts(registry, "m", 1)
    with pytest.raises(ArtifactError, match=r"'m' v1: cannot download .*shadow_model"):
        registry.load_version("m", 1)


def test_only_champion_corrupt(registry: ShadowRegistry) -> None:
    _register(registry)
    _delete_artifacts(registry, "m", 1)
    with pytest.raises(
        RegistryError,
        match=r"'m': champion v1 is corrupt and no earlier good version exists \(failed: \[1\]\)",
    ):
        registry.load_champion("m")
    assert registry.version_tags("m", 1)["status"] == "corrupt"


def test_read_model_of_a_damaged_store(registry: ShadowRegistry) -> None:
    _register(registry)
    _drop_table(registry, "registered_models")
    with pytest.raises(
        RegistryError, match=r"cannot read registered model 'm': .*registered_models"
    ):
        registry.champion_version("m")


# -- the shadow service --------------------------------------------------------------------


def _config(**kw: Any) -> ShadowConfig:
    args = {"forecaster": "last_value", "forecaster_params": {"max_horizon": "1h"},
            "horizon": "1h", "train_window": "1d", "validation_window": "2h"} | kw  # fmt: skip
    return ShadowConfig(**args)


def test_service_duplicate_app_ids(registry: ShadowRegistry) -> None:
    with pytest.raises(
        ConfigError, match=r"'shadow\.app_ids': need distinct application ids, got \['a', 'a'\]"
    ):
        ShadowService(_config(), ["a", "a"], INTERVAL_S, registry=registry)


def test_service_app_ids_sharing_a_model_name(registry: ShadowRegistry) -> None:
    digest = hashlib.sha256(b"web 1").hexdigest()[:8]
    with pytest.raises(
        ConfigError,
        match=rf"'shadow\.grouping': applications \['web 1', 'web_1-{digest}'\] map to one "
        rf"registered model name 'shadow-web_1-{digest}' .*rename one of them or use one global",
    ):
        ShadowService(_config(), ["web 1", f"web_1-{digest}"], INTERVAL_S, registry=registry)


def test_service_outputs_before_bootstrap(registry: ShadowRegistry) -> None:
    service = ShadowService(_config(), ["a", "b"], INTERVAL_S, registry=registry)
    with pytest.raises(ForecastError, match=r"no forecast yet; call bootstrap\(history, start_s\)"):
        service.forecast()
    with pytest.raises(ForecastError, match=r"call bootstrap\(history, start_s\) before retrain"):
        service.retrain()


def test_service_bootstrap_on_too_little_history(registry: ShadowRegistry) -> None:
    service = ShadowService(_config(), ["a"], INTERVAL_S, registry=registry)
    with pytest.raises(
        ForecastError,
        match=r"shadow-a: no model could be trained or loaded at bootstrap \(25 ticks of "
        r"history cannot hold 24 validation ticks plus a training part\)",
    ):
        service.bootstrap(_demand(1, 25), 0.0)


def test_a_store_file_that_is_no_database_names_the_store(tmp_path: Path) -> None:
    (tmp_path / "mlflow.db").write_text("not a database\n")
    with pytest.raises(
        RegistryError,
        match=r"cannot read the tracking store sqlite:///.*mlflow\.db: DatabaseError: file is not "
        r"a database; is it an MLflow database\?",
    ):
        ShadowRegistry(config=RegistryConfig(root=str(tmp_path)))
