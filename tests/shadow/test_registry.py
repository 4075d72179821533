"""The MLflow shadow registry: round trip, promotion, challenger, rollback, corrupt champion."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from shadowsim.errors import ConfigError, RegistryError
from shadowsim.shadow.artifact import TrainingWindow
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.forecasters import LastValueForecaster, SeasonalNaiveForecaster
from shadowsim.shadow.model_naming import MAX_TAG_CHARS, model_name, tag_list
from shadowsim.shadow.registry import RegistryConfig, ShadowRegistry
from shadowsim.shadow.tracking_store import open_store
from shadowsim.shadow.validation import ValidationWindow, validate

INTERVAL_S = 300.0
DAY = 288
HORIZON = 12
APPS = ("web-1", "db-2")


def _seasonal(n_ticks: int, seed: int) -> np.ndarray:
    """Two apps with a strong daily cycle and 3 % noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_ticks)
    base = 1.0 + 0.6 * np.sin(2 * np.pi * t / DAY)
    scale = np.array([2.0, 4096.0, 500.0, 200.0])
    noise = rng.normal(1.0, 0.03, size=(len(APPS), n_ticks, 4))
    return base[None, :, None] * scale[None, None, :] * noise


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ShadowRegistry:
    root = tmp_path_factory.mktemp("registry")
    return ShadowRegistry(config=RegistryConfig(root=str(root), experiment="test-shadows"))


@pytest.fixture(scope="module")
def demand() -> np.ndarray:
    return _seasonal(5 * DAY, seed=0)


def _window(demand: np.ndarray) -> ValidationWindow:
    return ValidationWindow(demand, first_origin=4 * DAY, horizon=HORIZON, stride=6)


def _fit(kind: str, demand: np.ndarray) -> Forecaster:
    train = demand[:, : 4 * DAY]
    if kind == "last_value":
        return LastValueForecaster((0.5, 0.9), INTERVAL_S, max_horizon="1h").fit(train)
    return SeasonalNaiveForecaster((0.5, 0.9), INTERVAL_S, "1h", season="1d").fit(train)


def _register(registry: ShadowRegistry, name: str, kind: str, demand: np.ndarray):
    return registry.register(
        _fit(kind, demand), name=name, app_ids=APPS, validation=_window(demand),
        training_window=TrainingWindow(0.0, 4 * DAY * INTERVAL_S, 4 * DAY),
        trained_at_s=4 * DAY * INTERVAL_S, tags={"cause": "manual"}, metrics={"train_s": 0.01},
    )


def test_the_test_models_differ(demand: np.ndarray) -> None:
    good = validate(_fit("seasonal_naive", demand), _window(demand)).score
    bad = validate(_fit("last_value", demand), _window(demand)).score
    assert good < 0.6 * bad


def test_round_trip_and_tags(registry: ShadowRegistry, demand: np.ndarray) -> None:
    reg = _register(registry, "rt", "seasonal_naive", demand)
    assert reg.promoted
    assert reg.champion_version is None
    assert reg.version == 1
    served = registry.load_champion("rt")
    assert served.version == 1
    assert served.failed_versions == ()
    recent = demand[:, -DAY:]
    original = _fit("seasonal_naive", demand)
    np.testing.assert_array_equal(
        served.forecaster.predict(recent, HORIZON), original.predict(recent, HORIZON)
    )
    tags = registry.version_tags("rt", 1)
    assert tags["app_ids"] == "web-1,db-2"
    assert tags["training_start_s"] == "0"
    assert tags["training_end_s"] == f"{4 * DAY * 300}"
    assert tags["horizon_s"] == "3600"
    assert tags["horizon_steps"] == str(HORIZON)
    assert tags["trained_at"].startswith("1970-01-05")
    assert float(tags["val_mae_cpu"]) == pytest.approx(reg.score.mae[0], rel=1e-5)
    assert float(tags["val_rmse_memory"]) == pytest.approx(reg.score.rmse[1], rel=1e-5)
    assert tags["status"] == "champion"
    assert tags["cause"] == "manual"
    run = registry.client.get_run(reg.run_id)
    assert run.data.params["forecaster"] == "seasonal_naive"
    assert run.data.metrics["val_score"] == pytest.approx(reg.score.score)
    assert run.data.metrics["train_s"] == pytest.approx(0.01)
    files = {f.path for f in registry.client.list_artifacts(reg.run_id, "shadow_model")}
    assert files == {"shadow_model/meta.json", "shadow_model/tensors.safetensors"}


def test_promotion_only_when_better(registry: ShadowRegistry, demand: np.ndarray) -> None:
    first = _register(registry, "promo", "last_value", demand)
    assert first.promoted
    better = _register(registry, "promo", "seasonal_naive", demand)
    assert better.promoted
    assert better.champion_version == first.version
    assert better.champion_score is not None
    assert better.champion_score.score == pytest.approx(first.score.score)
    assert registry.champion_version("promo") == better.version
    worse = _register(registry, "promo", "last_value", demand)
    assert not worse.promoted
    assert registry.champion_version("promo") == better.version
    assert registry.challenger_version("promo") == worse.version
    assert registry.version_tags("promo", worse.version)["status"] == "challenger"
    assert registry.version_tags("promo", first.version)["status"] == "retired"
    assert registry.versions("promo") == [1, 2, 3]


