"""Rolling accuracy: agrees with a brute-force computation over the window."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.errors import ForecastError
from shadowsim.shadow.accuracy import RollingAccuracy, pinball_loss, point_index

QS = (0.1, 0.5, 0.9)


def _stream(n_ticks: int, n_apps: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    actual = rng.gamma(3.0, 1.0, size=(n_ticks, n_apps, 4)) * np.array([1, 1000, 50, 20])
    centre = actual * rng.normal(1.0, 0.2, size=actual.shape)
    spread = np.array([-1.0, 0.0, 1.0]) * 0.3 * np.abs(centre[..., None])
    return np.maximum(centre[..., None] + spread, 0.0), actual


def _brute(fc: np.ndarray, actual: np.ndarray, mask: np.ndarray) -> dict[str, np.ndarray]:
    """Metrics over the given ticks, per app, from scratch (masked ticks skipped)."""
    w = mask.astype(float)[..., None]  # (T, A, 1)
    n = w.sum(axis=0)
    err = actual - fc[..., 1]
    q = np.array(QS)
    diff = actual[..., None] - fc
    pin = np.maximum(q * diff, (q - 1) * diff)
    return {
        "mae": (np.abs(err) * w).sum(0) / n,
        "rmse": np.sqrt((err**2 * w).sum(0) / n),
        "pinball": (pin * w[..., None]).sum(0) / n[..., None],
        "coverage": ((actual[..., None] <= fc) * w[..., None]).sum(0) / n[..., None],
        "mean_actual": (actual * w).sum(0) / n,
    }


def test_matches_brute_force_after_wrapping() -> None:
    window, n_apps, n_ticks = 20, 5, 73
    fc, actual = _stream(n_ticks, n_apps, seed=1)
    mask = np.random.default_rng(2).random((n_ticks, n_apps)) > 0.2
    acc = RollingAccuracy(n_apps, QS, window)
    for t in range(n_ticks):
        acc.update(fc[t], actual[t], mask[t])
    rep = acc.report()
    want = _brute(fc[-window:], actual[-window:], mask[-window:])
    np.testing.assert_array_equal(rep.n, mask[-window:].sum(axis=0))
    for key, value in want.items():
        np.testing.assert_allclose(getattr(rep, key), value, rtol=1e-9, err_msg=key)
    np.testing.assert_allclose(rep.coverage_at(0.9), want["coverage"][..., 2])
    np.testing.assert_allclose(rep.relative_mae, want["mae"] / want["mean_actual"])


def test_partial_window_and_reset() -> None:
    fc, actual = _stream(5, 3, seed=3)
    acc = RollingAccuracy(3, QS, 10)
    assert np.isnan(acc.report().mae).all()
    for t in range(5):
        acc.update(fc[t], actual[t])
    want = _brute(fc, actual, np.ones((5, 3), dtype=bool))
    np.testing.assert_allclose(acc.report().mae, want["mae"])
    acc.reset(np.array([True, False, False]))
    rep = acc.report()
    assert rep.n.tolist() == [0, 5, 5]
    assert np.isnan(rep.mae[0]).all()
    np.testing.assert_allclose(rep.mae[1:], want["mae"][1:])


def test_coverage_of_a_calibrated_p90() -> None:
    rng = np.random.default_rng(4)
    acc = RollingAccuracy(200, (0.5, 0.9), 500)
    p90 = 10.0 + 1.2815515655446004  # N(10, 1) quantiles
    fc = np.broadcast_to(np.array([10.0, p90]), (200, 4, 2)).copy()
    for _ in range(500):
        acc.update(fc, rng.normal(10.0, 1.0, size=(200, 4)))
    cov = acc.report().coverage_at(0.9)
    assert abs(cov.mean() - 0.9) < 0.005
    with pytest.raises(ForecastError, match=r"no quantile 0\.95"):
        acc.report().coverage_at(0.95)


def test_pinball_and_point_index() -> None:
    loss = pinball_loss(np.array([10.0]), np.array([[8.0, 12.0]]), (0.5, 0.9))
    np.testing.assert_allclose(loss, [[1.0, 0.2]])
    assert point_index((0.1, 0.5, 0.9)) == 1
    assert point_index((0.9,)) == 0


def test_bad_inputs() -> None:
    acc = RollingAccuracy(2, QS, 4)
    with pytest.raises(ForecastError, match="forecast must have shape"):
        acc.update(np.zeros((2, 4, 2)), np.zeros((2, 4)))
    bad = np.zeros((2, 4, 3))
    bad[1, 0, 0] = np.nan
    with pytest.raises(ForecastError, match="application 1 is not finite"):
        acc.update(bad, np.zeros((2, 4)))
    with pytest.raises(ForecastError, match="window"):
        RollingAccuracy(2, QS, 0)
