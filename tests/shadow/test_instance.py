"""The shadow service: bootstrap, forecasts, triggers and retrains at simulated moments."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np
import pytest

from shadowsim.errors import ConfigError, ForecastError, UnknownNameError
from shadowsim.shadow.accuracy import RollingAccuracy
from shadowsim.shadow.registry import RegistryConfig, ShadowRegistry
from shadowsim.shadow.retraining import RetrainOutcome
from shadowsim.shadow.service import ModelGrouping, ShadowConfig, ShadowService
from shadowsim.shadow.triggers import RetrainCause, RetrainConfig

INTERVAL_S = 300.0
DAY = 288
APPS = ("app-a", "app-b", "app-c")
T0 = 1_700_000_000.0  # Unix time of tick 0


def _demand(n_ticks: int, drift_at: int | None = None, seed: int = 0) -> np.ndarray:
    """Daily cycle per app, 4 % noise; with ``drift_at``, app-b triples from that tick."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_ticks)
    cycle = 1.0 + 0.5 * np.sin(2 * np.pi * t / DAY)
    level = np.array([[1.0], [2.0], [0.5]])[:, :, None] * np.array([1.0, 1024.0, 80.0, 40.0])
    out = level * cycle[None, :, None] * rng.normal(1.0, 0.04, size=(3, n_ticks, 4))
    if drift_at is not None:
        out[1, drift_at:] *= 3.0
    return np.maximum(out, 0.0)


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> ShadowRegistry:
    return ShadowRegistry(config=RegistryConfig(root=str(tmp_path_factory.mktemp("reg"))))


def _config(prefix: str, **retrain: object) -> ShadowConfig:
    base = {"schedule": None, "accuracy_threshold": 0.5, "cooldown": "1d"}
    return ShadowConfig(
        forecaster="seasonal_naive", forecaster_params={"max_horizon": "1h"},
        horizon="1h", train_window="2d", validation_window="1d", model_prefix=prefix,
        retrain=RetrainConfig(**(base | retrain)),  # type: ignore[arg-type]
    )


def _run(service: ShadowService, demand: np.ndarray, start_tick: int, stop_tick: int) -> list:
    events = []
    for k in range(start_tick, stop_tick):
        events += service.step(T0 + k * INTERVAL_S, demand[:, k])
    return events


def test_bootstrap_serves_forecasts(registry: ShadowRegistry) -> None:
    service = ShadowService(_config("boot"), APPS, INTERVAL_S, registry)
    events = service.bootstrap(_demand(3 * DAY), T0)
    assert [e.outcome for e in events] == [RetrainOutcome.PROMOTED] * 3
    assert {e.cause for e in events} == {RetrainCause.INITIAL}
    fc = service.forecast()
    assert fc.shape == (3, 12, 4, 2)
    assert (fc[..., 0] <= fc[..., 1]).all()
    for inst in service.instances:
        assert inst.version == 1
        assert inst.model_name == f"boot-{inst.app_id}"
        np.testing.assert_array_equal(inst.forecast(), fc[inst.index])
        assert registry.champion_version(inst.model_name) == 1


