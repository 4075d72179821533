"""FusedReward gives the reference Reward's terms, term dict and violation counts exactly."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.cluster_state import CostBreakdown
from shadowsim.engine.reward import Reward, RewardConfig
from shadowsim.sim.jit import jit_available
from shadowsim.workloads.workload import Priority

from .cluster_fixtures import make_spec, make_state

pytestmark = pytest.mark.skipif(not jit_available(), reason="numba is not installed")


def test_fused_reward_equals_the_reference() -> None:
    from shadowsim.engine.fused.reward import FusedReward

    spec = make_spec((Priority.LOW, Priority.MEDIUM, Priority.HIGH) * 5)
    config = RewardConfig(w_cost=1.3, w_sla=0.07, w_mig=2.0, w_pool=0.5)
    reference, fused = Reward(spec, config), FusedReward(spec, config)
    rng = np.random.default_rng(2)
    seen_high = 0
    for _ in range(20):
        violated = rng.random(spec.n_apps) < 0.4
        state = make_state(
            spec,
            app_allocation=np.ones((spec.n_apps, 4)),
            sla_violated=violated,
            cost=CostBreakdown(allocation=rng.uniform(0, 9), pool=rng.uniform(0, 1), migration=0.3),
        )
        assert fused.term_dict(state) == reference.terms(state).as_dict()
        assert fused.terms(state) == reference.terms(state)
        expected = (int(violated.sum()), int(violated[2::3].sum()))  # every third app is HIGH
        assert fused.violations(state) == reference.violations(state) == expected
        seen_high += expected[1]
        other = make_state(spec, app_allocation=np.ones((spec.n_apps, 4)), sla_violated=~violated)
        assert fused.violations(other) == reference.violations(other)  # not the last terms'
    assert seen_high > 0
