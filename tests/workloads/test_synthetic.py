"""Tests of the seeded synthetic workload generator and its pattern building blocks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray

from shadowsim.errors import ConfigError
from shadowsim.resources import Resource
from shadowsim.workloads import synthetic_patterns as pat
from shadowsim.workloads.metadata import AssignmentRule, MetadataConfig
from shadowsim.workloads.synthetic import MONDAY_2024_S, SyntheticConfig, SyntheticGenerator
from shadowsim.workloads.synthetic_archetypes import ARCHETYPES, Archetype
from shadowsim.workloads.workload import Priority, Workload

WEEK = 2016  # five-minute ticks per week
QUIET: dict[str, Any] = {
    "seasonality_scale": 0.0,
    "trend_scale": 0.0,
    "noise_scale": 0.0,
    "burst_rate_scale": 0.0,
    "regime_shift_rate_scale": 0.0,
    "flash_crowds_per_week": 0.0,
}
"""Every pattern switched off: demand is the constant peak-hour level."""


def _load(**kwargs: Any) -> Workload:
    return SyntheticGenerator(SyntheticConfig(**kwargs)).load()


def _acf(x: NDArray[np.float64], lag: int) -> NDArray[np.float64]:
    x = x - x.mean(axis=1, keepdims=True)
    return np.asarray((x[:, lag:] * x[:, :-lag]).sum(axis=1) / (x * x).sum(axis=1))


def test_default_workload_shapes_units_and_metadata() -> None:
    w = SyntheticGenerator().load()
    assert w.demand.shape == (50, 8064, 4)
    assert w.demand.dtype == np.float64
    assert w.interval_s == 300.0
    assert w.start_time_s == MONDAY_2024_S
    assert len(set(w.app_ids)) == 50
    assert np.isfinite(w.demand).all()
    assert (w.demand >= 0).all()
    assert w.provisioned is not None
    vcpu, mem = w.provisioned[:, Resource.CPU], w.provisioned[:, Resource.MEMORY]
    assert set(np.unique(vcpu)) <= {1.0, 2.0, 4.0, 8.0, 16.0}
    assert (mem >= 1024).all()
    assert (mem <= 65536).all()
    assert set(np.unique(w.priority)) == {int(p) for p in Priority}
    assert w.sla_response_s.shape == w.sla_max_error_rate.shape == (50,)
    assert (w.sla_response_s > 0).all()
    assert w.source == "synthetic:seed=0"
    assert not w.repairs


def test_magnitudes_are_realistic() -> None:
    w = _load(n_apps=100, n_ticks=WEEK, seed=3)
    assert w.provisioned is not None
    util = w.demand / w.provisioned[:, None, :]
    median_util = np.median(util, axis=(0, 1))
    assert (median_util > 0.05).all()
    assert (median_util < 0.9).all()
    # Apps are sized for their daily peak: demand beyond the VM is the exception.
    assert (np.quantile(util, 0.95, axis=(0, 1)) < 1.2).all()
    assert w.demand[..., Resource.CPU].max() < 16 * 10


def test_same_seed_is_bit_identical_and_seeds_differ() -> None:
    a = _load(n_apps=30, n_ticks=WEEK, seed=5)
    b = _load(n_apps=30, n_ticks=WEEK, seed=5)
    c = _load(n_apps=30, n_ticks=WEEK, seed=6)
    assert a.demand.tobytes() == b.demand.tobytes()
    assert a.app_ids == b.app_ids
    assert np.array_equal(a.priority, b.priority)
    assert np.array_equal(a.provisioned, b.provisioned)  # type: ignore[arg-type]
    assert not np.array_equal(a.demand, c.demand)


def test_daily_seasonality_is_present_and_switchable() -> None:
    w = _load(n_apps=40, n_ticks=2 * WEEK, seed=1)
    cpu = w.demand[..., Resource.CPU]
    day = 288
    assert np.median(_acf(cpu, day)) > 0.5
    assert np.median(_acf(cpu, day)) > np.median(_acf(cpu, day // 2)) + 0.5
    flat = _load(n_apps=40, n_ticks=2 * WEEK, seed=1, seasonality_scale=0.0)
    assert np.median(_acf(flat.demand[..., Resource.CPU], day)) < 0.4


def test_batch_jobs_peak_at_night_and_web_by_day() -> None:
    cfg = SyntheticConfig(n_apps=40, n_ticks=WEEK, archetype_mix={"BATCH": 0.5, "WEB": 0.5})
    gen = SyntheticGenerator(cfg)
    w, kinds = gen.load(), np.array(gen.archetypes())
    hours = ((np.arange(WEEK) * 300) % 86400) // 3600
    for kind, window in ((Archetype.BATCH, (0, 7)), (Archetype.WEB, (12, 23))):
        cpu = w.demand[kinds == kind, :, Resource.CPU]
        by_hour = np.array([cpu[:, hours == h].mean() for h in range(24)])
        assert window[0] <= int(np.argmax(by_hour)) <= window[1], (kind, by_hour.round(2))


def test_periodic_daily_bump_equals_direct_computation() -> None:
    time_s = MONDAY_2024_S + 300.0 * np.arange(3 * 288 + 17, dtype=np.float64)
    peak, sharp = np.array([3.0, 14.5, 22.0]), np.array([0.5, 1.0, 4.0])
    direct = pat.daily_bump(pat.hour_of_day(time_s), peak, sharp)
    periodic = pat.daily_bump_at(time_s, 300.0, peak, sharp)
    assert np.allclose(periodic, direct, rtol=1e-5, atol=1e-6)
    assert np.argmax(direct[1, :288]) == 14 * 12 + 6  # 14:30 UTC


@pytest.mark.parametrize("interval_s", [3600.0, 7000.0, 60.0])
def test_other_intervals_keep_the_daily_rhythm(interval_s: float) -> None:
    per_day = 86400.0 / interval_s
    n_ticks = int(6 * per_day)
    w = _load(n_apps=20, n_ticks=n_ticks, interval_s=interval_s, seed=4)
    assert w.demand.shape == (20, n_ticks, 4)
    assert w.interval_s == interval_s
    assert np.median(_acf(w.demand[..., Resource.CPU], round(per_day))) > 0.4


def test_weekly_rhythm_changes_weekend_load_per_app() -> None:
    cfg = SyntheticConfig(
        n_apps=40, n_ticks=WEEK, archetype_mix={"WEB": 1.0}, **{**QUIET, "seasonality_scale": 1.0}
    )
    cpu = SyntheticGenerator(cfg).load().demand[..., Resource.CPU]
    wednesday, saturday = cpu[:, 2 * 288 : 3 * 288], cpu[:, 5 * 288 : 6 * 288]
    ratio = saturday.mean(axis=1) / wednesday.mean(axis=1)
    assert ratio.min() < 0.8  # business apps quieter at the weekend
    assert ratio.max() > 1.05  # consumer apps busier
    assert (ratio > 0.55**1.2 - 0.01).all()
    assert (ratio < 1.25**1.2 + 0.01).all()


def test_weekend_indicator() -> None:
    days = np.array([0.0, 2.5, 4.5, 5.5, 6.5, 6.999, 1e-3])
    w = pat.weekend_indicator(days)
    assert w[1] == pytest.approx(0.0, abs=1e-3)
    assert w[2] == pytest.approx(0.0, abs=1e-3)
    assert w[3] == pytest.approx(1.0, abs=1e-3)
    assert w[4] == pytest.approx(1.0, abs=1e-3)
    assert w[0] == pytest.approx(0.5, abs=1e-6)  # midnight Sunday -> Monday, mid-ramp
    assert abs(w[5] - w[6]) < 0.02  # continuous across the week boundary
    assert pat.day_of_week(np.array([MONDAY_2024_S]))[0] == 0.0


def test_all_patterns_off_gives_constant_peak_level() -> None:
    cfg = SyntheticConfig(n_apps=30, n_ticks=500, **QUIET)
    gen = SyntheticGenerator(cfg)
    w = gen.load()
    assert np.allclose(w.demand, w.demand[:, :1, :], rtol=1e-6)
    assert w.provisioned is not None
    cpu_util = w.demand[:, 0, Resource.CPU] / w.provisioned[:, Resource.CPU]
    for kind, util in zip(gen.archetypes(), cpu_util, strict=True):
        low, high = ARCHETYPES[kind].cpu_peak_util
        assert low - 1e-6 <= util <= high + 1e-6


def test_trend_alone_is_log_linear() -> None:
    w = _load(n_apps=20, n_ticks=4 * WEEK, **{**QUIET, "trend_scale": 1.0})
    log_cpu = np.log(w.demand[..., Resource.CPU])
    t = np.arange(4 * WEEK)
    slope = (log_cpu[:, -1] - log_cpu[:, 0]) / t[-1]
    linear = log_cpu[:, :1] + slope[:, None] * t[None, :]
    assert np.allclose(log_cpu, linear, atol=1e-4)
    assert (np.abs(slope) > 0).all()
    assert (slope > 0).mean() > 0.5  # growth on average, but each app has its own rate
    assert np.unique(slope).size == slope.size


def test_bursts_exist_and_can_be_switched_off() -> None:
    bursty = _load(n_apps=40, n_ticks=WEEK, **{**QUIET, "burst_rate_scale": 1.0})
    cpu = bursty.demand[..., Resource.CPU]
    peak_ratio = cpu.max(axis=1) / np.median(cpu, axis=1)
    assert (peak_ratio > 1.5).mean() > 0.5
    # a burst decays: the tick after the highest one is still raised but lower
    app = int(np.argmax(peak_ratio))
    top = int(np.argmax(cpu[app]))
    if top + 1 < WEEK:
        assert np.median(cpu[app]) < cpu[app, top + 1] <= cpu[app, top] * 1.0001


def test_flash_crowds_hit_many_exposed_apps_at_once() -> None:
    cfg = SyntheticConfig(
        n_apps=60,
        n_ticks=WEEK,
        **{**QUIET, "flash_crowds_per_week": 3.0, "flash_crowd_reach": 1.0},
    )
    gen = SyntheticGenerator(cfg)
    w, kinds = gen.load(), np.array(gen.archetypes())
    raised = w.demand[..., Resource.CPU] > 1.5 * w.demand[:, :1, Resource.CPU]
    exposed = np.array([ARCHETYPES[k].flash_exposure > 0 for k in kinds])
    assert raised[~exposed].sum() == 0  # batch jobs are never hit
    assert raised[exposed].mean(axis=0).max() > 0.8  # most exposed apps at the same tick


def test_regime_shifts_are_persistent_steps() -> None:
    w = _load(n_apps=50, n_ticks=4 * WEEK, **{**QUIET, "regime_shift_rate_scale": 5.0})
    log_cpu = np.log(w.demand[..., Resource.CPU])
    jumps = np.abs(np.diff(log_cpu, axis=1)) > 1e-6
    assert jumps.sum() > 20
    assert (jumps.sum(axis=1) < 30).all()  # steps, not noise: flat between shifts


def test_resources_are_correlated_but_not_identical() -> None:
    w = _load(n_apps=30, n_ticks=WEEK, seed=2)
    d = w.demand
    corr = np.array(
        [np.corrcoef(d[i, :, Resource.CPU], d[i, :, Resource.NETWORK])[0, 1] for i in range(30)]
    )
    assert np.median(corr) > 0.7
    assert (corr < 0.9999).all()


def test_archetype_mix_counts_are_exact_and_ids_name_the_archetype() -> None:
    cfg = SyntheticConfig(n_apps=11, n_ticks=10, archetype_mix={"web": 0.5, "BATCH": 0.5})
    gen = SyntheticGenerator(cfg)
    kinds = gen.archetypes()
    assert sorted(k.name for k in kinds).count("WEB") in (5, 6)
    assert {k for k in kinds} == {Archetype.WEB, Archetype.BATCH}
    w = gen.load()
    for app_id, kind in zip(w.app_ids, kinds, strict=True):
        assert app_id.startswith(kind.value + "-")


def test_priority_follows_archetype_or_metadata_config() -> None:
    db = _load(n_apps=200, n_ticks=10, archetype_mix={"DATABASE": 1.0})
    batch = _load(n_apps=200, n_ticks=10, archetype_mix={"BATCH": 1.0})
    assert (db.priority == Priority.HIGH).mean() > 0.45
    assert (batch.priority == Priority.LOW).mean() > 0.55
    meta = MetadataConfig(share_high=1.0, share_medium=0.0, share_low=0.0, response_s_high=0.1)
    forced = _load(n_apps=50, n_ticks=10, priority_by_archetype=False, metadata=meta)
    assert (forced.priority == Priority.HIGH).all()
    assert (forced.sla_response_s == 0.1).all()


def test_metadata_given_as_mapping_is_converted() -> None:
    cfg = SyntheticConfig(metadata={"seed": 4, "share_high": 0.5, "share_low": 0.0})  # type: ignore[arg-type]
    assert cfg.metadata == MetadataConfig(seed=4, share_high=0.5, share_low=0.0)


def test_tiny_workload() -> None:
    w = _load(n_apps=1, n_ticks=1)
    assert w.demand.shape == (1, 1, 4)


@pytest.mark.parametrize(
    ("kwargs", "key", "text"),
    [
        ({"n_apps": 0}, "n_apps", ">= 1"),
        ({"n_apps": 2.5}, "n_apps", "integer"),
        ({"n_ticks": -3}, "n_ticks", ">= 1"),
        ({"interval_s": 0.0}, "interval_s", r"\(0, 86400\]"),
        ({"start_time_s": float("nan")}, "start_time_s", "NaN"),
        ({"seasonality_scale": -1.0}, "seasonality_scale", ">= 0"),
        ({"flash_crowds_per_week": float("inf")}, "flash_crowds_per_week", "finite"),
        ({"flash_crowd_reach": 1.5}, "flash_crowd_reach", r"\[0, 1\]"),
        ({"archetype_mix": {"WEBB": 1.0}}, "archetype_mix.WEBB", "Did you mean 'WEB'"),
        ({"archetype_mix": {"WEB": 0.5, "BATCH": 0.2}}, "archetype_mix", "sum to 1"),
        ({"archetype_mix": {"WEB": 1.0, "web": 0.0}}, "archetype_mix.web", "twice"),
        ({"archetype_mix": {"WEB": "half"}}, "archetype_mix.WEB", "share"),
        ({"archetype_mix": {}}, "archetype_mix", "must map"),
        ({"metadata": {"share_hihg": 0.2}}, "metadata.share_hihg", "Did you mean 'share_high'"),
        ({"metadata": {"share_high": 2.0}}, "metadata.share_high", r"\[0, 1\]"),
        ({"metadata": 3}, "metadata", "MetadataConfig or a mapping"),
    ],
)
def test_config_validation_names_the_key(kwargs: dict[str, Any], key: str, text: str) -> None:
    with pytest.raises(ConfigError, match=rf"config key '{key}'.*{text}"):
        SyntheticConfig(**kwargs)


def test_config_works_with_the_hydra_schema_and_overrides() -> None:
    from omegaconf import OmegaConf

    from shadowsim.config_store import build_config, schema_node

    overrides = ["n_apps=7", "n_ticks=20", "metadata.rule=DEMAND_RANK", "archetype_mix.WEB=0.6"]
    merged = OmegaConf.merge(schema_node(SyntheticConfig), OmegaConf.from_dotlist(overrides))
    with pytest.raises(ConfigError, match="sum to 1"):
        build_config(SyntheticConfig, merged, key="workload")
    merged = OmegaConf.merge(merged, OmegaConf.from_dotlist(["archetype_mix.BATCH=0.0"]))
    cfg = build_config(SyntheticConfig, merged, key="workload")
    assert cfg.metadata.rule is AssignmentRule.DEMAND_RANK
    w = SyntheticGenerator(cfg).load()
    assert w.demand.shape == (7, 20, 4)


def test_ar1_noise_has_unit_variance_and_requested_autocorrelation() -> None:
    rng = np.random.default_rng(0)
    phi = np.array([0.0, 0.5, 0.9, 0.98])
    x = pat.ar1_noise(rng, np.repeat(phi, 50), 4000).astype(np.float64)
    var = x.var(axis=1).reshape(4, 50).mean(axis=1)
    lag1 = _acf(x, 1).reshape(4, 50).mean(axis=1)
    assert np.allclose(var, 1.0, atol=0.12)
    assert np.allclose(lag1, phi, atol=0.03)
    odd = pat.ar1_noise(rng, np.full(200, 0.7), 999).astype(np.float64)
    assert odd.var() == pytest.approx(1.0, abs=0.05)


def test_pulses_ramp_then_decay_and_add_up() -> None:
    out = pat.pulses(
        (2, 12),
        apps=np.array([0, 0, 1], dtype=np.intp),
        ticks=np.array([2, 2, 10], dtype=np.intp),
        height=np.array([1.0, 2.0, 4.0]),
        rise_ticks=np.array([0, 2, 0], dtype=np.intp),
        decay_ticks=np.array([1.0, 2.0, 1.0]),
    )
    first = np.concatenate([np.zeros(2), np.exp(-np.arange(7.0)), np.zeros(3)])  # cut at 6 tau
    second = np.zeros(12)
    second[2:5] = 2.0 * np.array([1 / 3, 2 / 3, 1.0])
    second[5:] = 2.0 * np.exp(-np.arange(1, 8) / 2.0)
    assert np.allclose(out[0], first + second, rtol=1e-6, atol=1e-7)
    assert np.allclose(out[1, :10], 0.0)
    assert out[1, 10] == pytest.approx(4.0)
    empty = np.zeros(0, dtype=np.intp)
    assert not pat.pulses((2, 5), empty, empty, np.zeros(0), empty, np.zeros(0)).any()


def test_level_shifts_are_cumulative() -> None:
    lv = pat.level_shifts(
        (2, 6),
        np.array([0, 0, 1], dtype=np.intp),
        np.array([1, 4, 0], dtype=np.intp),
        np.array([0.5, -1.0, 2.0]),
    )
    assert np.allclose(lv[0], [0, 0.5, 0.5, 0.5, -0.5, -0.5])
    assert np.allclose(lv[1], 2.0)
