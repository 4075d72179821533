"""The LSTM forecaster's Hydra options compose into the configs they document."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hydra import compose, initialize_config_dir

from shadowsim.config_store import register_configs
from shadowsim.shadow.forecasters.configs import forecaster_config_from_node
from shadowsim.shadow.forecasters.lstm import LSTMConfig

_CONF = Path(__file__).resolve().parents[2] / "conf"


def _lstm_config(option: str) -> LSTMConfig:
    register_configs()
    with initialize_config_dir(config_dir=str(_CONF), version_base=None):
        cfg = compose("bench_forecast", overrides=[f"forecaster@forecasters.lstm={option}"])
    built = forecaster_config_from_node(cfg.forecasters.lstm, key="forecasters.lstm")
    assert isinstance(built, LSTMConfig)
    return built


def test_regularised_option_overrides_only_dropout_and_weight_decay() -> None:
    plain, reg = _lstm_config("lstm"), _lstm_config("lstm_regularised")
    assert (reg.dropout, reg.train.weight_decay) == (0.2, 0.01)
    assert (plain.dropout, plain.train.weight_decay) == (0.0, 1e-4)
    assert reg == replace(plain, dropout=0.2, train=replace(plain.train, weight_decay=0.01))
    assert reg.build(300.0).model.head[2].p == 0.2
