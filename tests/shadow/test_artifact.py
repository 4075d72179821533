"""The saved shadow-model format: round trip and every kind of damage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shadowsim.errors import ArtifactError
from shadowsim.shadow.artifact import (
    META_FILE,
    TENSORS_FILE,
    TrainingWindow,
    load_forecaster,
    save_forecaster,
)
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.forecasters import LastValueForecaster, SeasonalNaiveForecaster

INTERVAL_S = 300.0
DAY = 288


def _demand(n_apps: int = 3, n_ticks: int = 3 * DAY, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n_ticks)
    base = 1.0 + 0.5 * np.sin(2 * np.pi * t / DAY)
    scale = np.array([2.0, 2048.0, 300.0, 150.0])
    noise = rng.gamma(20.0, 1 / 20.0, size=(n_apps, n_ticks, 4))
    return base[None, :, None] * scale[None, None, :] * noise


@pytest.fixture(params=["last_value", "seasonal_naive"])
def fitted(request: pytest.FixtureRequest) -> Forecaster:
    forecaster: Forecaster
    if request.param == "last_value":
        forecaster = LastValueForecaster((0.5, 0.9), INTERVAL_S, max_horizon="2h")
    else:
        forecaster = SeasonalNaiveForecaster((0.1, 0.5, 0.9), INTERVAL_S, "2h", season="1d")
    return forecaster.fit(_demand())


def test_round_trip_gives_identical_predictions(fitted: Forecaster, tmp_path: Path) -> None:
    window = TrainingWindow(start_s=0.0, end_s=3 * DAY * INTERVAL_S, n_ticks=3 * DAY)
    written = save_forecaster(
        fitted, tmp_path / "m", {"horizon_steps": 12}, app_ids=["a", "b", "c"],
        training_window=window,
    )
    loaded, meta = load_forecaster(tmp_path / "m")
    assert type(loaded) is type(fitted)
    assert meta == written
    assert meta.app_ids == ("a", "b", "c")
    assert meta.training_window == window
    assert meta.extra == {"horizon_steps": 12}
    assert meta.quantiles == fitted.quantiles
    recent = _demand(seed=1)[:, -DAY:]
    np.testing.assert_array_equal(loaded.predict(recent, 12), fitted.predict(recent, 12))


def test_never_unpickles(fitted: Forecaster, tmp_path: Path) -> None:
    save_forecaster(fitted, tmp_path / "m")
    names = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert names == [META_FILE, TENSORS_FILE]
    meta = json.loads((tmp_path / "m" / META_FILE).read_text())
    assert meta["format_version"] == 1
    assert len(meta["tensors_sha256"]) == 64
    assert b"pickle" not in (tmp_path / "m" / TENSORS_FILE).read_bytes()[:200]


def test_refuses_to_overwrite(fitted: Forecaster, tmp_path: Path) -> None:
    save_forecaster(fitted, tmp_path / "m")
    with pytest.raises(ArtifactError, match="already contains"):
        save_forecaster(fitted, tmp_path / "m")


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    forecaster = LastValueForecaster((0.5, 0.9), INTERVAL_S, max_horizon="1h").fit(_demand())
    save_forecaster(forecaster, tmp_path / "m", app_ids=["a", "b", "c"])
    return tmp_path / "m"


def test_truncated_tensors(saved: Path) -> None:
    data = (saved / TENSORS_FILE).read_bytes()
    (saved / TENSORS_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtifactError, match=r"tensors\.safetensors: sha256 .* does not match"):
        load_forecaster(saved)


def test_flipped_byte_in_tensors(saved: Path) -> None:
    data = bytearray((saved / TENSORS_FILE).read_bytes())
    data[-1] ^= 0xFF
    (saved / TENSORS_FILE).write_bytes(bytes(data))
    with pytest.raises(ArtifactError, match="corrupt, truncated or were modified"):
        load_forecaster(saved)


def test_missing_tensor_file(saved: Path) -> None:
    (saved / TENSORS_FILE).unlink()
    with pytest.raises(ArtifactError, match="cannot read the tensor file"):
        load_forecaster(saved)


def test_tampered_metadata(saved: Path) -> None:
    meta = json.loads((saved / META_FILE).read_text())
    meta["hyper_params"]["max_horizon"] = "2h"
    (saved / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="metadata checksum mismatch"):
        load_forecaster(saved)


def test_tensor_checksum_rewritten_in_metadata_is_caught(saved: Path) -> None:
    meta = json.loads((saved / META_FILE).read_text())
    meta["tensors_sha256"] = "0" * 64
    (saved / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="metadata checksum mismatch"):
        load_forecaster(saved)


def test_unknown_format_version(saved: Path) -> None:
    meta = json.loads((saved / META_FILE).read_text())
    meta["format_version"] = 99
    (saved / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="unknown format_version 99"):
        load_forecaster(saved)


def test_not_an_artifact(saved: Path) -> None:
    (saved / META_FILE).write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ArtifactError, match="not a shadowsim forecaster artifact"):
        load_forecaster(saved)


def test_corrupt_json_names_line_and_column(saved: Path) -> None:
    text = (saved / META_FILE).read_text()
    (saved / META_FILE).write_text(text[: len(text) // 2])
    with pytest.raises(ArtifactError, match=r"meta\.json, line \d+, column \d+: invalid JSON"):
        load_forecaster(saved)


def test_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="cannot read the artifact metadata"):
        load_forecaster(tmp_path / "nowhere")
