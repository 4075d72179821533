"""The bounded demand history behind the shadow service."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.errors import ForecastError
from shadowsim.shadow.demand_history import DemandHistory


def test_keeps_the_last_ticks_across_compactions() -> None:
    rng = np.random.default_rng(0)
    stream = rng.random((2, 50, 4))
    hist = DemandHistory(2, capacity=7, interval_s=60.0)
    hist.reset(stream[:, :3], start_s=1000.0)
    assert hist.next_s == 1000.0 + 3 * 60.0
    for k in range(3, 50):
        hist.append(stream[:, k])
        recent, start = hist.recent()
        lo = max(0, k + 1 - 7)
        np.testing.assert_array_equal(recent, stream[:, lo : k + 1])
        assert start == 1000.0 + lo * 60.0
    last3, start3 = hist.recent(3)
    np.testing.assert_array_equal(last3, stream[:, 47:50])
    assert start3 == 1000.0 + 47 * 60.0
    assert hist.next_s == 1000.0 + 50 * 60.0
    with pytest.raises(ValueError, match="read-only"):
        last3[0, 0, 0] = 1.0


def test_reset_keeps_only_capacity() -> None:
    hist = DemandHistory(1, capacity=4, interval_s=300.0)
    hist.reset(np.arange(40.0).reshape(1, 10, 4), start_s=0.0)
    recent, start = hist.recent()
    assert recent.shape == (1, 4, 4)
    assert start == 6 * 300.0
    assert recent[0, 0, 0] == 24.0


def test_shape_errors() -> None:
    hist = DemandHistory(2, capacity=4, interval_s=300.0)
    with pytest.raises(ForecastError, match=r"actual demand must have shape \(2, 4\)"):
        hist.append(np.zeros((3, 4)))
    with pytest.raises(ForecastError, match="history must have shape"):
        hist.reset(np.zeros((3, 5, 4)), 0.0)
