"""What the observation shows (:class:`ObservationConfig`) and the reference sizes it is
normalised by; the layout itself is documented in :mod:`shadowsim.engine.observation`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.engine.config_checks import (
    check_floats,
    check_int,
    check_ints,
    check_number,
    set_value,
)
from shadowsim.errors import ConfigError, ShadowSimError
from shadowsim.resources import N_RESOURCES

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class ObservationConfig:
    """What the observation shows (works with and without Hydra).

    Attributes:
        window: Ticks of recent demand in ``usage``, >= 1.
        forecast_leads: Strictly increasing leads in ticks (>= 1) shown in ``forecast``.
        quantiles: Forecast quantile levels, strictly increasing in (0, 1); must match the
            forecaster's.
        ref_quantile: Quantile of the warm-up demand used as the reference size, in (0, 1].
        ref_floor: Smallest reference size per resource (vCPU, MiB, KB/s, KB/s), > 0.
        kpi_clip: Upper clip of the response-time and error-rate ratios, > 0.
        value_clip: Upper clip of every quantity in reference units (usage, forecast,
            allocation, pending) and of the relative forecast error, > 0; the lower bound
            of the host headroom shares is ``-value_clip``.
    """

    window: int = 12
    forecast_leads: tuple[int, ...] = (1, 2, 3, 6, 12)
    quantiles: tuple[float, ...] = (0.5, 0.9)
    ref_quantile: float = 0.99
    ref_floor: tuple[float, ...] = (0.05, 64.0, 1.0, 1.0)
    kpi_clip: float = 100.0
    value_clip: float = 1000.0

    def __post_init__(self) -> None:
        set_value(self, "window", check_int("window", self.window, low=1))
        set_value(
            self,
            "forecast_leads",
            check_ints("forecast_leads", self.forecast_leads, low=1, increasing=True),
        )
        set_value(
            self,
            "quantiles",
            check_floats(
                "quantiles", self.quantiles, low=0.0, high=1.0, low_open=True, increasing=True
            ),
        )
        if self.quantiles[-1] >= 1.0:
            raise ConfigError("quantiles", f"levels must be < 1, got {self.quantiles}")
        set_value(
            self,
            "ref_quantile",
            check_number("ref_quantile", self.ref_quantile, low=0.0, high=1.0, low_open=True),
        )
        set_value(
            self,
            "ref_floor",
            check_floats("ref_floor", self.ref_floor, length=N_RESOURCES, low=0.0, low_open=True),
        )
        for key in ("kpi_clip", "value_clip"):
            number = check_number(key, getattr(self, key), low=0.0, low_open=True, high=1e30)
            set_value(self, key, number)

    @property
    def horizon(self) -> int:
        """Forecast ticks the builder needs: the longest lead."""
        return self.forecast_leads[-1]

    @property
    def median_index(self) -> int:
        """Index of the quantile closest to 0.5 (the point forecast)."""
        return int(np.argmin([abs(q - 0.5) for q in self.quantiles]))


def reference_sizes(history: F64, config: ObservationConfig) -> F64:
    """Per-application reference sizes from the demand observed before the episode.

    Args:
        history: ``(A, T, 4)`` demand before the episode start (T >= 1), units per resource.
        config: Gives the quantile and the floor.

    An application with no demand at all in ``history`` (not active yet: a VM that appears
    during the episode) has no size of its own to go by; it gets, per resource, the median
    reference of the applications that had demand (the typical size of this cluster's
    applications), so its observation and targets are not clipped at a tiny ``value_clip x
    ref_floor``. With no application active at all, every reference is ``ref_floor``.

    Returns:
        ``(A, 4)`` float64: the ``ref_quantile`` quantile over time, at least ``ref_floor``.

    Raises:
        ShadowSimError: ``history`` has the wrong shape or is not finite.
    """
    arr = np.asarray(history, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[2] != N_RESOURCES or arr.shape[1] == 0:
        raise ShadowSimError(
            f"warm-up history must have shape (n_apps, n_ticks >= 1, {N_RESOURCES}), "
            f"got {arr.shape}"
        )
    if not np.isfinite(arr).all():
        raise ShadowSimError("warm-up history contains NaN or infinite demand; fill gaps first")
    ref = np.quantile(arr, config.ref_quantile, axis=1)
    unseen = ~(arr > 0).any(axis=(1, 2))
    if unseen.any() and not unseen.all():
        ref[unseen] = np.median(ref[~unseen], axis=0)
    floor = np.asarray(config.ref_floor, dtype=np.float64)
    return np.maximum(ref, floor)


def check_quantiles_match(
    config: ObservationConfig, quantiles: Sequence[float], *, source: str
) -> None:
    """Refuse a forecast source whose quantile levels differ from the observation's.

    Raises:
        ConfigError: The levels differ (names ``engine.observation.quantiles``).
    """
    if tuple(float(q) for q in quantiles) != config.quantiles:
        raise ConfigError(
            "engine.observation.quantiles",
            f"is {config.quantiles} but {source} predicts {tuple(quantiles)}; make them equal",
        )
