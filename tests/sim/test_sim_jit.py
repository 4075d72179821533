"""The compiled kernels (cluster.kernel JIT) against the numpy reference (NUMPY).

One component per application: identical snapshots (the allocation cost rate is summed in
another order than ``np.dot``: 1e-12 relative). Several components, blocks of several ticks,
moves, failures: within 1e-12 relative.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest

from shadowsim.actions import MigrateAction, PoolTargetAction, ScaleAllAction, ShiftToSpareAction
from shadowsim.cluster_state import ClusterState
from shadowsim.errors import ConfigError
from shadowsim.sim import jit
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.faults import FaultConfig
from shadowsim.sim.jit import Kernel
from shadowsim.sim.reactive import ReactiveConfig, ReactiveRule
from shadowsim.sim.simulator import Simulator
from shadowsim.workloads.workload import Workload
from tests.sim.sim_fixtures import make_workload, small_cluster

needs_numba = pytest.mark.skipif(not jit.jit_available(), reason="numba is not installed")


def _same(got: object, expected: object, rtol: float, where: str = "state") -> None:
    """Recursive equality of snapshots: arrays bit for bit when ``rtol`` is 0."""
    if dataclasses.is_dataclass(expected):
        for field in dataclasses.fields(expected):
            _same(getattr(got, field.name), getattr(expected, field.name), rtol, field.name)
    elif isinstance(expected, np.ndarray):
        if rtol == 0.0 or expected.dtype == np.bool_ or expected.dtype.kind in "iu":
            np.testing.assert_array_equal(got, expected, err_msg=where)
        else:
            np.testing.assert_allclose(
                np.asarray(got), expected, rtol=rtol, atol=1e-300, err_msg=where
            )
    elif isinstance(expected, float):
        assert got == pytest.approx(expected, rel=max(rtol, 1e-12)), where
    else:
        assert got == expected, where


def _replay(
    workload: Workload, config: ClusterConfig, kernel: Kernel, actions: str
) -> tuple[Simulator, list[ClusterState]]:
    sim = Simulator(workload, dataclasses.replace(config, kernel=kernel))
    rule = ReactiveRule(ReactiveConfig(stabilisation_ticks=2, kernel=kernel), workload.n_apps)
    rng = np.random.default_rng(11)
    states = [sim.advance().copy()]
    while not sim.done:
        if actions == "reactive":
            sim.apply([rule.decide(states[-1])])
        else:
            per_app = config.components_per_app
            targets = rng.uniform(0.3, 2.0, (workload.n_apps, 4)) * sim.pending[::per_app]
            targets[rng.random(targets.shape) < 0.3] = np.nan
            sim.apply(
                [
                    ScaleAllAction(targets * per_app),
                    MigrateAction(int(rng.integers(sim.spec.n_components)), int(rng.integers(3))),
                    ShiftToSpareAction(int(rng.integers(sim.spec.n_components))),
                    PoolTargetAction(tuple(int(x) for x in rng.integers(0, 3, 4))),
                ]
            )
        states.append(sim.advance().copy())
    return sim, states


def _compare(workload: Workload, config: ClusterConfig, actions: str, rtol: float) -> Simulator:
    reference, expected = _replay(workload, config, Kernel.NUMPY, actions)
    compiled, got = _replay(workload, config, Kernel.JIT, actions)
    assert len(got) == len(expected)
    for state_got, state_expected in zip(got, expected, strict=True):
        cost_got, cost_expected = state_got.cost, state_expected.cost
        _same(
            dataclasses.replace(state_got, cost=cost_expected, cost_total=cost_expected),
            dataclasses.replace(state_expected, cost_total=cost_expected),
            rtol,
        )
        _same(cost_got, cost_expected, 1e-12)
        _same(state_got.cost_total, state_expected.cost_total, 1e-12)
    for name in ("demand", "served", "throttled", "dropped", "violation_ticks"):
        _same(getattr(compiled.ledger.totals, name), getattr(reference.ledger.totals, name), rtol)
    _same(compiled.alloc, reference.alloc, rtol)
    assert compiled.events == reference.events
    return compiled


@needs_numba
def test_reactive_replay_with_contention_is_identical() -> None:
    workload = make_workload(n_apps=24, n_ticks=40, seed=7, noise=0.5)
    config = small_cluster(overcommit=(2.0, 1.0, 1.5, 1.5), target_utilisation=0.9)
    sim = _compare(workload, config, "reactive", 0.0)
    assert sim.kernel.contention_possible
    assert sim.ledger.totals.dropped.sum() > 0
    assert sim.ledger.totals.throttled.sum() > 0


@needs_numba
@pytest.mark.parametrize(
    "overrides",
    [
        {"components_per_app": 2, "component_shares": (0.3, 0.7), "overcommit": (2, 1, 1, 1)},
        {"control_every_ticks": 3, "max_block_ticks": 2, "overcommit": (2, 1, 1.5, 1.5)},
        {"control_every_ticks": 4, "components_per_app": 3},
    ],
)
def test_reactive_replays_agree_within_1e12(overrides: dict[str, object]) -> None:
    workload = make_workload(n_apps=12, n_ticks=30, seed=2, noise=0.6)
    per_app = int(overrides.get("components_per_app", 1))  # type: ignore[call-overload]
    config = small_cluster(target_utilisation=0.9, **overrides)
    if per_app == 1:
        _compare(workload, config, "reactive", 1e-12)
    else:  # the reactive rule needs one component per application: random scaling
        _compare(workload, config, "random", 1e-12)


@needs_numba
@pytest.mark.parametrize("faults", [False, True])
def test_moves_shifts_pool_and_failures_agree(faults: bool) -> None:
    workload = make_workload(n_apps=8, n_ticks=24, seed=5, noise=0.7)
    config = small_cluster(
        components_per_app=2,
        control_every_ticks=2,
        overcommit=(1.5, 1.0, 1.0, 1.0),
        faults=FaultConfig(enabled=faults, rate_per_host_h=2.0, repair_s=600.0),
        seed=3,
    )
    sim = _compare(workload, config, "random", 1e-12)
    assert sim.ledger.totals.migrations > 0


@needs_numba
def test_inactive_applications_agree() -> None:
    active = np.ones((10, 30), dtype=np.bool_)
    active[::3, 5:17] = False
    workload = make_workload(n_apps=10, n_ticks=30, seed=4, noise=0.8, active=active)
    _compare(workload, small_cluster(workload, overcommit=(2.0, 1.0, 1.0, 1.0)), "reactive", 0.0)


def test_jit_without_numba_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jit, "jit_available", lambda: False)
    with pytest.raises(ConfigError) as info:
        ClusterConfig(kernel=Kernel.JIT)
    assert info.value.key == "cluster.kernel"
    assert "pip install" in str(info.value)
    assert not jit.use_jit(Kernel.AUTO, "cluster.kernel")  # AUTO falls back to numpy
    workload = make_workload(n_apps=3, n_ticks=4)
    assert not Simulator(workload, small_cluster()).jit


def test_kernel_must_be_a_kernel_member() -> None:
    with pytest.raises(ConfigError) as info:
        ClusterConfig(kernel="jit")  # type: ignore[arg-type]
    assert info.value.key == "cluster.kernel"
    assert "AUTO, JIT, NUMPY" in str(info.value)
    with pytest.raises(ConfigError) as info:
        ReactiveConfig(kernel=1)  # type: ignore[arg-type]
    assert info.value.key == "reactive.kernel"


def test_importing_shadowsim_does_not_import_numba() -> None:
    code = (
        "import sys, shadowsim, shadowsim.sim, shadowsim.sim.simulator, shadowsim.sim.fused; "
        "print('numba' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
