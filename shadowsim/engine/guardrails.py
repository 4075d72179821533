"""Guardrails every policy's scaling targets go through before reaching the backend.

Applied in this order to the ``(A, 4)`` requested totals, each against the pending
allocation ``p`` (what is in force once in-flight scaling lands):

1. ``NOT_FINITE``: a NaN/infinite request holds ``p``.
2. ``STABILISATION``: a decrease is limited to the largest request over the last
   ``stabilisation_s`` (Kubernetes HPA-style scale-down stabilisation window).
3. ``COOLDOWN``: no decrease within ``scale_down_cooldown_s`` of the last increase.
4. ``MAX_CHANGE``: the target stays within ``[p / max_change_factor, p * max_change_factor]``.
5. ``BOUND_LOW`` / ``BOUND_HIGH``: the target stays within ``[lower, upper]`` with
   ``lower = max(min_ref * ref, min_abs)`` and ``upper = max(lower, min(max_ref * ref,
   max_abs))`` (bounds win over the rate limit, so an allocation below its floor is raised
   at once).
6. ``CAPACITY``: increases are spread over the app's components by their share; on a host
   where they exceed the free capacity (``host_capacity_share * capacity`` minus what is
   allocated and what is already pending there), HIGH-priority increases are granted first,
   then MEDIUM, then LOW, each class pro rata: high-priority work is never starved by others.
7. ``DEADBAND``: a change smaller than ``deadband`` (relative) is held (sent as NaN, "no
   change"), to avoid churn; informational.

Every change is recorded per entry as a :class:`GuardrailRule` flag in the
:class:`GuardrailReport`, which the engine puts in ``info``: nothing is changed silently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import IntFlag

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.engine.component_map import ComponentMap
from shadowsim.engine.config_checks import check_bool, check_floats, check_number, set_value
from shadowsim.errors import ConfigError
from shadowsim.resources import N_RESOURCES, RESOURCES
from shadowsim.workloads.workload import Priority

F64 = NDArray[np.float64]


class GuardrailRule(IntFlag):
    """Why a requested target was changed (flags, several may apply to one entry)."""

    NOT_FINITE = 1
    STABILISATION = 2
    COOLDOWN = 4
    MAX_CHANGE = 8
    BOUND_LOW = 16
    BOUND_HIGH = 32
    CAPACITY = 64
    DEADBAND = 128


_REASONS = {
    GuardrailRule.NOT_FINITE: "request was not finite; held",
    GuardrailRule.STABILISATION: "scale-down limited by the stabilisation window",
    GuardrailRule.COOLDOWN: "scale-down blocked by the cooldown after a scale-up",
    GuardrailRule.MAX_CHANGE: "limited by the maximum change per tick",
    GuardrailRule.BOUND_LOW: "raised to the minimum allocation",
    GuardrailRule.BOUND_HIGH: "lowered to the maximum allocation",
    GuardrailRule.CAPACITY: "increase cut to the free host capacity",
    GuardrailRule.DEADBAND: "change below the deadband; held",
}


@dataclass(frozen=True)
class GuardrailConfig:
    """Limits on scaling targets (works with and without Hydra).

    Attributes:
        min_ref: Minimum allocation per resource in reference units, >= 0 (default 0:
            like Kubernetes' VPA and Autopilot, only absolute minimums).
        max_ref: Maximum allocation per resource in reference units, > 0 (inf = none).
        min_abs: Minimum allocation per resource in absolute units (vCPU, MiB, KB/s, KB/s);
            the default is the simulator's smallest VM (``cluster.scaling.min_allocation``)
            times its default two components per application, so the backend never clamps
            what the guardrails let through.
        max_abs: Maximum allocation per resource in absolute units (inf = none).
        max_change_factor: Largest factor by which a target may differ from the pending
            allocation in one tick, >= 1 (inf = none).
        scale_down_cooldown_s: No decrease for this long after an increase, s, >= 0.
        stabilisation_s: Decreases go no lower than the largest request over this window,
            s, >= 0 (0 = off).
        respect_host_capacity: Cut increases to the free host capacity.
        host_capacity_share: Share of each host's capacity that allocations may use, > 0.
        deadband: Relative changes below this are held, >= 0.
    """

    min_ref: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)
    max_ref: tuple[float, ...] = (math.inf, math.inf, math.inf, math.inf)
    min_abs: tuple[float, ...] = (0.02, 128.0, 20.0, 20.0)
    max_abs: tuple[float, ...] = (math.inf, math.inf, math.inf, math.inf)
    max_change_factor: float = 2.0
    scale_down_cooldown_s: float = 300.0
    stabilisation_s: float = 0.0
    respect_host_capacity: bool = True
    host_capacity_share: float = 1.0
    deadband: float = 0.0

    def __post_init__(self) -> None:
        for key in ("min_ref", "min_abs"):
            set_value(self, key, check_floats(key, getattr(self, key), length=N_RESOURCES, low=0.0))
        for key in ("max_ref", "max_abs"):
            value = check_floats(
                key, getattr(self, key), length=N_RESOURCES, low=0.0, low_open=True
            )
            set_value(self, key, value)
        set_value(
            self,
            "max_change_factor",
            check_number("max_change_factor", self.max_change_factor, low=1.0),
        )
        for key in ("scale_down_cooldown_s", "stabilisation_s", "deadband"):
            number = check_number(key, getattr(self, key), low=0.0, high=math.inf, high_open=True)
            set_value(self, key, number)
        set_value(
            self,
            "respect_host_capacity",
            check_bool("respect_host_capacity", self.respect_host_capacity),
        )
        set_value(
            self,
            "host_capacity_share",
            check_number(
                "host_capacity_share", self.host_capacity_share, low=0.0, low_open=True, high=10.0
            ),
        )
        if self.deadband >= 1.0:
            raise ConfigError("deadband", f"must be a relative change < 1, got {self.deadband}")


@dataclass(eq=False)
class GuardrailReport:
    """What the guardrails changed in one decision.

    Attributes:
        requested: ``(A, 4)`` targets as requested, absolute units.
        targets: ``(A, 4)`` targets after the guardrails, absolute units.
        flags: ``(A, 4)`` :class:`GuardrailRule` bits per entry (0 = unchanged).
        notes: Other refusals (e.g. a shift of a HIGH-priority app), one line each.
        rule_counts: Entries changed per rule name, when the guardrails counted them as
            they went (else :attr:`counts` derives them from ``flags``).
        changes: ``(A, 4)`` what to send to the backend: ``targets``, NaN ("hold") where a
            target equals the pending allocation; None when nothing changes.
    """

    requested: F64
    targets: F64
    flags: NDArray[np.uint8]
    notes: list[str] = field(default_factory=list)
    rule_counts: dict[str, int] | None = None
    changes: F64 | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Entries changed per rule name (rules that changed nothing are left out), plus
        ``notes`` when there are notes."""
        if self.rule_counts is not None:
            out = dict(self.rule_counts)
        else:
            out = {}
            if self.flags.any():
                bits = np.unpackbits(self.flags.reshape(-1, 1), axis=1, bitorder="little")
                per_bit = bits.sum(axis=0)
                for rule in GuardrailRule:
                    n = int(per_bit[int(rule).bit_length() - 1])
                    if n:
                        out[str(rule.name)] = n
        if self.notes:
            out["notes"] = len(self.notes)
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GuardrailReport):
            return NotImplemented
        return (
            np.array_equal(self.requested, other.requested, equal_nan=True)
            and np.array_equal(self.targets, other.targets, equal_nan=True)
            and np.array_equal(self.flags, other.flags)
            and self.notes == other.notes
        )

    __hash__ = None  # type: ignore[assignment]  # mutable, compared by value

    def messages(self, app_ids: tuple[str, ...] | None = None, limit: int = 50) -> list[str]:
        """Human-readable lines, one per changed entry (at most ``limit``) then the notes."""
        lines: list[str] = []
        for app, res in np.argwhere(self.flags != 0)[:limit]:
            name = app_ids[app] if app_ids is not None else str(app)
            rules = GuardrailRule(int(self.flags[app, res]))
            why = "; ".join(_REASONS[r] for r in GuardrailRule if r in rules)
            lines.append(
                f"app {name} {RESOURCES[res].name}: requested {self.requested[app, res]:.6g}, "
                f"set {self.targets[app, res]:.6g} {RESOURCES[res].unit} ({why})"
            )
        changed = int(np.count_nonzero(self.flags))
        if changed > limit:
            lines.append(f"... and {changed - limit} more changed entries")
        return lines + list(self.notes)


