"""Decoding an action and applying the guardrails in one compiled call: :class:`FusedDecision`.

The engine's decision is :meth:`ActionCodec.decode` then :meth:`Guardrails.apply`. With the
compiled codec and guardrails (:class:`FusedActionCodec`, :class:`FusedGuardrails`),
:meth:`FusedDecision.decide` runs both kernels in one numba call (the same kernels, so the
same targets, flags, counts and changes, bit for bit) and skips the :class:`Decision` in
between: one call per step instead of two, fewer arrays and Python objects.

An action outside the space is decoded by the codec, which raises its usual
:class:`~shadowsim.errors.ActionError`, before the guardrails count anything.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterState
from shadowsim.engine.fused.action_codec import (
    FusedActionCodec,
    continuous_targets,
    discrete_targets,
)
from shadowsim.engine.fused.guardrail_kernels import apply_rules
from shadowsim.engine.fused.guardrails import FusedGuardrails
from shadowsim.engine.fused.shifting import FusedShiftPlanner, all_clear
from shadowsim.engine.guardrails import GuardrailReport
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.jit import njit

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@njit
def _decide_discrete(  # pragma: no cover - compiled
    action: NDArray[np.integer],
    nvec: I64,
    factors: F64,
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
    host_apps: I64,
    host_shares: F64,
    rank: I64,
    out: F64,
    flags: NDArray[np.uint8],
    counts: I64,
    forecast: F64,
    lead: int,
    threshold: float,
) -> tuple[int, int, bool]:
    """Targets of a DISCRETE action into ``out[0]``, then every guardrail (targets into
    ``out[1]``, changes into ``out[2]``), then, when ``lead > 0``, the shift planner's screen
    (:func:`~shadowsim.engine.fused.shifting.all_clear`). Returns the number of changes (-1
    when the action is outside the space), of rule applications, and the screen's answer."""
    if not discrete_targets(action, nvec, factors, pending, out[0]):
        return -1, 0, False
    counts[:] = 0
    n_changed, n_flagged = apply_rules(
        out[0], pending, window, slot, n_rows, last_up, lower, upper, params, comp_pending,
        comp_alloc, host_of, host_capacity, host_allocated, host_apps, host_shares, rank,
        out[1], flags, counts, out[2],
    )  # fmt: skip
    clear = lead > 0 and all_clear(
        forecast, lead, host_apps, host_shares, host_capacity, threshold
    )
    return n_changed, n_flagged, clear


@njit
def _decide_continuous(  # pragma: no cover - compiled
    action: NDArray[np.floating],
    low: NDArray[np.generic],
    high: NDArray[np.generic],
    ref: F64,
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
    host_apps: I64,
    host_shares: F64,
    rank: I64,
    out: F64,
    flags: NDArray[np.uint8],
    counts: I64,
    forecast: F64,
    lead: int,
    threshold: float,
) -> tuple[int, int, bool]:
    """:func:`_decide_discrete` for a CONTINUOUS action (targets in reference units)."""
    if not continuous_targets(action, low, high, ref, out[0]):
        return -1, 0, False
    counts[:] = 0
    n_changed, n_flagged = apply_rules(
        out[0], pending, window, slot, n_rows, last_up, lower, upper, params, comp_pending,
        comp_alloc, host_of, host_capacity, host_allocated, host_apps, host_shares, rank,
        out[1], flags, counts, out[2],
    )  # fmt: skip
    clear = lead > 0 and all_clear(
        forecast, lead, host_apps, host_shares, host_capacity, threshold
    )
    return n_changed, n_flagged, clear


class FusedDecision:
    """A compiled codec, compiled guardrails and the shift planner's screen as one call.

    Args:
        codec: The engine's action codec.
        guardrails: The engine's guardrails (sharing the codec's component map).
        shift_planner: The engine's shift planner: when it is compiled, its automatic rule
            is on and the action has no shift entries, each decision also tells whether
            every host is clear of a predicted bottleneck (then there is no shift to plan).
    """

    def __init__(
        self,
        codec: FusedActionCodec,
        guardrails: FusedGuardrails,
        shift_planner: object = None,
    ) -> None:
        self.codec = codec
        self.guardrails = guardrails
        self.components = codec.components
        n_apps = codec.n_apps
        self._shape = (codec.size,)
        self._kinds = "iu" if codec.discrete else "f"
        self._out_shape = (3, n_apps, N_RESOURCES)  # requested, targets, changes
        self._flags_shape = (n_apps, N_RESOURCES)
        self._discrete = codec.discrete
        if self._discrete:
            self._nvec, self._factors = codec.discrete_constants
        else:
            self._low, self._high = codec.continuous_bounds
        self._plain = not (codec.has_pool or codec.has_shift)
        self._lead, self._threshold = 0, 0.0
        if (
            isinstance(shift_planner, FusedShiftPlanner)
            and shift_planner.components is self.components
            and guardrails.config.respect_host_capacity  # the screen's host entries
            and not codec.has_shift
            and shift_planner.config.enabled
            and shift_planner.config.max_shifts_per_tick > 0
        ):
            self._lead = shift_planner.config.lead_ticks
            self._threshold = shift_planner.config.threshold

    @staticmethod
    def applies(codec: object, guardrails: object) -> bool:
        """Whether ``codec`` and ``guardrails`` are compiled parts sharing a component map."""
        return (
            isinstance(codec, FusedActionCodec)
            and isinstance(guardrails, FusedGuardrails)
            and codec.components is guardrails.components
        )

    def decide(
        self, action: object, state: ClusterState, ref: F64, forecast: F64
    ) -> tuple[GuardrailReport, float | None, NDArray[np.bool_] | None, bool]:
        """As ``codec.decode`` then ``guardrails.apply`` on its targets.

        Args:
            action: A member of the codec's space.
            state: The latest snapshot.
            ref: ``(A, 4)`` reference sizes.
            forecast: ``(A, K, 4, Q)`` the forecast from now (C order; for the screen).

        Returns:
            The guardrails' report (its ``requested`` are the decoded targets), the pool
            share and the shift mask the action asks for (None where the engine decides),
            and True when the shift screen ran and found every host clear (no automatic
            shift this tick; False: plan as usual).

        Raises:
            ActionError: Wrong shape, dtype or a value outside the space.
        """
        arr = np.asarray(action)
        if arr.shape == self._shape and arr.dtype.kind in self._kinds:
            rails = self.guardrails
            _, pending = self.components.app_allocation(state)
            out = np.empty(self._out_shape)
            flags = np.empty(self._flags_shape, dtype=np.uint8)
            args = rails.kernel_arguments(state, ref)
            counts = rails.counts_buffer
            lead = min(self._lead, forecast.shape[1])
            if self._discrete:
                n_changed, n_flagged, clear = _decide_discrete(
                    arr, self._nvec, self._factors, pending, *args, out, flags, counts,
                    forecast, lead, self._threshold,
                )  # fmt: skip
            else:
                n_changed, n_flagged, clear = _decide_continuous(
                    arr, self._low, self._high, ref, pending, *args, out, flags, counts,
                    forecast, lead, self._threshold,
                )  # fmt: skip
            if n_changed >= 0:
                rails.count_decision()
                report = rails.report(out[0], out[1], out[2], flags, n_changed, n_flagged)
                if self._plain:
                    return report, None, None, clear
                pool_share, shift = self.codec.extras(arr)
                return report, pool_share, shift, clear
        decision = self.codec.decode(action, state, ref)  # raises the reference's error
        report = self.guardrails.apply(decision.targets, state, ref)
        return report, decision.pool_share, decision.shift_mask, False
