"""Small synthetic demand series shared by the shadow forecaster tests (not a conftest)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def seasonal_series(
    n_apps: int, n_ticks: int, period: int, *, noise: float = 0.05, seed: int = 0
) -> NDArray[np.float64]:
    """``(n_apps, n_ticks, 4)`` positive demand: per-app level x (1 + 0.5 sin) + noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_ticks)
    level = rng.uniform(1.0, 100.0, size=(n_apps, 1, 4))
    phase = rng.uniform(0, 2 * np.pi, size=(n_apps, 1, 4))
    wave = 1.0 + 0.5 * np.sin(2 * np.pi * t[None, :, None] / period + phase)
    eps = 1.0 + noise * rng.standard_normal((n_apps, n_ticks, 4))
    out: NDArray[np.float64] = np.maximum(level * wave * eps, 0.0)
    return out
