"""Error paths of the shadow model registry and the shadow service: each message checked."""

from __future__ import annotations

import hashlib
import logging
import shutil
import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from shadowsim.errors import ArtifactError, ConfigError, ForecastError, RegistryError
from shadowsim.shadow.artifact import (
    TrainingWindow,
)
from shadowsim.shadow.registry import RegistryConfig, ShadowRegistry
from shadowsim.shadow.service import ShadowConfig, ShadowService
from shadowsim.shadow.validation import ValidationWindow

from .error_fixtures import HORIZON, INTERVAL_S, _demand, _last_value
from .lstm_helpers import one_torch_thread  # noqa: F401 (autouse fixture)

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
