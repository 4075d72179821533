"""The guardrail rules as compiled kernels (numba), for :mod:`shadowsim.engine.fused.guardrails`.

:func:`apply_rules` runs every rule of :mod:`shadowsim.engine.guardrails` in order, with the
reference's arithmetic (see :class:`~shadowsim.engine.fused.guardrails.FusedGuardrails`).

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.engine.guardrails import GuardrailRule
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.jit import njit

F64 = NDArray[np.float64]

RULE_NAMES = tuple(str(rule.name) for rule in GuardrailRule)
_NOT_FINITE = np.uint8(GuardrailRule.NOT_FINITE)
_STABILISATION = np.uint8(GuardrailRule.STABILISATION)
_COOLDOWN = np.uint8(GuardrailRule.COOLDOWN)
_MAX_CHANGE = np.uint8(GuardrailRule.MAX_CHANGE)
_BOUND_LOW = np.uint8(GuardrailRule.BOUND_LOW)
_BOUND_HIGH = np.uint8(GuardrailRule.BOUND_HIGH)
_CAPACITY = np.uint8(GuardrailRule.CAPACITY)
_DEADBAND = np.uint8(GuardrailRule.DEADBAND)
# counts[k] counts the entries rule bit k changed (GuardrailRule order)
# params: time_s, cooldown_s (0 = off), max_change_factor (inf = off), deadband (0 = off),
# host_capacity_share, respect_host_capacity (0/1)
TIME, _COOL, _FACTOR, _DEAD, _SHARE, RESPECT = range(6)


@njit
def _entry_rules(  # pragma: no cover - compiled
    requested: F64,
    pending: F64,
    window: F64,
    slot: int,
    n_rows: int,
    last_up: F64,
    lower: F64,
    upper: F64,
    params: F64,
    target: F64,
    flags: NDArray[np.uint8],
    counts: NDArray[np.int64],
) -> None:
    """Rules 1-5 (not finite, stabilisation, cooldown, max change, bounds), entry by entry."""
    n_apps = requested.shape[0]
    since = params[TIME] - params[_COOL]
    cooldown = params[_COOL] > 0.0
    factor = params[_FACTOR]
    limit = factor < np.inf
    inv_factor = 1.0 / factor
    for a in range(n_apps):
        for r in range(N_RESOURCES):
            p = pending[a, r]
            t = requested[a, r]
            f = np.uint8(0)
            if not np.isfinite(t):
                t = p
                f |= _NOT_FINITE
                counts[0] += 1
            if n_rows > 0:
                window[slot, a, r] = t
                recent = window[0, a, r]
                for k in range(1, n_rows):
                    v = window[k, a, r]
                    if v > recent or np.isnan(v):
                        recent = v
                floor = recent if recent < p or np.isnan(recent) else p
                if t < floor:
                    t = floor
                    f |= _STABILISATION
                    counts[1] += 1
            if cooldown and t < p and last_up[a, r] > since:
                t = p
                f |= _COOLDOWN
                counts[2] += 1
            if limit:
                low = p * inv_factor
                if t < low:
                    t = low
                    f |= _MAX_CHANGE
                    counts[3] += 1
                high = p * factor
                if t > high:
                    t = high
                    f |= _MAX_CHANGE
                    counts[3] += 1
            if t < lower[a, r]:
                t = lower[a, r]
                f |= _BOUND_LOW
                counts[4] += 1
            if t > upper[a, r]:
                t = upper[a, r]
                f |= _BOUND_HIGH
                counts[5] += 1
            target[a, r] = t
            flags[a, r] = f


@njit
def _capacity(  # pragma: no cover - compiled
    target: F64,
    pending: F64,
    comp_pending: F64,
    comp_alloc: F64,
    host_of: NDArray[np.intp],
    host_capacity: F64,
    host_allocated: F64,
    host_apps: NDArray[np.int64],
    host_shares: F64,
    rank: NDArray[np.int64],
    share: float,
    flags: NDArray[np.uint8],
    counts: NDArray[np.int64],
) -> None:
    """Rule 6: cut increases to the free host capacity, HIGH priority first, pro rata.

    ``host_apps`` (rows ``(host, app)``) and ``host_shares`` list the non-zero entries of
    the ``(H, A)`` host matrix in row-major order, so the sums over applications (and over
    hosts) run in the reference's order and skip only the zeros it adds.
    """
    n_apps = target.shape[0]
    n_hosts = host_capacity.shape[0]
    increase = np.empty((n_apps, N_RESOURCES))
    anything = False
    for a in range(n_apps):
        for r in range(N_RESOURCES):
            d = target[a, r] - pending[a, r]
            if d < 0.0:  # as np.maximum(d, 0.0): NaN stays NaN
                d = 0.0
            increase[a, r] = d
            if d != 0.0:
                anything = True
    if not anything:
        return
    room = np.zeros((n_hosts, N_RESOURCES))
    for c in range(host_of.shape[0]):  # in-flight increases per host, as np.bincount
        h = host_of[c]
        for r in range(N_RESOURCES):
            d = comp_pending[c, r] - comp_alloc[c, r]
            room[h, r] += d if d > 0.0 or np.isnan(d) else 0.0
    for h in range(n_hosts):
        for r in range(N_RESOURCES):
            free = share * host_capacity[h, r]
            free -= host_allocated[h, r]
            free -= room[h, r]
            room[h, r] = free if free > 0.0 or np.isnan(free) else 0.0
    n_ranks = 3
    total = np.zeros((n_hosts, N_RESOURCES))
    want = np.zeros((n_ranks, n_hosts, N_RESOURCES))
    for e in range(host_apps.shape[0]):
        h, a = host_apps[e, 0], host_apps[e, 1]
        m = host_shares[e]
        k = rank[a]
        for r in range(N_RESOURCES):
            x = m * increase[a, r]
            total[h, r] += x
            want[k, h, r] += x
    fits = True
    for h in range(n_hosts):
        for r in range(N_RESOURCES):
            if not total[h, r] <= room[h, r] + 1e-9:
                fits = False
    if fits:
        return
    ratio = np.empty((n_ranks, n_hosts, N_RESOURCES))
    for h in range(n_hosts):
        for r in range(N_RESOURCES):
            cumulative = 0.0
            for k in range(n_ranks):
                w = want[k, h, r]
                cumulative = cumulative + w if k > 0 else w
                left = room[h, r] - (cumulative - w)
                q = left / w if (w > left and w > 0.0) else 1.0
                if q < 0.0:
                    q = 0.0
                elif q > 1.0:
                    q = 1.0
                ratio[k, h, r] = q
    granted = np.zeros((n_apps, N_RESOURCES))
    for e in range(host_apps.shape[0]):  # per app, in host order: the order of the matmul
        h, a = host_apps[e, 0], host_apps[e, 1]
        m = host_shares[e]
        k = rank[a]
        for r in range(N_RESOURCES):
            granted[a, r] += m * ratio[k, h, r]
    n_cut = 0
    for a in range(n_apps):
        for r in range(N_RESOURCES):
            inc = increase[a, r]
            g = granted[a, r] * inc
            if g < inc * (1.0 - 1e-9) - 1e-12:
                target[a, r] = pending[a, r] + g
                flags[a, r] |= _CAPACITY
                n_cut += 1
    counts[6] = n_cut


@njit
def _finish(  # pragma: no cover - compiled
    target: F64,
    pending: F64,
    last_up: F64,
    params: F64,
    flags: NDArray[np.uint8],
    counts: NDArray[np.int64],
    changes: F64,
) -> int:
    """Rule 7 (deadband), the scale-up times, and the changes to send; returns their number."""
    n_apps = target.shape[0]
    deadband = params[_DEAD]
    now = params[TIME]
    n_changed = 0
    for a in range(n_apps):
        for r in range(N_RESOURCES):
            t = target[a, r]
            p = pending[a, r]
            if deadband > 0.0 and abs(t - p) < deadband * p and t != p:
                t = p
                target[a, r] = t
                flags[a, r] |= _DEADBAND
                counts[7] += 1
            if t > p:
                last_up[a, r] = now
            if t != p:
                changes[a, r] = t
                n_changed += 1
            else:
                changes[a, r] = np.nan
    return n_changed


@njit
def apply_rules(  # pragma: no cover - compiled
    requested: F64,
    pending: F64,
    window: F64,
    slot: int,
    n_rows: int,
    last_up: F64,
    lower: F64,
    upper: F64,
    params: F64,
    comp_pending: F64,
    comp_alloc: F64,
    host_of: NDArray[np.intp],
    host_capacity: F64,
    host_allocated: F64,
    host_apps: NDArray[np.int64],
    host_shares: F64,
    rank: NDArray[np.int64],
    target: F64,
    flags: NDArray[np.uint8],
    counts: NDArray[np.int64],
    changes: F64,
) -> tuple[int, int]:
    """Every rule in order; fills ``target``, ``flags``, ``counts``, ``changes``.

    Returns the number of changes to send and the number of rule applications counted.
    """
    _entry_rules(
        requested,
        pending,
        window,
        slot,
        n_rows,
        last_up,
        lower,
        upper,
        params,
        target,
        flags,
        counts,
    )
    if params[RESPECT] > 0.0:
        _capacity(
            target,
            pending,
            comp_pending,
            comp_alloc,
            host_of,
            host_capacity,
            host_allocated,
            host_apps,
            host_shares,
            rank,
            params[_SHARE],
            flags,
            counts,
        )
    n_changed = _finish(target, pending, last_up, params, flags, counts, changes)
    n_flagged = 0
    for k in range(counts.shape[0]):
        n_flagged += counts[k]
    return n_changed, n_flagged
