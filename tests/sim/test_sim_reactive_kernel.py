"""The compiled reactive rule against its numpy reference, decision by decision.

Every window length (the default 3 has its own one-pass loop in the compiled rule), with
usage and allocations that cross the tolerance both ways, zeros and NaN entries: the
targets must be identical, bit for bit, NaN where the reference gives NaN.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from shadowsim.cluster_state import ClusterState
from shadowsim.sim import jit
from shadowsim.sim.jit import Kernel
from shadowsim.sim.reactive import ReactiveConfig, ReactiveRule
from shadowsim.sim.simulator import Simulator
from tests.sim.sim_fixtures import make_workload, small_cluster

needs_numba = pytest.mark.skipif(not jit.jit_available(), reason="numba is not installed")


def _states(n_states: int, seed: int) -> list[ClusterState]:
    """Snapshots of a small simulator with random served usage and pending allocations."""
    workload = make_workload(n_apps=7, n_ticks=4)
    state = Simulator(workload, small_cluster()).advance().copy()
    rng = np.random.default_rng(seed)
    shape = state.pending_allocation.shape
    states = []
    for _ in range(n_states):
        pending = rng.uniform(0.5, 4.0, shape)
        served = pending * rng.uniform(0.0, 1.6, shape)  # below, within and above tolerance
        served[rng.random(shape) < 0.1] = 0.0
        served[rng.random(shape) < 0.05] = np.nan
        pending[rng.random(shape) < 0.05] = np.nan
        kpis = dataclasses.replace(state.kpis, served=served)
        states.append(dataclasses.replace(state, kpis=kpis, pending_allocation=pending))
    return states


@needs_numba
@pytest.mark.parametrize("window", [1, 2, 3, 4])
def test_compiled_rule_targets_are_the_references(window: int) -> None:
    states = _states(12, seed=window)
    n_apps = states[0].pending_allocation.shape[0]
    numpy_rule = ReactiveRule(
        ReactiveConfig(stabilisation_ticks=window, kernel=Kernel.NUMPY), n_apps
    )
    jit_rule = ReactiveRule(ReactiveConfig(stabilisation_ticks=window, kernel=Kernel.JIT), n_apps)
    saw_nan = saw_change = False
    for i, state in enumerate(states):
        expected = np.asarray(numpy_rule.decide(state).targets)
        got = np.asarray(jit_rule.decide(state).targets)
        np.testing.assert_array_equal(got, expected, err_msg=f"decision {i}, window {window}")
        assert got.tobytes() == expected.tobytes(), f"decision {i}: not bit for bit"
        saw_nan |= bool(np.isnan(expected).any())
        saw_change |= bool((expected != state.pending_allocation).any())
    assert saw_nan  # the cases above were exercised
    assert saw_change