def test_drift_triggers_a_logged_retrain_of_that_app_only(
    registry: ShadowRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    demand = _demand(5 * DAY, drift_at=4 * DAY)
    quiet = ShadowService(_config("nodrift"), APPS, INTERVAL_S, registry)
    quiet.bootstrap(demand[:, : 3 * DAY], T0)
    assert _run(quiet, _demand(5 * DAY), 3 * DAY, 4 * DAY + 36) == []
    assert (quiet.accuracy().n == DAY).all()

    service = ShadowService(_config("drift"), APPS, INTERVAL_S, registry)
    service.bootstrap(demand[:, : 3 * DAY], T0)
    assert _run(service, demand, 3 * DAY, 4 * DAY) == []
    with caplog.at_level(logging.INFO, logger="shadowsim.shadow.retraining"):
        events = _run(service, demand, 4 * DAY, 4 * DAY + 36)
    assert len(events) == 1
    event = events[0]
    assert event.model_name == "drift-app-b"
    assert event.cause in (RetrainCause.DRIFT, RetrainCause.ACCURACY)
    assert event.now_s - (T0 + 4 * DAY * INTERVAL_S) <= 24 * INTERVAL_S
    assert event.outcome in (RetrainOutcome.PROMOTED, RetrainOutcome.CHALLENGER)
    assert f"cause={event.cause.value}" in caplog.text
    tags = registry.version_tags("drift-app-b", 2)
    assert tags["cause"] == event.cause.value
    assert tags["trained_at_s"] == f"{event.now_s:.0f}"
    assert service.retrain_log[-1] == event


def test_scheduled_retrain_happens_at_the_simulated_moment(registry: ShadowRegistry) -> None:
    demand = _demand(4 * DAY)
    service = ShadowService(
        _config("sched", schedule="2h", accuracy_threshold=None, drift=None), APPS,
        INTERVAL_S, registry,
    )
    service.bootstrap(demand[:, : 3 * DAY], T0)
    events = _run(service, demand, 3 * DAY, 3 * DAY + 30)
    boot_s = T0 + (3 * DAY - 1) * INTERVAL_S
    assert [e.now_s for e in events] == [boot_s + 7200.0] * 3
    assert {e.cause for e in events} == {RetrainCause.SCHEDULED}
    tags = registry.version_tags("sched-app-a", 2)
    assert tags["validation_end_s"] == f"{boot_s + 7200.0 + INTERVAL_S:.0f}"
    assert tags["training_end_s"] == f"{boot_s + 7200.0 + INTERVAL_S - DAY * INTERVAL_S:.0f}"


def test_continuous_mode_updates_online_without_new_versions(registry: ShadowRegistry) -> None:
    demand = _demand(4 * DAY)
    service = ShadowService(
        _config("cont", accuracy_threshold=None, drift=None, continuous=True), APPS,
        INTERVAL_S, registry,
    )
    service.bootstrap(demand[:, : 3 * DAY], T0)
    events = _run(service, demand, 3 * DAY, 3 * DAY + 5)
    assert len(events) == 15
    assert {(e.cause, e.outcome) for e in events} == {
        (RetrainCause.CONTINUOUS, RetrainOutcome.UPDATED)
    }
    assert all(i.online_updates == 5 for i in service.instances)
    assert registry.versions("cont-app-a") == [1]


def test_global_model_serves_every_app(registry: ShadowRegistry) -> None:
    cfg = ShadowConfig(
        forecaster="last_value", forecaster_params={"max_horizon": "1h"}, horizon="1h",
        train_window="1d", validation_window="2h", grouping=ModelGrouping.GLOBAL,
        model_prefix="glob", retrain=RetrainConfig(schedule=None),
    )
    service = ShadowService(cfg, APPS, INTERVAL_S, registry)
    service.bootstrap(_demand(2 * DAY), T0)
    assert service.model_names == ("glob-global",)
    assert {i.model_name for i in service.instances} == {"glob-global"}
    assert registry.version_tags("glob-global", 1)["app_ids"] == ",".join(APPS)
    assert service.forecast().shape == (3, 12, 4, 2)


def test_reuse_and_corrupt_champion_falls_back(
    registry: ShadowRegistry, caplog: pytest.LogCaptureFixture
) -> None:
    demand = _demand(4 * DAY)
    first = ShadowService(_config("reuse"), APPS, INTERVAL_S, registry)
    first.bootstrap(demand[:, : 3 * DAY], T0)
    (event,) = first.retrain(["reuse-app-a"])
    # same data, same model: not strictly better, so it stays challenger
    assert event.outcome is RetrainOutcome.CHALLENGER
    assert event.cause is RetrainCause.MANUAL
    registry.promote("reuse-app-a", 2)
    again = ShadowService(_config("reuse"), APPS, INTERVAL_S, registry)
    assert again.bootstrap(demand[:, : 3 * DAY], T0) == []
    assert [e.outcome for e in again.retrain_log] == [RetrainOutcome.REUSED] * 3
    assert [i.version for i in again.instances] == [2, 1, 1]
    source = registry.client.get_model_version("reuse-app-a", "2").source
    (Path(unquote(urlparse(source).path)) / "tensors.safetensors").write_bytes(b"broken")
    # a restarted process (fresh registry client, empty cache) finds v2 broken
    restarted = ShadowRegistry(registry.tracking_uri)
    third = ShadowService(_config("reuse"), APPS, INTERVAL_S, restarted)
    with caplog.at_level(logging.ERROR, logger="shadowsim.shadow.registry"):
        third.bootstrap(demand[:, : 3 * DAY], T0)
    assert third.instances[0].version == 1
    assert "reuse-app-a v2 cannot be loaded" in caplog.text
    assert registry.champion_version("reuse-app-a") == 1
    # the process that verified v2 before the damage keeps its verified copy
    assert registry.load_version("reuse-app-a", 2)[1].app_ids == ("app-a",)
    # another kind of forecaster is trained, not reused, and competes with the champion
    other = ShadowService(
        ShadowConfig(forecaster="last_value", forecaster_params={"max_horizon": "1h"},
                     train_window="2d", model_prefix="reuse"),
        APPS, INTERVAL_S, registry,
    )
    events = other.bootstrap(demand[:, : 3 * DAY], T0)
    assert [e.cause for e in events] == [RetrainCause.INITIAL] * 3
    assert all(e.champion_score is not None for e in events)
    np.testing.assert_array_equal(third.forecast(), first.forecast())


def test_accuracy_scores_the_forecast_issued_lead_ticks_before(
    registry: ShadowRegistry,
) -> None:
    demand = _demand(4 * DAY)
    cfg = replace(_config("lead", accuracy_threshold=None, drift=None), accuracy_lead=3)
    service = ShadowService(cfg, APPS, INTERVAL_S, registry)
    service.bootstrap(demand[:, : 3 * DAY], T0)
    issued = [service.forecast()[:, 2]]  # made at the last bootstrap tick for tick +3
    for k in range(3 * DAY, 3 * DAY + 6):
        service.step(T0 + k * INTERVAL_S, demand[:, k])
        issued.append(service.forecast()[:, 2])
        if k == 3 * DAY + 3:
            service.retrain(["lead-app-a"])  # re-issues this tick's forecast
            issued[-1] = service.forecast()[:, 2]
    # ticks 3*DAY+2 .. 3*DAY+5 were scored against forecasts made 3 ticks earlier
    want = RollingAccuracy(3, (0.5, 0.9), DAY)
    for j, k in enumerate(range(3 * DAY + 2, 3 * DAY + 6)):
        want.update(issued[j], demand[:, k])
    got = service.accuracy()
    # the manual retrain of app-a reset its window at tick 3*DAY+3
    np.testing.assert_array_equal(got.n, [2, 4, 4])
    np.testing.assert_allclose(got.mae[1:], want.report().mae[1:])


def test_errors(registry: ShadowRegistry) -> None:
    service = ShadowService(_config("err"), APPS, INTERVAL_S, registry)
    with pytest.raises(ForecastError, match="bootstrap"):
        service.step(T0, np.ones((3, 4)))
    with pytest.raises(ForecastError, match="no model could be trained"):
        service.bootstrap(_demand(DAY + 10), T0)
    service.bootstrap(_demand(3 * DAY), T0)
    with pytest.raises(ForecastError, match="feed every tick in order"):
        service.step(T0 + (3 * DAY + 1) * INTERVAL_S, np.ones((3, 4)))
    bad = np.ones((3, 4))
    bad[2, 1] = np.nan
    with pytest.raises(ForecastError, match="application 2, resource 1 is not finite"):
        service.step(T0 + 3 * DAY * INTERVAL_S, bad)
    with pytest.raises(ForecastError, match=r"active must have shape \(3,\)"):
        service.step(T0 + 3 * DAY * INTERVAL_S, np.ones((3, 4)), np.ones(2, dtype=bool))
    with pytest.raises(UnknownNameError, match=r"unknown shadow model 'err-app-x'\. Did you mean"):
        service.retrain(["err-app-x"])
    with pytest.raises(ConfigError, match=r"Did you mean 'seasonal_naive'"):
        ShadowConfig(forecaster="seasonal_naiv")
    with pytest.raises(ConfigError, match=r"shadow\.validation_window"):
        ShadowConfig(validation_window="30min").ticks(INTERVAL_S)
    with pytest.raises(ConfigError, match=r"shadow\.forecaster_params"):
        ShadowService(ShadowConfig(forecaster_params={"bogus": 1}), APPS, INTERVAL_S, registry)
