"""The LSTM shadow model through the artifact format, the registry and the shadow service."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from shadowsim.errors import ArtifactError
from shadowsim.shadow.artifact import TENSORS_FILE, load_forecaster, save_forecaster
from shadowsim.shadow.forecasters.lstm import LSTMForecaster
from shadowsim.shadow.registry import RegistryConfig, ShadowRegistry
from shadowsim.shadow.retraining import RetrainOutcome
from shadowsim.shadow.service import ModelGrouping, ShadowConfig, ShadowService
from shadowsim.shadow.triggers import RetrainConfig

from .lstm_helpers import one_torch_thread  # noqa: F401 (autouse fixture)

SEASON = 48  # 4 h of 5-minute ticks keeps the model small
T0 = 1_375_308_000.0
PARAMS = {
    "horizon": "1h", "context": "1h", "patch": 3, "season": "4h", "hidden": 8,
    "head_hidden": 16, "train": {"epochs": 2, "samples_per_epoch": 800, "progress": False},
}  # fmt: skip


@pytest.fixture(scope="module")
def demand() -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(12 * SEASON)
    cycle = 1.0 + 0.5 * np.sin(2 * np.pi * t / SEASON)
    level = rng.uniform(0.5, 3.0, size=(3, 1, 4)) * np.array([1.0, 1000.0, 50.0, 20.0])
    return level * cycle[None, :, None] * rng.normal(1.0, 0.03, size=(3, len(t), 4))


@pytest.fixture(scope="module")
def fitted(demand: np.ndarray) -> LSTMForecaster:
    torch.set_num_threads(1)
    return LSTMForecaster((0.5, 0.9), 300.0, **PARAMS).fit(demand[:, : 8 * SEASON], start_s=T0)


def test_lstm_round_trip_is_exact(
    fitted: LSTMForecaster, demand: np.ndarray, tmp_path: Path
) -> None:
    save_forecaster(fitted, tmp_path / "m", app_ids=["a", "b", "c"])
    loaded, meta = load_forecaster(tmp_path / "m")
    assert isinstance(loaded, LSTMForecaster)
    assert meta.forecaster == "lstm"
    np.testing.assert_array_equal(
        loaded.predict(demand, 12, start_s=T0), fitted.predict(demand, 12, start_s=T0)
    )
    origins = np.arange(8 * SEASON, 10 * SEASON, 7)
    np.testing.assert_array_equal(
        loaded.predict_origins(demand, origins, 12, start_s=T0),
        fitted.predict_origins(demand, origins, 12, start_s=T0),
    )


def test_lstm_weights_tampered(fitted: LSTMForecaster, tmp_path: Path) -> None:
    save_forecaster(fitted, tmp_path / "m")
    data = bytearray((tmp_path / "m" / TENSORS_FILE).read_bytes())
    data[-8:] = b"\x00" * 8  # zero the last weights
    (tmp_path / "m" / TENSORS_FILE).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="corrupt, truncated or were modified"):
        load_forecaster(tmp_path / "m")


def test_lstm_global_model_in_the_service(
    demand: np.ndarray, tmp_path: Path
) -> None:
    registry = ShadowRegistry(config=RegistryConfig(root=str(tmp_path / "reg")))
    cfg = ShadowConfig(
        forecaster="lstm", forecaster_params=PARAMS, horizon="1h", train_window="32h",
        validation_window="8h", grouping=ModelGrouping.GLOBAL, model_prefix="lstm",
        retrain=RetrainConfig(schedule=None, accuracy_threshold=None, drift=None),
    )
    service = ShadowService(cfg, ["a", "b", "c"], 300.0, registry)
    (event,) = service.bootstrap(demand[:, : 10 * SEASON], T0)
    assert event.outcome is RetrainOutcome.PROMOTED
    served = registry.load_champion("lstm-global").forecaster
    recent = demand[:, 2 * SEASON : 10 * SEASON]
    np.testing.assert_array_equal(
        service.forecast(), served.predict(recent, 12, start_s=T0 + 2 * SEASON * 300.0)
    )
    for k in range(10 * SEASON, 10 * SEASON + 3):
        service.step(T0 + k * 300.0, demand[:, k])
    (manual,) = service.retrain()
    assert manual.champion_score is not None  # scored against the serving LSTM
    assert registry.versions("lstm-global") == [1, 2]
