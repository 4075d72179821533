"""Contention: high priority first, proportional within a class, vectorised over ticks."""

from __future__ import annotations

import numpy as np

from shadowsim.sim.contention import ContentionResolver


def _resolver(host_of: list[int], classes: list[int], cpu_cap: float = 10.0) -> ContentionResolver:
    capacity = np.array([[cpu_cap, 100.0, 100.0, 100.0]] * (max(host_of) + 1))
    resolver = ContentionResolver(capacity, np.array(classes, dtype=np.int8), 3)
    resolver.set_hosts(np.array(host_of, dtype=np.intp))
    return resolver


def test_high_priority_served_first_then_proportional() -> None:
    # host 0 cpu 10: HIGH wants 6, two MEDIUM want 3 + 3, LOW wants 4
    resolver = _resolver([0, 0, 0, 0], [2, 1, 1, 0])
    wanted = np.zeros((1, 4, 4))
    wanted[0, :, 0] = [6.0, 3.0, 3.0, 4.0]
    served = np.empty_like(wanted)
    assert resolver.serve(wanted, served)
    assert np.allclose(served[0, :, 0], [6.0, 2.0, 2.0, 0.0])
    assert np.array_equal(served[..., 1:], wanted[..., 1:])  # other resources uncontended


def test_uncontended_host_and_tick_pass_through() -> None:
    resolver = _resolver([0, 1, 1], [0, 0, 2])
    wanted = np.zeros((2, 3, 4))
    wanted[0, :, 0] = [9.0, 5.0, 5.0]  # host 1 wants 10 = capacity: fine
    wanted[1, :, 0] = [12.0, 1.0, 1.0]  # host 0 wants 12 > 10 in tick 1
    served = np.empty_like(wanted)
    assert resolver.serve(wanted, served)
    assert np.array_equal(served[0], wanted[0])
    assert np.allclose(served[1, :, 0], [10.0, 1.0, 1.0])
    host_sums = np.zeros((2, 2))
    np.add.at(host_sums, (slice(None), [0, 1, 1]), served[..., 0])
    assert (host_sums <= 10.0 + 1e-9).all()


def test_possible_only_when_allocations_exceed_capacity() -> None:
    resolver = _resolver([0, 0], [0, 1])
    alloc = np.array([[5.0, 10, 10, 10], [5.0, 10, 10, 10]])
    assert not resolver.possible(alloc)
    alloc[1, 0] = 6.0
    assert resolver.possible(alloc)
    wanted = np.ones((1, 2, 4))
    served = np.empty_like(wanted)
    assert not resolver.serve(wanted, served)
    assert np.array_equal(served, wanted)
