"""Entry points report a user's config mistake as one line and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from shadowsim.config_store import register_configs

CONF = Path(__file__).resolve().parents[2] / "conf"


def _compose(name: str, *overrides: str) -> DictConfig:
    register_configs()
    with initialize_config_dir(config_dir=str(CONF), version_base=None):
        return compose(config_name=name, overrides=list(overrides))


def test_policy_quality_names_an_unknown_holdout(capsys: pytest.CaptureFixture[str]) -> None:
    from experiments.policy_quality import main

    cfg = _compose("policy_quality", "holdout=tomorrow", "workload.n_apps=3")
    with pytest.raises(SystemExit) as stop:
        main(cfg)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    expected = "config key 'holdout': must be one of ['test', 'validation'], got 'tomorrow'"
    assert f"error: {expected}" in err


def test_bench_forecast_latency_only_needs_the_lstm(capsys: pytest.CaptureFixture[str]) -> None:
    from experiments.bench_forecast import main

    cfg = _compose(
        "bench_forecast", "latency_only=true", "~forecaster@forecasters.lstm", "workload.n_apps=3"
    )
    with pytest.raises(SystemExit) as stop:
        main(cfg)
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "config key 'forecasters.lstm': latency_only needs the LSTM config there" in err


def test_training_envs_fit_a_short_workload(capsys: pytest.CaptureFixture[str]) -> None:
    from experiments.train import env_factory_from

    factory = env_factory_from(_compose("train", "workload.n_apps=2", "workload.n_ticks=576"))
    assert factory.env.test_window_s == 276 * 300.0  # half of two days, not a week
    printed = capsys.readouterr().out.splitlines()
    assert "short workload: test window 2016 -> 276 ticks (the workload has 576 ticks)" in printed
    assert "short workload: env.episode_ticks 288 -> 100" in printed
    env = factory(0)  # the episodes fit before the test window
    env.reset(seed=0)
    env.close()
