"""The fused scale planner: :class:`~shadowsim.sim.scaling.ScalePlanner` in one compiled pass.

:class:`FusedScalePlanner` validates, splits and clamps ``(A, 4)`` application targets
exactly as the reference does (same rules, same rejection counts, same quirks: ``-inf`` is
counted as "non-finite" only when some entry is ``+inf``, else as "negative"; a held entry
on an over-asked host reports the reservation as applied), in two passes over the entries
instead of some thirty numpy calls. The plans are identical to the reference's.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.actions import ScaleAllOutcome
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.components import ComponentLayout
from shadowsim.sim.jit import njit
from shadowsim.sim.scaling import ScalePlan, ScalePlanner

# counts: accepted, clamped, then per reason (non-finite, negative, migrating) whether it
# was checked and how many entries it rejected
_ACCEPTED, _CLAMPED, _CHECKED, _REJECTED = 0, 1, 2, 5
_REASONS = ("non-finite target", "negative target", "component migrating")


@njit
def _reject(  # pragma: no cover - compiled
    targets: NDArray[np.float64],
    migrating: NDArray[np.bool_],
    k: int,
    pos_inf: bool,
    negative: bool,
    accepted: NDArray[np.bool_],
    counts: NDArray[np.int64],
) -> None:
    """Per-entry acceptance with the reference's checks, in its order, counting rejections."""
    n_apps = targets.shape[0]
    for a in range(n_apps):
        for r in range(4):
            t = targets[a, r]
            accepted[a, r] = t == t
    if pos_inf:
        counts[_CHECKED] = 1
        for a in range(n_apps):
            for r in range(4):
                if accepted[a, r] and np.isinf(targets[a, r]):
                    accepted[a, r] = False
                    counts[_REJECTED] += 1
    if negative:
        counts[_CHECKED + 1] = 1
        for a in range(n_apps):
            for r in range(4):
                if accepted[a, r] and targets[a, r] < 0.0:
                    accepted[a, r] = False
                    counts[_REJECTED + 1] += 1
    if migrating.shape[0] > 0 and migrating.any():
        counts[_CHECKED + 2] = 1
        for a in range(n_apps):
            busy = False
            for j in range(k):
                busy |= migrating[a * k + j]
            for r in range(4):
                if busy and accepted[a, r]:
                    accepted[a, r] = False
                    counts[_REJECTED + 2] += 1


