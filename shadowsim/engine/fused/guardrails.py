"""The guardrails as one compiled pass: :class:`FusedGuardrails`.

:class:`FusedGuardrails` has the interface of :class:`~shadowsim.engine.guardrails.Guardrails`
and applies the same rules, in the same order, with the same arithmetic (see that module's
docstring), compiled by numba: one call per decision instead of about forty numpy calls. It
also hands the engine what it sends to the backend (:attr:`GuardrailReport.changes`: the
targets, NaN where a target equals the pending allocation).

Agreement with the numpy reference: bit for bit, except the host-capacity rule's sums over
applications, which the reference computes through ``matmul`` (BLAS, in another order):
those figures agree to rounding (1e-12 relative), the flags and counts are the same unless a
request lies within that rounding of a host's free capacity.

Importing this module imports numba (see :mod:`shadowsim.sim.jit`).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.engine.component_map import ComponentMap
from shadowsim.engine.fused.guardrail_kernels import RULE_NAMES, TIME, apply_rules
from shadowsim.engine.guardrails import GuardrailConfig, GuardrailReport, Guardrails

F64 = NDArray[np.float64]
# what apply_rules takes between the pending allocation and its outputs
KernelArguments = tuple[
    F64, int, int, F64, F64, F64, F64, F64, F64, NDArray[np.intp], F64, F64,
    NDArray[np.int64], F64, NDArray[np.int64],
]


class FusedGuardrails(Guardrails):
    """:class:`Guardrails` computed by one compiled kernel (same rules, same report).

    Args:
        spec: The cluster's static description.
        config: The limits.
        component_map: Shared component/application conversions (one is made if None).
    """

    def __init__(
        self,
        spec: ClusterSpec,
        config: GuardrailConfig | None = None,
        *,
        component_map: ComponentMap | None = None,
    ) -> None:
        super().__init__(spec, config, component_map=component_map)
        cfg = self.config
        self._params = np.array(
            [
                0.0,
                cfg.scale_down_cooldown_s,
                cfg.max_change_factor,
                cfg.deadband,
                cfg.host_capacity_share,
                float(cfg.respect_host_capacity),
            ]
        )
        self._rank64 = np.ascontiguousarray(self._rank, dtype=np.int64)
        self._no_entries = (np.zeros((0, 2), dtype=np.int64), np.zeros(0))
        self._n_window = len(self._window)
        self._respect = cfg.respect_host_capacity
        self._counts = np.zeros(len(RULE_NAMES), dtype=np.int64)

    def apply(self, requested: F64, state: ClusterState, ref: F64) -> GuardrailReport:
        """Adjust requested ``(A, 4)`` totals, as :meth:`Guardrails.apply`.

        The report also holds :attr:`GuardrailReport.changes`.
        """
        _, pending = self.components.app_allocation(state)
        request = np.ascontiguousarray(requested, dtype=np.float64)
        out = np.empty((2, *pending.shape))  # targets, changes
        flags = np.empty(pending.shape, dtype=np.uint8)
        counts = self._counts
        counts.fill(0)
        n_changed, n_flagged = apply_rules(
            request, pending, *self.kernel_arguments(state, ref), out[0], flags, counts, out[1]
        )
        self.count_decision()
        return self.report(requested, out[0], out[1], flags, n_changed, n_flagged)

    def kernel_arguments(self, state: ClusterState, ref: F64) -> KernelArguments:
        """What :func:`apply_rules` takes between the pending allocation and the outputs, for
        one decision in ``state``; call :meth:`count_decision` once the rules ran."""
        n_window = self._n_window
        slot = self._n_seen % n_window if n_window else 0
        n_rows = min(self._n_seen + 1, n_window)
        params = self._params
        params[TIME] = state.time_s
        lower, upper = self.bounds(ref)
        host_apps, host_shares = (
            self.components.host_entries(state.host_of, state.host_capacity.shape[0])
            if self._respect
            else self._no_entries
        )
        return (
            self._window,
            slot,
            n_rows,
            self._last_up_s,
            lower,
            upper,
            params,
            state.pending_allocation,
            state.allocation,
            state.host_of,
            state.host_capacity,
            state.host_allocated,
            host_apps,
            host_shares,
            self._rank64,
        )

    def count_decision(self) -> None:
        """Count one decision in the stabilisation window (after the rules ran)."""
        if self._n_window:
            self._n_seen += 1

    @property
    def counts_buffer(self) -> NDArray[np.int64]:
        """The per-rule counts the kernel fills (reused; :meth:`report` reads them)."""
        return self._counts

    def report(
        self,
        requested: F64,
        targets: F64,
        changes: F64,
        flags: NDArray[np.uint8],
        n_changed: int,
        n_flagged: int,
    ) -> GuardrailReport:
        """The report of a kernel run (``changes`` is sent only if ``n_changed``)."""
        rule_counts = (
            {name: n for name, n in zip(RULE_NAMES, self._counts.tolist(), strict=True) if n}
            if n_flagged
            else {}
        )
        return GuardrailReport(
            requested=requested,
            targets=targets,
            flags=flags,
            rule_counts=rule_counts,
            changes=changes if n_changed else None,
        )
