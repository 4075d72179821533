"""Simulator.fast_forward(n) ends where n advance() calls end, with the same last snapshot."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from shadowsim.actions import ScaleAllAction
from shadowsim.errors import BackendError
from shadowsim.sim.faults import FaultConfig
from shadowsim.sim.jit import Kernel, jit_available
from shadowsim.sim.simulator import Simulator

from .sim_fixtures import make_workload, small_cluster

KERNELS = [Kernel.NUMPY] + ([Kernel.JIT] if jit_available() else [])


def _same_state(got: object, expected: object) -> None:
    for field in dataclasses.fields(expected):  # type: ignore[arg-type]
        a, b = getattr(got, field.name), getattr(expected, field.name)
        if field.name == "cost_total":  # running totals: summed in another order
            for x, y in zip(dataclasses.astuple(a), dataclasses.astuple(b), strict=True):
                assert x == pytest.approx(y, rel=1e-12)
        elif dataclasses.is_dataclass(b):
            _same_state(a, b)
        elif isinstance(b, np.ndarray):
            np.testing.assert_array_equal(a, b, err_msg=field.name)
        else:
            assert a == b, field.name


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("per_app", [1, 2])
def test_fast_forward_equals_the_advance_loop(kernel: Kernel, per_app: int) -> None:
    workload = make_workload(n_apps=9, n_ticks=200, seed=3)
    config = small_cluster(workload, components_per_app=per_app, kernel=kernel, max_block_ticks=16)
    loop, fast = Simulator(workload, config), Simulator(workload, config)
    for sim in (loop, fast):  # in-flight scaling lands during the skipped ticks
        sim.apply([ScaleAllAction(targets=np.full((9, 4), np.nan))])
        grow = np.full((9, 4), np.nan)
        grow[:, 0] = 2.5
        sim.apply([ScaleAllAction(targets=grow)])
    for _ in range(150):
        expected = loop.advance()
    got = fast.fast_forward(150)
    assert fast.tick == loop.tick == 150
    _same_state(got, expected)
    _same_state(fast.observe(), loop.observe())
    for _ in range(5):  # and they go on in step
        _same_state(fast.advance(), loop.advance())
    totals_fast, totals_loop = fast.ledger.totals, loop.ledger.totals
    assert totals_fast.ticks == totals_loop.ticks
    np.testing.assert_array_equal(totals_fast.violation_ticks, totals_loop.violation_ticks)
    np.testing.assert_allclose(totals_fast.demand, totals_loop.demand, rtol=1e-12)


def test_fast_forward_of_one_tick_is_advance_and_errors_are_clear() -> None:
    workload = make_workload(n_ticks=10)
    a, b = Simulator(workload, small_cluster()), Simulator(workload, small_cluster())
    _same_state(a.fast_forward(1), b.advance())
    with pytest.raises(BackendError, match="positive number of ticks"):
        a.fast_forward(0)
    with pytest.raises(BackendError, match="workload ended"):
        a.fast_forward(20)


def test_fast_forward_with_failures_is_the_loop() -> None:
    workload = make_workload(n_ticks=120)
    faults = FaultConfig(enabled=True, rate_per_host_h=1.0, repair_s=900.0)
    config = small_cluster(faults=faults, seed=4)
    loop, fast = Simulator(workload, config), Simulator(workload, config)
    for _ in range(100):
        expected = loop.advance()
    _same_state(fast.fast_forward(100), expected)
    assert fast.events == loop.events
    assert any(event.kind.name == "HOST_FAILED" for event in loop.events)