@njit
def _plan(  # pragma: no cover - compiled
    targets: NDArray[np.float64],
    reserve: NDArray[np.float64],
    room: NDArray[np.float64],
    host_of: NDArray[np.intp],
    migrating: NDArray[np.bool_],
    bounds: NDArray[np.float64],
    shares: NDArray[np.float64],
    clipped: NDArray[np.float64],
    accepted: NDArray[np.bool_],
    clamped: NDArray[np.bool_],
    need: NDArray[np.float64],
    counts: NDArray[np.int64],
    pending: NDArray[np.float64],
    touched: NDArray[np.bool_],
    applied: NDArray[np.float64],
    clamped_app: NDArray[np.bool_],
) -> None:
    """Fill ``clipped`` ``(C, 4)``, ``accepted`` ``(A, 4)``, ``clamped`` ``(C, 4)``, ``counts``.

    With several components per application (``touched``, ``applied`` and ``clamped_app``
    not empty) also the per-application outputs: ``applied`` ``(A, 4)`` the sum of
    each application's components' ``clipped`` (in component order, as
    ``ComponentLayout.to_apps``),
    ``clamped_app`` whether any of them was clamped, and
    ``touched`` ``(C, 4)``: each component's entry accepted (its application's).

    ``accepted`` is not written when every entry is accepted without a reason. When
    ``pending`` is not empty and some entry is accepted, the plan is reserved: accepted
    entries become pending, ``reserve`` the larger of itself and them.

    ``bounds`` is ``(2, 4)``: the smallest and largest allocation of a component, per
    resource.
    """
    n_apps = targets.shape[0]
    k = shares.shape[0]
    n = clipped.size
    flat_targets = targets.reshape(n_apps * 4)
    flat_reserve = reserve.reshape(n)
    out = clipped.reshape(n)
    flags = clamped.reshape(n)
    low, high = bounds[0], bounds[1]
    counts[:] = 0
    busy = migrating.shape[0] > 0 and migrating.any()
    grows = False  # some entry above its reservation (the reference: max(increase) > 0)
    held = False
    pos_inf = False
    negative = False
    n_clamped = 0
    fast = k == 1 and not busy
    if fast:
        # every entry given and valid, hopefully (``accepted`` is left alone: all True):
        # one branch-free pass that also checks it; else the general path below. The
        # bounds are scalars picked by the (unrolled) resource index: no per-entry bounds
        # array to read, and nothing the stores could alias
        low0, low1, low2, low3 = low[0], low[1], low[2], low[3]
        high0, high1, high2, high3 = high[0], high[1], high[2], high[3]
        for c in range(n // 4):
            for r in range(4):
                i = c * 4 + r
                lo = low0 if r == 0 else (low1 if r == 1 else (low2 if r == 2 else low3))
                hi = high0 if r == 0 else (high1 if r == 1 else (high2 if r == 2 else high3))
                t = flat_targets[i]
                held |= t != t
                pos_inf |= t == np.inf
                negative |= t < 0.0
                value = min(max(t, lo), hi)
                out[i] = value
                clamp = value != t
                flags[i] = clamp
                n_clamped += clamp
                grows |= value > flat_reserve[i]
        fast = not (held or pos_inf or negative)
    else:
        for i in range(n_apps * 4):
            t = flat_targets[i]
            held |= t != t
            pos_inf |= t == np.inf
            negative |= t < 0.0
    if fast:
        counts[_ACCEPTED] = n
    else:
        grows = False
        n_clamped = 0
        _reject(targets, migrating, k, pos_inf, negative, accepted, counts)
        n_accepted = 0
        # selects, not branches: which entries are held follows no pattern a branch
        # predictor learns (a policy holds some entries, changes others)
        for a in range(n_apps):
            for r in range(4):
                given = accepted[a, r]
                n_accepted += given
                target = targets[a, r]
                for j in range(k):
                    i = (a * k + j) * 4 + r
                    comp = target if k == 1 else target * shares[j]
                    value = min(max(comp, low[r]), high[r])
                    clamp = given & (value != comp)  # held entries are never clamped
                    value = value if given else np.nan
                    out[i] = value
                    flags[i] = clamp
                    n_clamped += clamp
                    grows |= value > flat_reserve[i]  # False for NaN
        counts[_ACCEPTED] = n_accepted
    if grows:
        n_clamped += _limit_to_room(reserve, room, host_of, clipped, clamped, need)
    counts[_CLAMPED] = n_clamped
    reserving = pending.size > 0 and counts[_ACCEPTED] > 0
    every = counts[_ACCEPTED] == n_apps * 4
    flat_pending = pending.reshape(pending.size)
    if fast or (k == 1 and every):
        if reserving:
            for i in range(n):  # copy, and fmax into the reservations, in one pass
                value = out[i]
                flat_pending[i] = value
                if value > flat_reserve[i]:
                    flat_reserve[i] = value
        return
    # the general case in one pass: pending where accepted, fmax into the reservations
    # (NaN keeps them), and with several components the per-application outputs
    per_app = applied.size > 0
    for a in range(n_apps):
        for r in range(4):
            given = accepted[a, r]
            first = a * k * 4 + r
            total = out[first]
            hit = flags[first]
            for j in range(k):
                i = first + j * 4
                value = out[i]
                if reserving:  # selects, as above
                    flat_pending[i] = value if given else flat_pending[i]
                    kept = flat_reserve[i]
                    flat_reserve[i] = value if value > kept else kept
                if j > 0:
                    total += value
                    hit |= flags[i]
                if per_app:
                    touched[a * k + j, r] = given
            if per_app:
                applied[a, r] = total
                clamped_app[a, r] = hit


@njit
def _limit_to_room(  # pragma: no cover - compiled
    reserve: NDArray[np.float64],
    room: NDArray[np.float64],
    host_of: NDArray[np.intp],
    clipped: NDArray[np.float64],
    clamped: NDArray[np.bool_],
    need: NDArray[np.float64],
) -> int:
    """Scale the increases on over-asked hosts and resources down to the room left;
    returns how many entries it newly marked clamped."""
    need[:] = 0.0
    for c in range(clipped.shape[0]):
        h = host_of[c]
        for r in range(4):
            increase = clipped[c, r] - reserve[c, r]
            need[h, r] += increase if increase > 0.0 else 0.0  # a select; NaN adds 0
    over_any = False
    for h in range(need.shape[0]):
        for r in range(4):
            free = max(room[h, r], 0.0)
            if need[h, r] > free * (1 + 1e-12) + 1e-9:
                need[h, r] = free / need[h, r]  # now the factor
                over_any = True
            else:
                need[h, r] = np.inf
    if not over_any:
        return 0
    newly = 0
    for c in range(clipped.shape[0]):
        h = host_of[c]
        for r in range(4):
            factor = need[h, r]
            if factor == np.inf:
                continue
            value = clipped[c, r]
            increase = value - reserve[c, r]
            if not increase > 0.0:  # fmax(NaN, 0) is 0
                increase = 0.0
            limited = increase * factor + reserve[c, r]
            if value != value:  # held: fmin keeps the reservation
                clipped[c, r] = limited
            elif limited < value:
                clipped[c, r] = limited
                newly += not clamped[c, r]
                clamped[c, r] = True
    return newly


class FusedScalePlanner(ScalePlanner):
    """A :class:`~shadowsim.sim.scaling.ScalePlanner` whose :meth:`plan` is compiled.

    Args:
        layout: Components of the applications.
        low: ``(4,)`` smallest component allocation.
        high: ``(4,)`` largest component allocation.
        n_hosts: Number of hosts.
    """

    def __init__(
        self,
        layout: ComponentLayout,
        low: NDArray[np.float64],
        high: NDArray[np.float64],
        n_hosts: int,
    ) -> None:
        super().__init__(layout, low, high, n_hosts)
        n_comp = layout.n_components
        self._bounds2 = np.ascontiguousarray(np.stack([low, high]), dtype=np.float64)
        self._shares = np.ascontiguousarray(layout.shares, dtype=np.float64)
        self._need = np.zeros((n_hosts, N_RESOURCES))
        self._counts = np.zeros(8, dtype=np.int64)
        self._idle = np.zeros(0, dtype=np.bool_)
        self._shape_c = (n_comp, N_RESOURCES)
        self._no_pending = np.zeros((0, N_RESOURCES))
        self._accepted_scratch = np.zeros((n_comp // layout.per_app, N_RESOURCES), dtype=np.bool_)
        self._every_component = np.ones(self._shape_c, dtype=np.bool_)
        self._every_component.setflags(write=False)
        self._no_touched = np.zeros((0, N_RESOURCES), dtype=np.bool_)
        self._no_applied = np.zeros((0, N_RESOURCES))

    def plan(
        self,
        targets: NDArray[np.float64],
        reserve: NDArray[np.float64],
        room: NDArray[np.float64],
        host_of: NDArray[np.intp],
        cells: NDArray[np.intp],
        migrating: NDArray[np.bool_] | None,
        reserve_into: NDArray[np.float64] | None = None,
    ) -> ScalePlan:
        """Validate and clamp ``(A, 4)`` application targets, and reserve them into
        ``reserve_into`` when given (see the reference)."""
        layout = self.layout
        per_app = layout.per_app
        clipped = np.empty(self._shape_c)
        clamped_c = np.empty(self._shape_c, dtype=np.bool_)
        if per_app == 1:
            touched_c, applied, clamped = self._no_touched, self._no_applied, self._no_touched
        else:  # the per-application outputs, filled by the same call
            touched_c = np.empty(self._shape_c, dtype=np.bool_)
            applied = np.empty(targets.shape)
            clamped = np.empty(targets.shape, dtype=np.bool_)
        counts = self._counts
        _plan(
            targets if targets.flags.c_contiguous else np.ascontiguousarray(targets),
            reserve,
            room if room.flags.c_contiguous else np.ascontiguousarray(room),
            host_of,
            self._idle if migrating is None else migrating,
            self._bounds2,
            self._shares,
            clipped,
            self._accepted_scratch,
            clamped_c,
            self._need,
            counts,
            self._no_pending if reserve_into is None else reserve_into,
            touched_c,
            applied,
            clamped,
        )
        n_accepted, n_clamped, *checked_rejected = counts.tolist()
        reasons = (
            {why: checked_rejected[3 + i] for i, why in enumerate(_REASONS) if checked_rejected[i]}
            if checked_rejected[0] or checked_rejected[1] or checked_rejected[2]
            else {}
        )
        if n_accepted == targets.size and not reasons:
            accepted = self._all_true(targets.shape)
        else:
            accepted = self._accepted_scratch.copy()
            accepted.setflags(write=False)
        if per_app == 1:
            touched = accepted
            clamped = self._no_clamp(targets.shape) if n_clamped == 0 else clamped_c
            applied = clipped
        else:
            if n_accepted == targets.size and not reasons:
                touched = self._every_component  # shared and read-only, as ``accepted``
            else:
                touched = touched_c
            if n_clamped == 0:
                clamped = self._no_clamp(targets.shape)
        clamped.setflags(write=False)
        applied.setflags(write=False)
        outcome = ScaleAllOutcome.assemble(accepted, clamped, applied, reasons)
        return ScalePlan(clipped, touched, outcome, n_accepted, n_clamped)
