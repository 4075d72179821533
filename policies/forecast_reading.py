"""Reading the observation's forecast: one quantile level, and the worst case over a span of leads.

The observation's ``forecast`` is ``(A, L, 4, Q)``: demand quantiles (ref units) at the env's
``forecast_leads`` (ticks after now) and ``quantiles`` (increasing levels). Policies ask for
any level ``q`` and any span of leads; this module answers from what the observation holds:

* a level between two provided levels is interpolated linearly; a level outside them is
  extrapolated along the normal distribution from the two nearest levels (the spread per unit
  of standard-normal z-score is assumed constant), floored at 0;
* a span ``[first, last]`` of leads takes the maximum over the provided leads inside it; when
  none lies inside, the nearest provided lead at or after ``first`` (else the last one) stands in;
* needs after the span set a ramp floor when the allocation may grow only so fast per tick.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError

_NORMAL = NormalDist()


def quantile_level(
    forecast: NDArray[np.float64], quantiles: Sequence[float], q: float
) -> NDArray[np.float64]:
    """The forecast at quantile level ``q``.

    Args:
        forecast: ``(A, L, 4, Q)`` forecast quantiles, ref units.
        quantiles: The ``Q`` increasing levels of the last axis, each in (0, 1).
        q: Wanted level in (0, 1).

    Returns:
        ``(A, L, 4)`` the forecast at level ``q`` (>= 0).

    Raises:
        ConfigError: ``q`` is outside (0, 1) or ``quantiles`` does not match the last axis.
    """
    levels = np.asarray(quantiles, dtype=np.float64)
    if not 0.0 < q < 1.0:
        raise ConfigError("policy.quantile", f"must be a level in (0, 1), got {q}")
    if levels.ndim != 1 or len(levels) != forecast.shape[-1]:
        raise ConfigError(
            "env.engine.observation.quantiles",
            f"{len(levels)} levels {tuple(levels)} do not match the forecast's last axis of "
            f"{forecast.shape[-1]}",
        )
    hit = np.flatnonzero(np.isclose(levels, q))
    if hit.size:
        return np.maximum(forecast[..., int(hit[0])], 0.0)
    if len(levels) == 1:
        return np.maximum(forecast[..., 0], 0.0)
    if levels[0] < q < levels[-1]:
        hi = int(np.searchsorted(levels, q))
        lo = hi - 1
        w = (q - levels[lo]) / (levels[hi] - levels[lo])
        out = (1.0 - w) * forecast[..., lo] + w * forecast[..., hi]
        return np.asarray(np.maximum(out, 0.0))
    lo, hi = (0, 1) if q < levels[0] else (len(levels) - 2, len(levels) - 1)
    z_lo, z_hi, z_q = (_NORMAL.inv_cdf(float(x)) for x in (levels[lo], levels[hi], q))
    per_z = (forecast[..., hi] - forecast[..., lo]) / (z_hi - z_lo)
    out = forecast[..., hi] + per_z * (z_q - z_hi)
    return np.maximum(out, 0.0)


def lead_span_max(
    values: NDArray[np.float64], leads: Sequence[int], first: int, last: int
) -> NDArray[np.float64]:
    """The maximum over the leads ``first <= lead <= last`` (ticks after now).

    Args:
        values: ``(A, L, 4)`` one value per app, lead and resource.
        leads: The ``L`` lead ticks of the second axis, increasing.
        first: First lead of the span (ticks).
        last: Last lead of the span (ticks), >= ``first``.

    Returns:
        ``(A, 4)``; when no provided lead lies in the span, the nearest lead at or after
        ``first`` stands in (or the last lead when all are earlier).
    """
    lead_arr = np.asarray(leads, dtype=np.int64)
    inside = np.flatnonzero((lead_arr >= first) & (lead_arr <= max(first, last)))
    if inside.size:
        return np.asarray(values[:, inside].max(axis=1))
    after = np.flatnonzero(lead_arr >= first)
    idx = int(after[0]) if after.size else len(lead_arr) - 1
    return np.asarray(values[:, idx])


def ramp_floor(
    values: NDArray[np.float64], leads: Sequence[int], last: int, factor: float
) -> NDArray[np.float64]:
    """The allocation needed now so that, growing at most ``factor`` per tick, it still
    reaches every need after the span in time: ``max over lead > last of value / factor **
    (lead - last)``.

    Args:
        values: ``(A, L, 4)`` one value per app, lead and resource.
        leads: The ``L`` lead ticks of the second axis.
        last: Last lead of the span the decision covers (ticks).
        factor: The guardrails' largest growth per tick (> 1; ``inf``: no floor needed).

    Returns:
        ``(A, 4)``, zeros when no lead lies after the span or ``factor`` is infinite.
    """
    floor = np.zeros((values.shape[0], values.shape[2]))
    if math.isfinite(factor):
        for j, lead in enumerate(leads):
            if lead > last:
                np.maximum(floor, values[:, j] / factor ** (lead - last), out=floor)
    return floor


def leads_covering(
    latency_ticks: float, span_ticks: int = 1, *, on_tick_boundary: bool = True
) -> tuple[int, int]:
    """The span of leads a decision taken now must cover.

    Lead ``l`` is the tick that ends ``l`` ticks after now. A scaling decision stays in force
    until the decision taken ``span_ticks`` later lands.

    * ``on_tick_boundary`` (the simulator): a change lands at the first tick boundary at or
      after now + latency, i.e. ``ceil(latency)`` ticks from now, so the decision covers leads
      ``ceil(latency) + 1`` through ``ceil(latency) + span_ticks``;
    * otherwise (a live cluster, where a change lands mid-tick) it touches leads
      ``floor(latency) + 1`` through ``ceil(latency) + span_ticks``.

    Args:
        latency_ticks: Actuation latency of scaling, in ticks (may be fractional, >= 0).
        span_ticks: Ticks until the next decision lands (1 for a decision every tick).
        on_tick_boundary: Whether changes land on tick boundaries.

    Returns:
        ``(first, last)`` leads, inclusive.
    """
    landing = int(np.ceil(latency_ticks - 1e-9))
    first = landing + 1 if on_tick_boundary else int(np.floor(latency_ticks)) + 1
    last = landing + max(1, span_ticks)
    return first, max(first, last)
