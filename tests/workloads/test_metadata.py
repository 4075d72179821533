"""Tests of the seeded priority/SLA assignment rule."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.errors import ConfigError
from shadowsim.workloads.metadata import (
    AppMetadata,
    AssignmentRule,
    MetadataConfig,
    assign_metadata,
    stable_uniform,
)
from shadowsim.workloads.workload import Priority, WorkloadError


def _ids(n: int) -> list[str]:
    return [f"vm-{i:04d}" for i in range(n)]


def _demand(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = np.array([2.0, 4096.0, 500.0, 800.0])
    return np.asarray(rng.gamma(2.0, 1.0, size=(n, 4)) * scale, dtype=np.float64)


def test_hash_rule_is_deterministic_and_seed_dependent() -> None:
    ids = _ids(300)
    a = assign_metadata(ids, _demand(300), MetadataConfig(seed=7))
    b = assign_metadata(ids, _demand(300), MetadataConfig(seed=7))
    c = assign_metadata(ids, _demand(300), MetadataConfig(seed=8))
    assert isinstance(a, AppMetadata)
    assert a.priority.dtype == np.int8
    assert np.array_equal(a.priority, b.priority)
    assert not np.array_equal(a.priority, c.priority)


def test_hash_rule_does_not_depend_on_order_or_other_apps() -> None:
    ids = _ids(200)
    demand = _demand(200)
    cfg = MetadataConfig(seed=3)
    full = assign_metadata(ids, demand, cfg)
    perm = np.random.default_rng(1).permutation(200)
    shuffled = assign_metadata([ids[i] for i in perm], demand[perm], cfg)
    assert np.array_equal(shuffled.priority, full.priority[perm])
    subset = assign_metadata(ids[50:80], demand[50:80], cfg)
    assert np.array_equal(subset.priority, full.priority[50:80])


def test_hash_rule_follows_shares_and_sla_per_class() -> None:
    n = 4000
    cfg = MetadataConfig(seed=11, share_high=0.1, share_medium=0.3, share_low=0.6)
    meta = assign_metadata(_ids(n), _demand(n), cfg)
    counts = np.bincount(meta.priority, minlength=3) / n
    assert counts[Priority.HIGH] == pytest.approx(0.1, abs=0.025)
    assert counts[Priority.MEDIUM] == pytest.approx(0.3, abs=0.03)
    assert counts[Priority.LOW] == pytest.approx(0.6, abs=0.03)
    for cls in Priority:
        mask = meta.priority == cls
        assert np.all(meta.sla_response_s[mask] == cfg.response_s[cls])
        assert np.all(meta.sla_max_error_rate[mask] == cfg.max_error_rate[cls])


def test_zero_share_class_is_never_assigned() -> None:
    cfg = MetadataConfig(share_high=0.0, share_medium=0.0, share_low=1.0)
    meta = assign_metadata(_ids(500), _demand(500), cfg)
    assert np.all(meta.priority == Priority.LOW)


def test_rank_rule_gives_largest_apps_high_priority() -> None:
    n = 10
    scale = np.array([1.0, 1024.0, 100.0, 100.0])
    demand = np.outer(np.arange(1, n + 1, dtype=float), scale)  # app 9 is largest
    cfg = MetadataConfig(
        rule=AssignmentRule.DEMAND_RANK, share_high=0.2, share_medium=0.3, share_low=0.5
    )
    meta = assign_metadata(_ids(n), demand, cfg)
    expected = [Priority.LOW] * 5 + [Priority.MEDIUM] * 3 + [Priority.HIGH] * 2
    assert meta.priority.tolist() == [int(p) for p in expected]
    perm = np.random.default_rng(0).permutation(n)
    shuffled = assign_metadata([_ids(n)[i] for i in perm], demand[perm], cfg)
    assert np.array_equal(shuffled.priority, meta.priority[perm])


def test_rank_rule_breaks_ties_by_seeded_hash_independent_of_order() -> None:
    n = 40
    demand = np.ones((n, 4))
    cfg = MetadataConfig(rule=AssignmentRule.DEMAND_RANK, seed=5)
    meta = assign_metadata(_ids(n), demand, cfg)
    assert np.bincount(meta.priority, minlength=3).tolist() == [12, 20, 8]
    rev = assign_metadata(_ids(n)[::-1], demand, cfg)
    assert np.array_equal(rev.priority, meta.priority[::-1])


def test_rule_given_by_name_is_converted() -> None:
    assert MetadataConfig(rule="demand_rank").rule is AssignmentRule.DEMAND_RANK  # type: ignore[arg-type]
    assert MetadataConfig(rule="HASH").rule is AssignmentRule.HASH  # type: ignore[arg-type]


def test_unknown_rule_name_suggests_close_match() -> None:
    with pytest.raises(ConfigError, match=r"'rule'.*Did you mean 'DEMAND_RANK'"):
        MetadataConfig(rule="DEMAND_RANKK")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "key", "text"),
    [
        ({"share_high": -0.1, "share_low": 0.6}, "share_high", "in \\[0, 1\\]"),
        ({"share_medium": 0.9}, "share_low", "must be 1"),
        ({"response_s_medium": 0.0}, "response_s_medium", "> 0 s"),
        ({"response_s_low": float("inf")}, "response_s_low", "finite"),
        ({"max_error_rate_high": 1.0}, "max_error_rate_high", "\\[0, 1\\)"),
        ({"max_error_rate_low": float("nan")}, "max_error_rate_low", "NaN"),
        ({"share_high": "a lot"}, "share_high", "must be a number"),
        ({"seed": 1.5}, "seed", "integer"),
    ],
)
def test_config_validation_names_the_key(kwargs: dict[str, object], key: str, text: str) -> None:
    with pytest.raises(ConfigError, match=rf"config key '{key}'.*{text}"):
        MetadataConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_inputs_are_rejected_with_clear_messages() -> None:
    cfg = MetadataConfig()
    with pytest.raises(WorkloadError, match=r"shape \(3, 4\)"):
        assign_metadata(_ids(3), np.ones((2, 4)), cfg)
    with pytest.raises(WorkloadError, match="duplicated: \\['a'\\]"):
        assign_metadata(["a", "b", "a"], np.ones((3, 4)), cfg)
    bad = np.ones((3, 4))
    bad[1, 2] = -1.0
    with pytest.raises(WorkloadError, match=r"'vm-0001' for DISK is -1\.0"):
        assign_metadata(_ids(3), bad, cfg)


def test_stable_uniform_is_in_unit_interval_and_salted() -> None:
    ids = _ids(1000)
    u = stable_uniform(ids, 0, "a")
    assert np.all((u >= 0) & (u < 1))
    assert abs(u.mean() - 0.5) < 0.05
    assert not np.array_equal(u, stable_uniform(ids, 0, "b"))
    assert np.array_equal(u, stable_uniform(ids, 0, "a"))
