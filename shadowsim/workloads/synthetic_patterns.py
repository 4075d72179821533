"""Vectorised pattern generators the synthetic workload is composed of.

Every function works on all applications at once and returns ``(n_apps, n_ticks)`` arrays
(or ``(n_ticks,)`` for patterns shared by all applications); nothing loops over applications
or ticks in Python. Randomness always comes from a passed :class:`numpy.random.Generator`, so
results are fixed by the caller's seed.

Per-tick ``(n_apps, n_ticks)`` patterns are float32: their 7 significant digits are plenty for
demand, and they halve the memory traffic that dominates generation time.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
DAY_S = 86_400.0
"""Seconds per day."""
WEEK_S = 7 * DAY_S
"""Seconds per week."""
_EPOCH_WEEKDAY = 3
"""1970-01-01 (Unix time 0) was a Thursday: 3 days after Monday."""


def hour_of_day(time_s: F64) -> F64:
    """UTC hour of day in ``[0, 24)`` of Unix times ``time_s`` (s)."""
    return np.asarray(np.mod(time_s, DAY_S) / 3600.0, dtype=np.float64)


def day_of_week(time_s: F64) -> F64:
    """Continuous days since Monday 00:00 UTC, in ``[0, 7)``, of Unix times ``time_s`` (s)."""
    return np.asarray(np.mod(time_s / DAY_S + _EPOCH_WEEKDAY, 7.0), dtype=np.float64)


def daily_bump(hour: F64, peak_hour: F64, sharpness: F64) -> F32:
    """A daily peak per application: ``exp(kappa * (cos(2 pi (h - peak) / 24) - 1))``.

    Args:
        hour: ``(n_ticks,)`` UTC hour of each tick.
        peak_hour: ``(n_apps,)`` hour of each application's peak.
        sharpness: ``(n_apps,)`` von Mises concentration ``kappa`` >= 0; near 0 gives a
            sine-like day, large values a narrow window around the peak.

    Returns:
        ``(n_apps, n_ticks)`` float32 values in ``[exp(-2 kappa), 1]``, 1 at the peak hour.
    """
    w = hour * (2.0 * np.pi / 24.0)
    p = peak_hour * (2.0 * np.pi / 24.0)
    # cos(w - p) = cos w cos p + sin w sin p, as two outer products (no (n, T) cosine);
    # kappa (cos(w - p) - 1) is computed as kappa cos(w - p) - kappa.
    k = sharpness[:, None]
    out = np.multiply((k * np.cos(p)[:, None]).astype(np.float32), np.cos(w).astype(np.float32))
    out += (k * np.sin(p)[:, None]).astype(np.float32) * np.sin(w).astype(np.float32)
    out -= k.astype(np.float32)
    np.exp(out, out=out)
    return out


def daily_bump_at(time_s: F64, interval_s: float, peak_hour: F64, sharpness: F64) -> F32:
    """:func:`daily_bump` at Unix times ``time_s`` (s) of a regular grid of ``interval_s``.

    When a day is a whole number ``P`` of ticks, the bump is computed on the first ``P``
    ticks only and repeated (a gather instead of an ``(n_apps, n_ticks)`` exponential).

    Args:
        time_s: ``(n_ticks,)`` Unix times, s, spaced ``interval_s`` apart.
        interval_s: Tick length, s.
        peak_hour: ``(n_apps,)`` UTC hour of each application's peak.
        sharpness: ``(n_apps,)`` von Mises concentration.

    Returns:
        ``(n_apps, n_ticks)`` float32 bump values.
    """
    ticks_per_day = DAY_S / interval_s
    period = round(ticks_per_day)
    n_ticks = time_s.shape[0]
    if period != ticks_per_day or period >= n_ticks:
        return daily_bump(hour_of_day(time_s), peak_hour, sharpness)
    one_day = daily_bump(hour_of_day(time_s[:period]), peak_hour, sharpness)
    return np.take(one_day, np.arange(n_ticks) % period, axis=1)


def weekend_indicator(days_since_monday: F64, ramp_days: float = 0.05) -> F64:
    """Smooth indicator of Saturday and Sunday: 1 on the weekend, 0 on weekdays.

    The edges at Saturday 00:00 and Monday 00:00 are logistic ramps of scale ``ramp_days``,
    and the function is continuous across the week boundary.

    Args:
        days_since_monday: ``(n_ticks,)`` values in ``[0, 7)`` (see :func:`day_of_week`).
        ramp_days: Width scale of the edges, days.

    Returns:
        ``(n_ticks,)`` values in ``[0, 1]``.
    """
    d = days_since_monday

    def rise(edge: float) -> F64:
        return np.asarray(0.5 * (1.0 + np.tanh((d - edge) / (2.0 * ramp_days))), np.float64)

    # This week's weekend (Sat 00:00 to Mon 00:00) plus the tail of the previous one.
    return rise(5.0) - rise(7.0) + rise(-2.0) - rise(0.0)


def ar1_noise(rng: np.random.Generator, phi: F64, n_ticks: int) -> F32:
    """Stationary Gaussian noise with the spectrum of an AR(1) process, unit variance.

    Synthesised in the frequency domain (one inverse real FFT for all applications): the
    process is circular, i.e. its last tick is correlated with its first, which is harmless
    for noise and avoids a per-tick recursion. Lag-k autocorrelation is about ``phi**k``.

    Args:
        rng: Source of randomness.
        phi: ``(n_apps,)`` lag-1 autocorrelations in ``[0, 1)``.
        n_ticks: Length of each series.

    Returns:
        ``(n_apps, n_ticks)`` float32 noise with mean 0 and variance 1 in expectation.
    """
    n_freq = n_ticks // 2 + 1
    cos_w = np.cos(2.0 * np.pi * np.arange(n_freq) / n_ticks).astype(np.float32)
    # AR(1) power spectrum for unit innovations: 1 / (1 + phi^2 - 2 phi cos w).
    power = np.multiply.outer((-2.0 * phi).astype(np.float32), cos_w)
    power += (1.0 + phi**2).astype(np.float32)[:, None]
    np.reciprocal(power, out=power)
    # Each interior bin appears twice in the full spectrum with E|X|^2 = 2 S; irfft keeps
    # only the real part of the DC (and, for even n_ticks, the Nyquist) bin: E|X|^2 = S.
    weight = np.full(n_freq, 4.0)
    weight[0] = 1.0
    if n_ticks % 2 == 0:
        weight[-1] = 1.0
    std = np.sqrt(power.astype(np.float64) @ weight) / n_ticks
    amp = np.sqrt(power, out=power)
    amp /= std.astype(np.float32)[:, None]
    z = rng.standard_normal((phi.shape[0], n_freq, 2), dtype=np.float32)
    spec = z.view(np.complex64)[..., 0]  # (re, im) pairs as complex numbers, no copy
    spec *= amp
    return np.asarray(np.fft.irfft(spec, n=n_ticks, axis=1), dtype=np.float32)


def poisson_ticks(
    rng: np.random.Generator, rate_per_tick: F64, n_ticks: int
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """Event times of independent Poisson processes, one per application.

    Args:
        rng: Source of randomness.
        rate_per_tick: ``(n_apps,)`` mean events per tick, >= 0.
        n_ticks: Length of the series.

    Returns:
        ``(apps, ticks)``: application index and tick of every event, ordered by application.
    """
    counts = rng.poisson(rate_per_tick * n_ticks)
    apps = np.repeat(np.arange(rate_per_tick.shape[0], dtype=np.intp), counts)
    ticks = rng.integers(0, n_ticks, size=apps.shape[0]).astype(np.intp)
    return apps, ticks


def level_shifts(
    shape: tuple[int, int], apps: NDArray[np.intp], ticks: NDArray[np.intp], steps: F64
) -> F32:
    """Piecewise-constant levels that jump by ``steps`` at the given events and stay there.

    Args:
        shape: ``(n_apps, n_ticks)``.
        apps: Application index of each shift.
        ticks: Tick from which each shift applies.
        steps: Size of each shift.

    Returns:
        ``(n_apps, n_ticks)`` float32 cumulative level, 0 before an application's first shift.
    """
    increments = np.zeros(shape, dtype=np.float32)
    np.add.at(increments, (apps, ticks), steps)
    return np.cumsum(increments, axis=1, out=increments)


def pulses(
    shape: tuple[int, int],
    apps: NDArray[np.intp],
    ticks: NDArray[np.intp],
    height: F64,
    rise_ticks: NDArray[np.intp],
    decay_ticks: F64,
) -> F32:
    """A sum of pulses: a linear ramp to ``height`` then an exponential decay.

    A pulse starting at tick ``t0`` is ``height * (o + 1) / (r + 1)`` at offset ``o < r`` and
    ``height * exp(-(o - r) / tau)`` from ``o = r`` on; it is cut after ``r + 6 tau`` ticks
    (below 0.25% of its height) and at the end of the series. Overlapping pulses add up.

    Args:
        shape: ``(n_apps, n_ticks)``.
        apps: Application index of each pulse.
        ticks: Start tick of each pulse.
        height: Peak value of each pulse.
        rise_ticks: Ramp length ``r`` of each pulse, ticks (0 = instant peak).
        decay_ticks: Decay time ``tau`` of each pulse, ticks, > 0.

    Returns:
        ``(n_apps, n_ticks)`` float32 sum of all pulses (zeros where there are none).
    """
    n_apps, n_ticks = shape
    if apps.shape[0] == 0:
        return np.zeros(shape, dtype=np.float32)
    length = rise_ticks + np.ceil(6.0 * decay_ticks).astype(np.intp) + 1
    length = np.minimum(length, n_ticks - ticks)  # cut at the end of the series
    # One row per (pulse, offset) pair inside the pulse, without a rectangular grid.
    pulse = np.repeat(np.arange(apps.shape[0], dtype=np.intp), length)
    first = np.cumsum(length) - length
    offset = np.arange(pulse.shape[0], dtype=np.intp) - np.repeat(first, length)
    rise = rise_ticks[pulse]
    value = np.where(
        offset < rise,
        (offset + 1.0) / (rise + 1.0),
        np.exp(-np.maximum(offset - rise, 0) / decay_ticks[pulse]),
    )
    value *= height[pulse]
    flat = apps[pulse] * n_ticks + ticks[pulse] + offset
    total = np.bincount(flat, weights=value, minlength=n_apps * n_ticks)
    return total.astype(np.float32).reshape(shape)
