"""The KPI kernel: throttling, drops, error rate, response time, SLA, both paths equal."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.sim.components import ComponentLayout
from shadowsim.sim.contention import ContentionResolver
from shadowsim.sim.kpis import KpiKernel, QueueConfig
from shadowsim.sim.ledger import IntervalSums


def _kernel(
    n_apps: int, alloc: np.ndarray, queue: QueueConfig, *, per_app: int = 1, sla_s: float = 1.0
) -> KpiKernel:
    priority = np.zeros(n_apps, dtype=np.int8)
    layout = ComponentLayout.build(priority, per_app, None)
    capacity = np.full((1, 4), 1e12)
    contention = ContentionResolver(capacity, priority[layout.component_app], 3)
    kernel = KpiKernel(
        queue, layout, 300.0, np.full(n_apps, sla_s), np.full(n_apps, 0.01), contention, 8
    )
    kernel.set_allocation(alloc, check_contention=False)
    return kernel


def test_single_vm_by_hand() -> None:
    alloc = np.array([[2.0, 1000.0, 100.0, 100.0]])
    queue = QueueConfig(request_cpu_s=0.01, buffer_s=60.0, max_utilisation=0.99, timeout_s=100.0)
    kernel = _kernel(1, alloc, queue)
    sums = IntervalSums.zeros(1, 1)
    demand = np.array([[[3.0, 1500.0, 50.0, 200.0]]])
    kernel.account(demand, None, None, sums)
    assert np.allclose(sums.served, [[2.0, 1000.0, 50.0, 100.0]])
    assert np.allclose(sums.throttled, [[0.4, 0.0, 0.0, 20.0]])  # 20 % of the allocation
    assert np.allclose(sums.dropped, [[0.6, 500.0, 0.0, 80.0]])  # memory beyond allocation fails
    survive = (1 - 0.6 / 3) * (1 - 500 / 1500) * (1 - 80 / 200)
    assert sums.lost_throughput[0] == pytest.approx(3.0 * (1 - survive) / 0.01)
    # M/M/1 at rho = 0.99: 0.01 / 2 / 0.01 = 0.5 s; backlog wait max(0.4, 20/100*... ) = 30 s
    assert sums.response_s[0] == pytest.approx(0.5 + 30.0)
    assert sums.violation_ticks[0] == 1
    assert sums.ticks == 1


def test_response_time_is_mm1_and_capped() -> None:
    alloc = np.array([[4.0, 1e6, 1e6, 1e6]])
    kernel = _kernel(1, alloc, QueueConfig(request_cpu_s=0.02, timeout_s=2.0))
    sums = IntervalSums.zeros(1, 1)
    kernel.account(np.array([[[2.0, 1.0, 1.0, 1.0]]]), None, None, sums)
    assert sums.response_s[0] == pytest.approx(0.02 / 4.0 / (1 - 0.5))
    assert sums.dropped.sum() == 0
    assert sums.lost_throughput[0] == 0
    kernel.set_allocation(np.array([[1e-6, 1e6, 1e6, 1e6]]), check_contention=False)
    kernel.account(np.array([[[2.0, 1.0, 1.0, 1.0]]]), None, None, sums)
    assert sums.response_s[0] == pytest.approx(0.01 + 2.0)  # second tick capped at timeout


def test_outage_service_factor_reduces_compressible_resources_only() -> None:
    alloc = np.array([[2.0, 1000.0, 100.0, 100.0]])
    kernel = _kernel(1, alloc, QueueConfig(buffer_s=0.0))
    sums = IntervalSums.zeros(1, 1)
    demand = np.array([[[2.0, 1000.0, 100.0, 100.0]]])
    kernel.account(demand, np.array([[0.5]]), None, sums)
    assert np.allclose(sums.served, [[1.0, 1000.0, 50.0, 50.0]])
    assert np.allclose(sums.dropped, [[1.0, 0.0, 50.0, 50.0]])


def test_inactive_ticks_never_violate() -> None:
    alloc = np.array([[1e-3, 1.0, 1.0, 1.0]])
    kernel = _kernel(1, alloc, QueueConfig())
    sums = IntervalSums.zeros(1, 1)
    demand = np.ones((2, 1, 4))
    kernel.account(demand, None, np.array([[False], [True]]), sums)
    assert sums.violation_ticks[0] == 1


@pytest.mark.parametrize("per_app", [1, 2])
def test_dense_and_sparse_paths_agree_exactly(per_app: int) -> None:
    rng = np.random.default_rng(3)
    n_apps = 40
    n_comp = n_apps * per_app
    alloc = rng.uniform(0.5, 2.0, (n_comp, 4))
    demand = rng.uniform(0.0, 2.5, (1, n_comp, 4))
    results = []
    for dense in (False, True):
        kernel = _kernel(n_apps, alloc, QueueConfig(), per_app=per_app, sla_s=0.02)
        kernel._dense = dense
        sums = IntervalSums.zeros(n_comp, n_apps)
        kernel.account(demand, None, None, sums)
        results.append(sums)
    sparse, dense_sums = results
    for name in ("demand", "served", "throttled", "dropped", "response_s", "lost_throughput"):
        a, b = getattr(sparse, name), getattr(dense_sums, name)
        if per_app == 1:
            assert np.array_equal(a, b), name
        else:
            assert np.allclose(a, b, rtol=1e-12, atol=1e-12), name
    assert np.array_equal(sparse.violation_ticks, dense_sums.violation_ticks)
    total = sparse.served + sparse.throttled + sparse.dropped
    assert np.allclose(total, sparse.demand, rtol=1e-12)


def test_blocks_of_ticks_match_tick_by_tick() -> None:
    rng = np.random.default_rng(5)
    alloc = rng.uniform(0.5, 2.0, (10, 4))
    demand = rng.uniform(0.0, 2.5, (6, 10, 4))
    block = IntervalSums.zeros(10, 10)
    one = IntervalSums.zeros(10, 10)
    _kernel(10, alloc, QueueConfig()).account(demand, None, None, block)
    kernel = _kernel(10, alloc, QueueConfig())
    for t in range(6):
        kernel.account(demand[t : t + 1], None, None, one)
    for name in ("demand", "served", "throttled", "dropped", "response_s", "lost_throughput"):
        assert np.allclose(getattr(block, name), getattr(one, name), rtol=1e-12), name
    assert np.array_equal(block.violation_ticks, one.violation_ticks)
    assert block.ticks == one.ticks == 6