class Guardrails:
    """Applies :class:`GuardrailConfig` to the targets of every decision.

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
        self.spec = spec
        self.config = config or GuardrailConfig()
        self.components = component_map or ComponentMap(spec)
        shape = (spec.n_apps, N_RESOURCES)
        self._min_ref = np.asarray(self.config.min_ref)
        self._max_ref = np.asarray(self.config.max_ref)
        self._min_abs = np.asarray(self.config.min_abs)
        self._max_abs = np.asarray(self.config.max_abs)
        n_window = math.ceil(self.config.stabilisation_s / spec.interval_s - 1e-9)
        self._window = np.zeros((max(n_window, 0), *shape))
        self._last_up_s = np.full(shape, -math.inf)
        self._n_seen = 0
        priority = np.asarray(spec.priority)
        # grant rank of each application's class: 0 = HIGH (granted first), 1 MEDIUM, 2 LOW
        ranks = (Priority.HIGH, Priority.MEDIUM, Priority.LOW)
        self._rank = np.select([priority == c for c in ranks], [0, 1, 2], default=2)
        self._n_ranks = len(ranks)
        self._class_matrix_of: F64 | None = None
        self._class_matrix_cache = np.zeros((0, 0))
        self._bounds: tuple[F64, F64] | None = None
        self._bounds_ref: F64 | None = None

    def reset(self) -> None:
        """Forget cooldown and stabilisation history (call at the start of an episode)."""
        self._last_up_s.fill(-math.inf)
        self._window.fill(0.0)
        self._n_seen = 0

    def bounds(self, ref: F64) -> tuple[F64, F64]:
        """``(lower, upper)`` ``(A, 4)`` absolute allocation bounds for reference sizes ``ref``."""
        if self._bounds is None or ref is not self._bounds_ref:
            lower = np.maximum(self._min_ref * ref, self._min_abs)
            upper = np.maximum(lower, np.minimum(self._max_ref * ref, self._max_abs))
            self._bounds = (lower, upper)
            self._bounds_ref = ref
        return self._bounds

    def apply(self, requested: F64, state: ClusterState, ref: F64) -> GuardrailReport:
        """Adjust requested ``(A, 4)`` totals; the report's ``targets`` are what may be sent.

        Args:
            requested: Requested totals per app, absolute units.
            state: The latest snapshot (pending allocation, hosts, time).
            ref: ``(A, 4)`` reference sizes.
        """
        cfg = self.config
        _, pending = self.components.app_allocation(state)
        flags = np.zeros(requested.shape, dtype=np.uint8)
        counts: dict[str, int] = {}
        target = requested.copy()
        bad = ~np.isfinite(target)
        self._set(target, flags, counts, bad, pending, GuardrailRule.NOT_FINITE)
        if len(self._window):
            self._window[self._n_seen % len(self._window)] = target
            self._n_seen += 1
            recent = self._window[: min(self._n_seen, len(self._window))].max(axis=0)
            floor = np.minimum(recent, pending)
            self._set(target, flags, counts, target < floor, floor, GuardrailRule.STABILISATION)
        if cfg.scale_down_cooldown_s > 0:
            cooling = target < pending
            cooling &= self._last_up_s > state.time_s - cfg.scale_down_cooldown_s
            self._set(target, flags, counts, cooling, pending, GuardrailRule.COOLDOWN)
        if math.isfinite(cfg.max_change_factor):
            low = pending * (1.0 / cfg.max_change_factor)
            self._set(target, flags, counts, target < low, low, GuardrailRule.MAX_CHANGE)
            high = pending * cfg.max_change_factor
            self._set(target, flags, counts, target > high, high, GuardrailRule.MAX_CHANGE)
        lower, upper = self.bounds(ref)
        self._set(target, flags, counts, target < lower, lower, GuardrailRule.BOUND_LOW)
        self._set(target, flags, counts, target > upper, upper, GuardrailRule.BOUND_HIGH)
        if cfg.respect_host_capacity:
            self._capacity(target, flags, counts, pending, state)
        if cfg.deadband > 0:
            small = np.abs(target - pending) < cfg.deadband * pending
            small &= target != pending
            self._set(target, flags, counts, small, pending, GuardrailRule.DEADBAND)
        self._last_up_s[target > pending] = state.time_s
        changed = target != pending
        changes = np.where(changed, target, np.nan) if changed.any() else None
        return GuardrailReport(
            requested=requested, targets=target, flags=flags, rule_counts=counts, changes=changes
        )

    def _class_matrix(self, matrix: F64) -> F64:
        """``(3 H, A)``: row ``k H + h`` holds the host matrix row ``h`` restricted to the
        applications of grant rank ``k`` (cached for the last host matrix)."""
        if self._class_matrix_of is not matrix:
            n_hosts = matrix.shape[0]
            stacked = np.zeros((self._n_ranks * n_hosts, matrix.shape[1]))
            for rank in range(self._n_ranks):
                members = self._rank == rank
                stacked[rank * n_hosts : (rank + 1) * n_hosts, members] = matrix[:, members]
            self._class_matrix_cache = stacked
            self._class_matrix_of = matrix
        return self._class_matrix_cache

    @staticmethod
    def _set(
        target: F64,
        flags: NDArray[np.uint8],
        counts: dict[str, int],
        mask: NDArray[np.bool_],
        value: F64,
        rule: GuardrailRule,
    ) -> None:
        """Set ``target`` to ``value`` where ``mask``, flag and count the entries."""
        n = int(np.count_nonzero(mask))
        if n:
            np.copyto(target, value, where=mask)
            np.bitwise_or(flags, np.uint8(rule), out=flags, where=mask)
            name = str(rule.name)
            counts[name] = counts.get(name, 0) + n

    def _capacity(
        self,
        target: F64,
        flags: NDArray[np.uint8],
        counts: dict[str, int],
        pending: F64,
        state: ClusterState,
    ) -> None:
        """Cut increases to the free capacity of each host, HIGH priority first."""
        increase = target - pending
        np.maximum(increase, 0.0, out=increase)
        if not increase.any():
            return
        cm = self.components
        capacity = state.host_capacity
        n_hosts = capacity.shape[0]
        matrix = cm.host_matrix(state.host_of, n_hosts)
        in_flight = state.pending_allocation - state.allocation
        np.maximum(in_flight, 0.0, out=in_flight)
        free = self.config.host_capacity_share * capacity
        free -= state.host_allocated
        free -= cm.to_hosts(in_flight, state.host_of, n_hosts)
        room = np.maximum(free, 0.0, out=free)
        if (matrix @ increase <= room + 1e-9).all():
            return
        # Classes are granted in turn (HIGH, MEDIUM, LOW), each pro rata per host and
        # resource. In closed form: the room class k finds is what the classes before it left,
        # max(room - their wants, 0), so its ratio is clip((room - wants before) / want, 0, 1).
        stacked = self._class_matrix(matrix)
        want = (stacked @ increase).reshape(self._n_ranks, n_hosts, N_RESOURCES)
        before = np.cumsum(want, axis=0)
        before -= want
        left = room - before
        ratio = np.divide(left, want, out=np.ones_like(want), where=(want > left) & (want > 0))
        np.clip(ratio, 0.0, 1.0, out=ratio)
        granted = stacked.T @ ratio.reshape(-1, N_RESOURCES)
        granted *= increase
        cut = granted < increase * (1.0 - 1e-9) - 1e-12
        n = int(np.count_nonzero(cut))
        if n:
            target[cut] = pending[cut] + granted[cut]
            np.bitwise_or(flags, np.uint8(GuardrailRule.CAPACITY), out=flags, where=cut)
            counts[str(GuardrailRule.CAPACITY.name)] = n