def test_champion_is_rescored_on_the_same_window(
    registry: ShadowRegistry, demand: np.ndarray
) -> None:
    _register(registry, "same", "seasonal_naive", demand)
    shifted = demand * 1.5  # a new validation window the champion never saw
    reg = registry.register(
        _fit("seasonal_naive", shifted), name="same", app_ids=APPS,
        validation=_window(shifted),
        training_window=TrainingWindow(0.0, 4 * DAY * INTERVAL_S, 4 * DAY), trained_at_s=0.0,
    )
    champion = registry.load_version("same", 1)[0]
    assert reg.champion_score is not None
    assert reg.champion_score.score == pytest.approx(validate(champion, _window(shifted)).score)


def test_rollback(registry: ShadowRegistry, demand: np.ndarray) -> None:
    _register(registry, "rb", "last_value", demand)
    _register(registry, "rb", "seasonal_naive", demand)
    assert registry.champion_version("rb") == 2
    assert registry.rollback("rb") == 1
    assert registry.champion_version("rb") == 1
    assert registry.version_tags("rb", 2)["status"] == "rolled_back"
    assert registry.load_champion("rb").version == 1
    with pytest.raises(RegistryError, match="no earlier good version"):
        registry.rollback("rb")
    with pytest.raises(RegistryError, match="no champion to roll back"):
        registry.rollback("never-registered")


def test_corrupt_champion_keeps_previous_serving(
    registry: ShadowRegistry, demand: np.ndarray, caplog: pytest.LogCaptureFixture
) -> None:
    _register(registry, "corrupt", "last_value", demand)
    _register(registry, "corrupt", "seasonal_naive", demand)
    source = registry.client.get_model_version("corrupt", "2").source
    tensors = Path(unquote(urlparse(source).path)) / "tensors.safetensors"
    data = bytearray(tensors.read_bytes())
    data[len(data) // 2] ^= 0xFF
    tensors.write_bytes(bytes(data))
    with caplog.at_level(logging.ERROR, logger="shadowsim.shadow.registry"):
        served = registry.load_champion("corrupt")
    assert served.version == 1
    assert served.failed_versions == (2,)
    assert "corrupt v2 cannot be loaded" in caplog.text
    assert "sha256" in caplog.text
    assert registry.champion_version("corrupt") == 1
    assert registry.version_tags("corrupt", 2)["status"] == "corrupt"
    # the next candidate is compared with the version that really serves
    reg = _register(registry, "corrupt", "seasonal_naive", demand)
    assert reg.champion_version == 1
    assert reg.promoted


def test_store_persists_across_instances(
    registry: ShadowRegistry, demand: np.ndarray, tmp_path: Path
) -> None:
    _register(registry, "persist", "seasonal_naive", demand)
    again = ShadowRegistry(registry.tracking_uri, RegistryConfig(experiment="test-shadows"))
    assert again.champion_version("persist") == 1
    assert again.load_champion("persist").meta.app_ids == APPS


def test_default_store_is_sqlite_in_root(tmp_path: Path) -> None:
    reg = ShadowRegistry(config=RegistryConfig(root=str(tmp_path / "store")))
    assert reg.tracking_uri == f"sqlite:///{tmp_path / 'store' / 'mlflow.db'}"
    assert (tmp_path / "store" / "mlflow.db").is_file()
    assert reg.champion_version("nothing") is None
    with pytest.raises(RegistryError, match="has no champion"):
        reg.load_champion("nothing")


def test_config_validation() -> None:
    with pytest.raises(ConfigError, match=r"registry\.min_improvement"):
        RegistryConfig(min_improvement=1.5)


def test_model_names() -> None:
    assert model_name("shadow", "web-1") == "shadow-web-1"
    odd = model_name("shadow", "vm/42 a")
    assert odd.startswith("shadow-vm_42_a-")
    assert len(odd) == len("shadow-vm_42_a-") + 8
    assert model_name("shadow", "vm/42 a") != model_name("shadow", "vm_42_a")
    with pytest.raises(ConfigError, match="model_prefix"):
        model_name("bad prefix", "x")


def test_unsafe_model_name_is_refused(registry: ShadowRegistry, demand: np.ndarray) -> None:
    with pytest.raises(RegistryError, match="build it with"):
        _register(registry, "it's", "last_value", demand)


def test_long_app_lists_are_summarised_in_tags() -> None:
    ids = [f"application-{i:05d}" for i in range(1000)]
    text = tag_list(ids)
    assert len(text) <= MAX_TAG_CHARS
    assert text.startswith("application-00000,application-00001,")
    assert "more; full list in shadow_model/meta.json" in text
    assert tag_list(ids[:3]) == "application-00000,application-00001,application-00002"


def test_each_load_is_a_fresh_forecaster(registry: ShadowRegistry, demand: np.ndarray) -> None:
    _register(registry, "fresh", "seasonal_naive", demand)
    first, _ = registry.load_version("fresh", 1)
    recent = demand[:, -DAY:]
    before = first.predict(recent, HORIZON)
    first.update(demand[:, : 2 * DAY] * 5.0)  # online update of one served copy
    assert not np.array_equal(first.predict(recent, HORIZON), before)
    second, _ = registry.load_version("fresh", 1)  # from the verified cache
    np.testing.assert_array_equal(second.predict(recent, HORIZON), before)


def test_store_resolution(tmp_path: Path) -> None:
    server = open_store("http://mlflow.example:5000", tmp_path / "unused")
    assert server.tracking_uri == "http://mlflow.example:5000"
    assert server.artifact_location is None  # the server decides
    assert not (tmp_path / "unused").exists()
    local = open_store(f"sqlite:///{tmp_path}/own.db", tmp_path / "root")
    assert local.artifact_location == (tmp_path / "root" / "artifacts").resolve().as_uri()
