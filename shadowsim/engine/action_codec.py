"""The flat action vector of the environment and its translation into allocation targets.

Layout (one gymnasium space), A applications, 4 resources, entry ``i * 4 + r`` for app ``i``
and resource ``r``:

``ActionMode.DISCRETE`` (``MultiDiscrete``)
    ``A * 4`` indices into ``scale_factors`` (multiplicative steps on the current pending
    allocation; 1.0 holds); then, if ``pool_control`` is ``POLICY``, one index into
    ``pool_levels`` (shares of the number of components C for the spare pool target); then,
    if ``shift_control`` is ``POLICY``, ``A`` entries in {0, 1} (1 = shift one non-critical
    component of app ``i`` to a spare).

``ActionMode.CONTINUOUS`` (``Box`` float32)
    ``A * 4`` target allocations in reference units in ``[0, max_target]``; then, if
    ``POLICY``, one pool share in ``[0, 1]``; then ``A`` shift scores in ``[0, 1]``
    (> 0.5 = shift).

Policies that think in targets use :meth:`ActionCodec.encode_targets` to emit either mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.engine.component_map import ComponentMap
from shadowsim.engine.config_checks import (
    check_enum,
    check_floats,
    check_number,
    set_value,
)
from shadowsim.errors import ActionError, ConfigError
from shadowsim.resources import N_RESOURCES

F64 = NDArray[np.float64]


class ActionMode(Enum):
    """How the policy expresses scaling."""

    DISCRETE = "discrete"
    """Per app and resource, an index into multiplicative scale factors."""
    CONTINUOUS = "continuous"
    """Per app and resource, a target allocation in reference units."""


class ControlSource(Enum):
    """Who decides the spare pool target or the shifting of components to spares."""

    AUTO = "auto"
    """The engine's rule (pool sizing from load and accuracy; predicted-bottleneck shifting)."""
    POLICY = "policy"
    """The policy, through extra action entries."""


@dataclass(frozen=True)
class ActionConfig:
    """The action space (works with and without Hydra).

    Attributes:
        mode: :class:`ActionMode` (or its name).
        scale_factors: DISCRETE steps, strictly increasing, > 0, containing 1.0 (hold).
        max_target: CONTINUOUS upper bound of a target, in reference units, > 0. The
            default (1024) caps no real burst: the reference is the warm-up P99, and the
            Bitbrains traces reach 17x it in CPU and 543x in disk throughput (4.0 capped even
            the oracle). A learning agent may want a smaller range.
        pool_control: :class:`ControlSource` of the pool target.
        shift_control: :class:`ControlSource` of shifting components to spares.
        pool_levels: DISCRETE pool target choices, shares of C in [0, 1], increasing.
        default_pool_share: Pool share :meth:`ActionCodec.encode_targets` emits when the
            policy gives none (POLICY pool control only), in [0, 1].
    """

    mode: ActionMode = ActionMode.DISCRETE
    scale_factors: tuple[float, ...] = (0.8, 0.9, 1.0, 1.1, 1.25)
    max_target: float = 1024.0
    pool_control: ControlSource = ControlSource.AUTO
    shift_control: ControlSource = ControlSource.AUTO
    pool_levels: tuple[float, ...] = (0.0, 0.02, 0.05, 0.1)
    default_pool_share: float = 0.05

    def __post_init__(self) -> None:
        set_value(self, "mode", check_enum("mode", ActionMode, self.mode))
        set_value(
            self, "pool_control", check_enum("pool_control", ControlSource, self.pool_control)
        )
        set_value(
            self, "shift_control", check_enum("shift_control", ControlSource, self.shift_control)
        )
        factors = check_floats(
            "scale_factors", self.scale_factors, low=0.0, low_open=True, increasing=True
        )
        if 1.0 not in factors:
            raise ConfigError("scale_factors", f"must contain 1.0 (hold), got {factors}")
        set_value(self, "scale_factors", factors)
        set_value(
            self, "max_target", check_number("max_target", self.max_target, low=0.0, low_open=True)
        )
        set_value(
            self,
            "pool_levels",
            check_floats("pool_levels", self.pool_levels, low=0.0, high=1.0, increasing=True),
        )
        set_value(
            self,
            "default_pool_share",
            check_number("default_pool_share", self.default_pool_share, low=0.0, high=1.0),
        )


