"""The shadow policy's per-application rule selection: candidates, scoring, penalty adaptation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import make_context, make_obs

from shadowsim.errors import ConfigError
from shadowsim_policies import make_policy
from shadowsim_policies.autopilot_peak import PeakWindow
from shadowsim_policies.rule_candidates import CandidateFamily
from shadowsim_policies.rule_selection import RuleSelector, SelectorState
from shadowsim_policies.selection_config import SelectionConfig
from shadowsim_policies.shadow import ShadowConfig

HIGH = np.array([2], dtype=np.intp)
ONE = np.ones((1, 4))


def selector(**params: object) -> RuleSelector:
    defaults: dict[str, object] = {"prior_bonus": 0.0, "adapt_s": 1e12}
    defaults.update(params)
    return RuleSelector(SelectionConfig(**defaults), 300.0, first_lead=2, max_change_factor=2.0)


def run(sel: RuleSelector, candidates: np.ndarray, demand: float, steps: int) -> list[int]:
    """Feed constant demand (ref units, ref = 1) and the same candidates; chosen CPU index."""
    state = SelectorState()
    chosen = []
    for _ in range(steps):
        _, pick = sel.choose(state, candidates, np.full((1, 4), demand), HIGH, ONE)
        chosen.append(int(pick[0, 0]))
    return chosen


def test_picks_the_cheapest_candidate_that_covers_a_steady_demand() -> None:
    candidates = np.array([2.0, 1.05, 0.9])[:, None, None] * np.ones((3, 1, 4))
    chosen = run(selector(penalty=0.4), candidates, demand=1.0, steps=50)
    assert chosen[0] == 0  # nothing scored yet: ties go to the fixed rule
    assert chosen[-1] == 1  # covers at the least cost; 0.9 is always short
    cheap_violations = run(selector(penalty=1e-9, penalty_range=1.0), candidates, 1.0, 50)
    assert cheap_violations[-1] == 2  # short ticks cost (almost) nothing


def test_scores_wait_for_the_demand_the_decision_covered() -> None:
    sel = selector(penalty=0.4)
    state = SelectorState()
    candidates = np.ones((2, 1, 4))
    # first lead 2: the decision at boundary k covers tick k + 1, whose demand is the last
    # usage seen at boundary k + 2: the first decision is settled by the third call
    for expected in (0, 0, 0, 1, 2):
        assert state.scored == expected
        sel.choose(state, candidates, np.ones((1, 4)), HIGH, ONE)


def test_counterfactual_allocations_respect_the_maximum_change() -> None:
    sel = selector(penalty=0.4, floor=(1e-3,) * 4)
    state = SelectorState()
    low, high = np.full((1, 1, 4), 0.1), np.full((1, 1, 4), 8.0)
    sel.choose(state, low, np.ones((1, 4)), HIGH, ONE)
    sel.choose(state, high, np.ones((1, 4)), HIGH, ONE)
    assert state.trajectory is not None
    np.testing.assert_allclose(state.trajectory, 0.2)  # at most doubled per tick


def test_prior_bonus_keeps_the_fixed_rule_until_the_evidence_outweighs_it() -> None:
    candidates = np.array([2.0, 1.05])[:, None, None] * np.ones((2, 1, 4))
    chosen = run(selector(penalty=0.4, prior_bonus=(0.0, 0.0, 1.0)), candidates, 1.0, 600)
    switch = chosen.index(1)
    assert 10 < switch < 600
    assert set(chosen[:switch]) == {0}


def test_penalty_adapts_towards_the_violation_target() -> None:
    sel = selector(penalty=(0.001, 0.002, 0.4), violation_target=(0.1, 0.05, 0.01), adapt_s=3000.0)
    state = SelectorState()
    priority = np.array([0, 2, 2], dtype=np.intp)
    sel.adapt(state, np.array([False, True, False]), priority)  # HIGH half short, LOW none
    assert state.log_penalty is not None
    ticks = 10.0
    assert state.log_penalty[2] == pytest.approx(math.log(0.4) + (0.5 - 0.01) / (0.01 * ticks))
    assert state.log_penalty[0] == pytest.approx(math.log(0.001) - 1.0 / ticks)
    assert state.log_penalty[1] == pytest.approx(math.log(0.002))  # no MEDIUM application
    for _ in range(1000):
        sel.adapt(state, np.array([False, True, True]), priority)
    assert sel.penalty(state)[2] == pytest.approx(0.4 * 1000.0)  # capped by penalty_range


def test_candidate_family_layout() -> None:
    config = SelectionConfig(
        levels=(0.5, 0.9),
        multipliers=(1.0, 2.0),
        hold_windows_s=(600.0, 1200.0),
        hold_shares=(1.0, 1.5),
        standby_window_s=1200.0,
        standby_shares=(0.5,),
        standby_multipliers=(1.0,),
        hold_standby_shares=(0.25,),
        margins=((1.0, 2.0, 3.0, 4.0),),
    )
    family = CandidateFamily(config, 300.0)
    window = PeakWindow(np.zeros((1, family.history_ticks, 4)))
    for usage in (4.0, 0.0, 0.0, 1.0):
        window.add(np.full((1, 4), usage))
    forecasts = np.stack([np.full((1, 4), 0.5), np.full((1, 4), 0.9)])
    ref = np.full((1, 4), 2.0)
    out = family.build(np.full((1, 4), 7.0), forecasts, window, ref)
    assert out.shape == (config.n_candidates, 1, 4)
    expected = [
        7.0,  # the fixed rule
        0.5, 1.0, 0.9, 1.8,  # level x multiplier
        1.0, 1.5,  # holds over 2 ticks (peak 1.0), shares 1.0 and 1.5 ...
        4.0, 6.0,  # ... and over 4 ticks (peak 4.0)
        2.0,  # standby: max(0.9, 0.5 * 4.0)
        1.0, 4.0,  # hold-and-standby: max(0.9, 0.25 * 4.0, peak of each hold window)
        1.4, 4.5,  # margin 1.0 (ref 2.0 -> 0.5 ref units) on the forecast, on the longest hold
    ]
    np.testing.assert_allclose(out[:, 0, 0], expected)
    np.testing.assert_allclose(out[-1, 0], 4.0 + np.array([1.0, 2.0, 3.0, 4.0]) / 2.0)


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"violation_target": (0.1, 0.0, 0.01)}, "violation_target"),
        ({"penalty": (0.1, 0.1, 0.0)}, "penalty"),
        ({"levels": (0.5, 1.0)}, "levels"),
        ({"multipliers": ()}, "multipliers"),
        ({"margins": ((1.0, 2.0),)}, "margins[0]"),
        ({"penalty_range": 0.5}, "penalty_range"),
        ({"enabled": "yes"}, "enabled"),
    ],
)
def test_bad_selection_settings_name_their_key(params: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        SelectionConfig(**params)  # type: ignore[arg-type]
    assert key in str(info.value)


def test_shadow_config_takes_a_mapping_for_the_selection() -> None:
    config = ShadowConfig(selection={"violation_target": (0.2, 0.1, 0.01)})  # type: ignore[arg-type]
    assert config.selection == SelectionConfig(violation_target=(0.2, 0.1, 0.01))
    with pytest.raises(ConfigError, match=r"policy\.selection"):
        ShadowConfig(selection=3)  # type: ignore[arg-type]


def test_policy_selects_per_application_and_reads_short_ticks_from_the_observation() -> None:
    ctx = make_context(2, priority=(0, 2))
    policy = make_policy("shadow").bind(ctx)
    usage = np.ones((2, 12, 4))
    state = None
    for step in range(30):
        obs = make_obs(usage * (3.0 if step == 20 else 1.0), priority=(0, 2))
        targets, state = policy.targets(obs, state)
        assert targets.shape == (2, 4)
        assert np.isfinite(targets).all()
    assert state is not None
    log_penalty = state.selection.log_penalty
    assert log_penalty is not None
    moved = log_penalty - np.log(np.asarray(policy.config.selection.penalty))
    # 29 adaptations (the first step knows no earlier allocation), one of them short (the
    # burst at step 20 met an allocation of 1.0): per class (short - target) / (target * 288)
    assert moved[0] == pytest.approx((-28 + (1 - 0.1) / 0.1) / 288)
    assert moved[2] == pytest.approx((-28 + (1 - 0.004) / 0.004) / 288)
    assert moved[1] == 0.0  # no MEDIUM application


@pytest.mark.parametrize("size", [1, 3, 7])
def test_peak_last_is_the_maximum_of_the_newest_ticks(size: int) -> None:
    rng = np.random.default_rng(size)
    window = PeakWindow(np.zeros((2, size, 4)))
    seen: list[np.ndarray] = []
    for _ in range(20):
        usage = rng.random((2, 4))
        window.add(usage)
        seen.append(usage)
        for n in range(1, 10):
            newest = seen[-min(n, size, len(seen)) :]
            np.testing.assert_array_equal(window.peak_last(n), np.max(newest, axis=0))
