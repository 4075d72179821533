"""Retraining triggers fire on a synthetic drift and not without one."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.errors import ConfigError
from shadowsim.resources import Resource
from shadowsim.shadow.accuracy import RollingAccuracy
from shadowsim.shadow.triggers import (
    AccuracyTrigger,
    ContinuousTrigger,
    PageHinkleyConfig,
    PageHinkleyTrigger,
    RetrainCause,
    RetrainConfig,
    ScheduledTrigger,
    TickSignal,
    Trigger,
)

N_APPS = 40
N_TICKS = 1500
DRIFT_AT = 1000
INTERVAL_S = 300.0
WATCH = (Resource.CPU, Resource.MEMORY)


def _run(trigger: Trigger, drift: bool, seed: int = 0, sigma: float = 0.2) -> np.ndarray:
    """Feed a stale model's forecasts; returns (N_TICKS, N_APPS) fire flags.

    Demand is a per-app level times log-normal noise (``sigma``). The model forecasts the
    old level throughout; with ``drift`` the level of the first half of the apps doubles
    at ``DRIFT_AT``.
    """
    rng = np.random.default_rng(seed)
    level = rng.uniform(0.5, 4.0, size=(N_APPS, 1)) * np.array([1.0, 1000.0, 40.0, 10.0])
    acc = RollingAccuracy(N_APPS, (0.5, 0.9), 36)
    fired = np.zeros((N_TICKS, N_APPS), dtype=bool)
    active = np.ones(N_APPS, dtype=bool)
    fc = np.stack([level, level * 1.3], axis=-1)
    for t in range(N_TICKS):
        true = level.copy()
        if drift and t >= DRIFT_AT:
            true[: N_APPS // 2] *= 2.0
        actual = true * rng.lognormal(0.0, sigma, size=true.shape)
        acc.update(fc, actual)
        signal = TickSignal(t * INTERVAL_S, actual, level, acc.report(), active)
        fired[t] = trigger.check(signal)
    return fired


@pytest.mark.parametrize(
    "make",
    [
        lambda: PageHinkleyTrigger(N_APPS, 0.5, 30.0, 36, WATCH),
        lambda: AccuracyTrigger(0.3, 12, WATCH),
    ],
    ids=["page_hinkley", "accuracy"],
)
def test_event_triggers_fire_on_drift_only(make) -> None:
    quiet = _run(make(), drift=False)
    assert not quiet.any(), f"false alarms at ticks {np.argwhere(quiet)[:5].tolist()}"
    drifted = _run(make(), drift=True)
    assert not drifted[:DRIFT_AT].any()
    first = np.argmax(drifted, axis=0)
    hit = drifted.any(axis=0)
    assert hit[: N_APPS // 2].all()
    assert not hit[N_APPS // 2 :].any()
    assert (first[: N_APPS // 2] - DRIFT_AT).max() <= 24  # within 2 h of 5-min ticks


def test_page_hinkley_is_robust_to_heavy_tailed_noise() -> None:
    quiet = _run(PageHinkleyTrigger(N_APPS, 0.5, 30.0, 36, WATCH), drift=False, sigma=0.5)
    assert not quiet.any()
    drifted = _run(PageHinkleyTrigger(N_APPS, 0.5, 30.0, 36, WATCH), drift=True, sigma=0.5)
    assert drifted[:, : N_APPS // 2].any(axis=0).all()
    assert (np.argmax(drifted[:, : N_APPS // 2], axis=0) - DRIFT_AT).max() <= 144


def test_page_hinkley_reset_restarts_the_test() -> None:
    trig = PageHinkleyTrigger(N_APPS, 0.5, 30.0, 36, WATCH)
    fired = _run(trig, drift=True)
    assert fired[-1, 0]
    everyone = np.ones(N_APPS, dtype=bool)
    trig.reset(everyone, N_TICKS * INTERVAL_S)
    acc = RollingAccuracy(N_APPS, (0.5, 0.9), 4)
    x = np.ones((N_APPS, 4))
    acc.update(np.stack([x, x], axis=-1), x)
    signal = TickSignal(0.0, x, x * 0.5, acc.report(), everyone)
    assert not trig.check(signal).any()  # in warm-up again


def test_scheduled_fires_every_period_per_app() -> None:
    trig = ScheduledTrigger(2, 3600.0, start_s=0.0)
    acc = RollingAccuracy(2, (0.5,), 2)
    times = []
    for t in range(1, 40):
        now = t * INTERVAL_S
        sig = TickSignal(now, np.ones((2, 4)), None, acc.report(), np.array([True, True]))
        due = trig.check(sig)
        if due[0]:
            times.append(now)
            trig.reset(due, now)
        elif due[1]:
            pytest.fail("app 1 fired without app 0 although both share the schedule")
    assert times == [3600.0, 7200.0, 10800.0]
    assert ScheduledTrigger.cause is RetrainCause.SCHEDULED


def test_continuous_fires_for_active_apps() -> None:
    acc = RollingAccuracy(3, (0.5,), 2)
    active = np.array([True, False, True])
    sig = TickSignal(0.0, np.ones((3, 4)), None, acc.report(), active)
    assert ContinuousTrigger().check(sig).tolist() == [True, False, True]


def test_retrain_config_builds_triggers() -> None:
    cfg = RetrainConfig(schedule="1h", accuracy_threshold=0.4, continuous=True)
    kinds = [t.cause for t in cfg.build(3, 0.0)]
    assert kinds == [
        RetrainCause.SCHEDULED, RetrainCause.ACCURACY, RetrainCause.DRIFT, RetrainCause.CONTINUOUS,
    ]
    none = RetrainConfig(schedule=None, accuracy_threshold=None, drift=None)
    assert none.build(3, 0.0) == []
    assert cfg.cooldown_s == 3600.0


def test_retrain_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"shadow\.retrain\.schedule"):
        RetrainConfig(schedule="every day")
    with pytest.raises(ConfigError, match=r"Did you mean 'MEMORY'"):
        RetrainConfig(resources=["CPU", "MEMROY"])
    with pytest.raises(ConfigError, match=r"shadow\.retrain\.accuracy_threshold"):
        RetrainConfig(accuracy_threshold=0.0)
    with pytest.raises(ConfigError, match=r"shadow\.retrain\.drift"):
        RetrainConfig(drift=PageHinkleyConfig(threshold=0.0))