@dataclass(frozen=True, eq=False)
class Decision:
    """A decoded action.

    Attributes:
        targets: ``(A, 4)`` requested total allocation per app, absolute units (vCPU, MiB,
            KB/s, KB/s), before guardrails.
        pool_share: Requested pool target as a share of C, or None (engine decides).
        shift_mask: ``(A,)`` True for apps one of whose components should move to a spare,
            or None (engine decides).
    """

    targets: F64
    pool_share: float | None = None
    shift_mask: NDArray[np.bool_] | None = None


class ActionCodec:
    """Translates the flat action vector into a :class:`Decision` and back.

    Args:
        spec: The cluster's static description.
        config: The action space.
        component_map: Shared component/application conversions (one is made if None).
    """

    def __init__(
        self,
        spec: ClusterSpec,
        config: ActionConfig | None = None,
        *,
        component_map: ComponentMap | None = None,
    ) -> None:
        self.spec = spec
        self.config = config or ActionConfig()
        self.components = component_map or ComponentMap(spec)
        self.n_apps = spec.n_apps
        self.n_scale = self.n_apps * N_RESOURCES
        self.has_pool = self.config.pool_control is ControlSource.POLICY
        self.has_shift = self.config.shift_control is ControlSource.POLICY
        self.size = self.n_scale + int(self.has_pool) + (self.n_apps if self.has_shift else 0)
        self._factors = np.asarray(self.config.scale_factors, dtype=np.float64)
        log_f = np.log(self._factors)
        self._log_midpoints = (log_f[1:] + log_f[:-1]) / 2.0
        self._hold_index = int(self.config.scale_factors.index(1.0))
        self._levels = np.asarray(self.config.pool_levels, dtype=np.float64)
        self.space: spaces.MultiDiscrete | spaces.Box = self._make_space()
        self._discrete = self.config.mode is ActionMode.DISCRETE
        if isinstance(self.space, spaces.MultiDiscrete):
            self._nvec = self.space.nvec
        else:
            self._low = self.space.low
            self._high = self.space.high

    def _make_space(self) -> spaces.MultiDiscrete | spaces.Box:
        """The gymnasium action space of the configured layout."""
        if self.config.mode is ActionMode.DISCRETE:
            nvec = [len(self.config.scale_factors)] * self.n_scale
            if self.has_pool:
                nvec.append(len(self.config.pool_levels))
            if self.has_shift:
                nvec += [2] * self.n_apps
            return spaces.MultiDiscrete(np.asarray(nvec, dtype=np.int64))
        high = np.full(self.size, 1.0, dtype=np.float32)
        high[: self.n_scale] = self.config.max_target
        return spaces.Box(low=np.zeros(self.size, np.float32), high=high, dtype=np.float32)

    @property
    def hold_action(self) -> NDArray[np.int64] | NDArray[np.float32]:
        """An action that changes nothing (DISCRETE only; CONTINUOUS needs the state)."""
        if self._discrete:
            action = np.full(self.size, self._hold_index, dtype=np.int64)
            if self.has_pool:
                action[self.n_scale] = self._nearest_level(self.config.default_pool_share)
            if self.has_shift:
                action[self.size - self.n_apps :] = 0
            return action
        raise ActionError(
            "a CONTINUOUS hold action depends on the pending allocation; use "
            "encode_targets(pending, pending)"
        )

    def decode(self, action: object, state: ClusterState, ref: F64) -> Decision:
        """The :class:`Decision` an action asks for in ``state``.

        Args:
            action: A member of :attr:`space`.
            state: The latest snapshot (its pending allocation is the base of DISCRETE steps).
            ref: ``(A, 4)`` reference sizes (CONTINUOUS targets are in these units).

        Raises:
            ActionError: Wrong shape, dtype or a value outside :attr:`space`.
        """
        arr = self._check(action)
        n = self.n_scale
        if self._discrete:
            index: NDArray[np.intp] = arr.astype(np.intp, copy=False)
            _, pending = self.components.app_allocation(state)
            factors: F64 = self._factors[index[:n]]
            targets = factors.reshape(self.n_apps, N_RESOURCES) * pending
            pool_share = float(self._levels[index[n]]) if self.has_pool else None
            shift = index[self.size - self.n_apps :] == 1 if self.has_shift else None
        else:
            values = arr.astype(np.float64, copy=False)
            targets = values[:n].reshape(self.n_apps, N_RESOURCES) * ref
            pool_share = float(values[n]) if self.has_pool else None
            shift = values[self.size - self.n_apps :] > 0.5 if self.has_shift else None
        return Decision(targets=targets, pool_share=pool_share, shift_mask=shift)

    def _check(self, action: object) -> NDArray[np.generic]:
        """The action as an array, or an :class:`ActionError` naming the expected space."""
        arr = np.asarray(action)
        if arr.shape != (self.size,):
            raise ActionError(
                f"action has shape {arr.shape}, expected ({self.size},) for the space {self.space}"
            )
        if self._discrete:
            if arr.dtype.kind not in "iu":
                raise ActionError(
                    f"action has dtype {arr.dtype}, expected integers for the space {self.space}"
                )
            if arr.min() < 0 or (arr >= self._nvec).any():
                bad = int(np.flatnonzero((arr < 0) | (arr >= self._nvec))[0])
                raise ActionError(
                    f"action entry {bad} is {arr[bad]}, outside [0, {self._nvec[bad] - 1}] of the "
                    f"space {self.space}"
                )
            return arr
        if arr.dtype.kind != "f":
            raise ActionError(
                f"action has dtype {arr.dtype}, expected floats for the space {self.space}"
            )
        if not (np.isfinite(arr).all() and (arr >= self._low).all() and (arr <= self._high).all()):
            bad = int(np.flatnonzero(~((arr >= self._low) & (arr <= self._high)))[0])
            raise ActionError(
                f"action entry {bad} is {arr[bad]}, outside [{self._low[bad]}, {self._high[bad]}] "
                f"of the space {self.space}; clip it first"
            )
        return arr.astype(np.float64)

    def encode_targets(
        self,
        targets: F64,
        pending: F64,
        *,
        pool_share: float | None = None,
        shift_mask: NDArray[np.bool_] | None = None,
    ) -> NDArray[np.int64] | NDArray[np.float32]:
        """The action closest to wanted targets, for policies that think in targets.

        Args:
            targets: ``(A, 4)`` wanted allocation in reference units.
            pending: ``(A, 4)`` pending allocation in reference units (the observation's
                ``pending``); DISCRETE picks the scale factor nearest ``targets / pending``
                in log space. A NaN target holds (DISCRETE) or asks for 0 (CONTINUOUS).
            pool_share: Wanted pool target share of C (POLICY pool control); None gives
                ``default_pool_share``.
            shift_mask: ``(A,)`` apps to shift (POLICY shift control); None shifts none.

        Returns:
            A member of :attr:`space`.

        Raises:
            ActionError: ``targets`` or ``pending`` does not have shape ``(A, 4)``.
        """
        want = np.asarray(targets, dtype=np.float64)
        base = np.asarray(pending, dtype=np.float64)
        shape = (self.n_apps, N_RESOURCES)
        if want.shape != shape or base.shape != shape:
            raise ActionError(
                f"targets and pending must have shape {shape}, got {want.shape} and {base.shape}"
            )
        share = self.config.default_pool_share if pool_share is None else float(pool_share)
        mask = np.zeros(self.n_apps, bool) if shift_mask is None else np.asarray(shift_mask, bool)
        if self._discrete:
            action = np.empty(self.size, dtype=np.int64)
            with np.errstate(divide="ignore", invalid="ignore"):
                log_ratio = np.log(want) - np.log(base)
            # NaN targets hold, as does a zero target on a zero allocation
            log_ratio[np.isnan(want) | ((want <= 0) & (base <= 0))] = 0.0
            action[: self.n_scale] = np.searchsorted(self._log_midpoints, log_ratio.ravel())
            if self.has_pool:
                action[self.n_scale] = self._nearest_level(share)
            if self.has_shift:
                action[self.size - self.n_apps :] = mask
            return action
        out = np.empty(self.size, dtype=np.float32)
        out[: self.n_scale] = np.clip(
            np.nan_to_num(want, nan=0.0), 0.0, self.config.max_target
        ).ravel()
        if self.has_pool:
            out[self.n_scale] = min(1.0, max(0.0, share))
        if self.has_shift:
            out[self.size - self.n_apps :] = mask
        return out

    def _nearest_level(self, share: float) -> int:
        """Index of the pool level closest to ``share``."""
        return int(np.argmin(np.abs(self._levels - share)))
