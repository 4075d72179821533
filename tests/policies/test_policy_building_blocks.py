"""Observation view, forecast reading, decaying histograms and policy config checks."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest

from shadowsim.errors import ConfigError, UnknownNameError
from shadowsim_policies import POLICIES, make_policy
from shadowsim_policies.decaying_histogram import BucketScheme, DecayingHistogram
from shadowsim_policies.forecast_reading import lead_span_max, leads_covering, quantile_level
from shadowsim_policies.hpa import HpaConfig
from shadowsim_policies.observation_view import (
    ObservationError,
    ObservationView,
    is_batched,
    split_batch,
)
from shadowsim_policies.shadow import ShadowConfig
from shadowsim_policies.vpa import UpdateMode, VpaConfig


def test_view_reads_priority_and_last_usage(obs):
    usage = np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4)
    view = ObservationView.of(obs(usage, priority=(0, 2)))
    assert view.n_apps == 2
    assert view.priority.tolist() == [0, 2]
    np.testing.assert_allclose(view.last_usage, usage[:, -1])


def test_view_names_missing_key_and_bad_shape(obs):
    o = obs(np.ones((2, 3, 4)))
    del o["pending"]
    with pytest.raises(ObservationError, match="no key 'pending'"):
        ObservationView.of(o)
    o = obs(np.ones((2, 3, 4)))
    o["allocation"] = np.ones((3, 4), dtype=np.float32)
    with pytest.raises(ObservationError, match=r"'allocation'.*\(2, 4\).*\(3, 4\)"):
        ObservationView.of(o)
    o = obs(np.ones((2, 3, 4)))
    o["usage"] = np.ones((2, 3), dtype=np.float32)
    with pytest.raises(ObservationError, match="usage"):
        is_batched(o)


def test_split_batch(obs):
    a, b = obs(np.ones((2, 3, 4))), obs(2 * np.ones((2, 3, 4)))
    batch = {k: np.stack([a[k], b[k]]) for k in a}
    assert is_batched(batch)
    assert not is_batched(a)
    parts = split_batch(batch)
    assert len(parts) == 2
    np.testing.assert_array_equal(parts[1]["usage"], b["usage"])
    batch["time"] = batch["time"][:1]
    with pytest.raises(ObservationError, match="leading axis of 2"):
        split_batch(batch)


def test_quantile_level_interpolates_and_extrapolates():
    fc = np.zeros((1, 1, 4, 2))
    fc[..., 0], fc[..., 1] = 1.0, 2.0  # P50 = 1, P90 = 2
    np.testing.assert_allclose(quantile_level(fc, (0.5, 0.9), 0.5), 1.0)
    np.testing.assert_allclose(quantile_level(fc, (0.5, 0.9), 0.7), 1.5)
    z = NormalDist().inv_cdf
    expected = 2.0 + (z(0.99) - z(0.9)) / (z(0.9) - z(0.5))
    np.testing.assert_allclose(quantile_level(fc, (0.5, 0.9), 0.99), expected)
    assert (quantile_level(fc, (0.5, 0.9), 0.01) == 0.0).all()  # floored at zero
    with pytest.raises(ConfigError, match="quantile"):
        quantile_level(fc, (0.5, 0.9), 1.0)
    with pytest.raises(ConfigError, match="do not match"):
        quantile_level(fc, (0.5,), 0.5)


def test_lead_span_and_covering():
    values = np.array([[[1.0] * 4, [5.0] * 4, [3.0] * 4]])  # leads 1, 3, 6
    assert lead_span_max(values, (1, 3, 6), 1, 3)[0, 0] == 5.0
    assert lead_span_max(values, (1, 3, 6), 4, 5)[0, 0] == 3.0  # next lead after the span
    assert lead_span_max(values, (1, 3, 6), 7, 9)[0, 0] == 3.0  # all earlier: the last
    # the simulator: a change lands on the first tick boundary at or after the latency
    assert leads_covering(0.0) == (1, 1)
    assert leads_covering(0.2) == (2, 2)
    assert leads_covering(1.0) == (2, 2)
    assert leads_covering(1.5, span_ticks=2) == (3, 4)
    # a live cluster: a change lands mid-tick and touches the tick it lands in
    assert leads_covering(0.2, on_tick_boundary=False) == (1, 2)
    assert leads_covering(1.5, span_ticks=2, on_tick_boundary=False) == (2, 4)


def test_histogram_percentile_and_half_life():
    scheme = BucketScheme(first=0.01, ratio=1.05)
    hist = DecayingHistogram(1, half_life_s=600.0, interval_s=300.0, scheme=scheme)
    for _ in range(10):
        hist.add(np.full((1, 4), 1.0))
    p90_low = hist.percentile(0.9)[0, 0]
    assert 1.0 <= p90_low <= 1.0 * 1.06  # end of the bucket holding 1.0
    hist.add(np.full((1, 4), 3.0))  # one new sample, weight 1
    # the ten old samples decayed: each add multiplies old weights by 0.5 ** (300 / 600)
    old = sum(0.5 ** (0.5 * k) for k in range(1, 11))
    np.testing.assert_allclose(hist.total_weight, old + 1.0)
    assert hist.percentile(0.5)[0, 0] < 1.1
    # after two half-lives without 1.0 samples, 3.0 dominates the P50
    for _ in range(4):
        hist.add(np.full((1, 4), 3.0))
    assert hist.percentile(0.5)[0, 0] >= 3.0


def test_histogram_decay_per_resource_and_empty():
    hist = DecayingHistogram(2, half_life_s=(300.0, 600.0, 300.0, 300.0), interval_s=300.0)
    assert (hist.percentile(0.9) == 0.0).all()
    hist.add(np.ones((2, 4)))
    hist.add(np.zeros((2, 4)))
    w = hist.weights.sum(axis=2)
    np.testing.assert_allclose(w[:, 0], 1.5)  # 0.5 + 1
    np.testing.assert_allclose(w[:, 1], 0.5**0.5 + 1.0)
    with pytest.raises(ConfigError, match="half_life_s"):
        DecayingHistogram(1, half_life_s=0.0, interval_s=300.0)


def test_config_checks_name_the_key():
    with pytest.raises(ConfigError, match=r"policy.tolerence.*Did you mean 'tolerance'"):
        make_policy("hpa", tolerence=0.2)
    with pytest.raises(ConfigError, match=r"policy\.target_utilization"):
        HpaConfig(target_utilization=(0.7, 0.7))
    with pytest.raises(ConfigError, match=r"policy\.target_utilization"):
        HpaConfig(target_utilization=1.5)
    assert HpaConfig(target_utilization=0.5).target_utilization == (0.5,) * 4
    with pytest.raises(ConfigError, match=r"policy\.quantile"):
        ShadowConfig(quantile=(0.5, 0.9, 1.2))
    with pytest.raises(ConfigError, match=r"Did you mean 'always'"):
        VpaConfig(update_mode="alwys")
    assert VpaConfig(update_mode="ALWAYS").update_mode is UpdateMode.ALWAYS
    with pytest.raises(ConfigError, match="upper_percentile"):
        VpaConfig(target_percentile=0.99, upper_percentile=0.95)
    with pytest.raises(UnknownNameError, match="Did you mean 'vpa'"):
        make_policy("vpaa")


def test_catalog_lists_every_baseline():
    expected = {
        "static_peak", "hpa", "vpa", "autopilot_peak", "autopilot_percentile",
        "predictive_scaling", "seed_threshold", "seed_literal", "oracle", "shadow",
    }
    assert expected <= set(POLICIES.names())


def test_every_conf_policy_yaml_instantiates():
    from pathlib import Path

    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    folder = Path(__file__).resolve().parents[2] / "conf" / "policy"
    names = {p.stem for p in folder.glob("*.yaml")}
    assert set(POLICIES.names()) | {"sb3"} == names
    for name in sorted(names - {"sb3"}):
        policy = instantiate(OmegaConf.load(folder / f"{name}.yaml"))
        assert policy.name == name
        assert type(policy) is POLICIES.get(name)
    node = OmegaConf.load(folder / "shadow.yaml")
    assert instantiate(node).config == make_policy("shadow").config  # yaml == code defaults
