"""Actions a policy can ask of any :class:`~shadowsim.backend.ClusterBackend`, and their results.

Every backend validates each action and answers with one :class:`ActionResult`, accepted or
rejected with a reason: an action is never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.resources import Resource


@dataclass(frozen=True)
class ScaleAction:
    """Set an application's total allocation of one resource.

    The backend spreads the total over the application's components by their demand share
    and applies it after its actuation latency.

    Attributes:
        app: Application index.
        resource: Which resource.
        target: New total allocation, in the resource's unit (vCPU, MiB, KB/s).
    """

    app: int
    resource: Resource
    target: float


@dataclass(frozen=True, eq=False)
class ScaleAllAction:
    """Set many allocations at once: one entry per application and resource.

    The bulk form of :class:`ScaleAction`, for policies that decide for every application
    each tick (thousands of :class:`ScaleAction` objects per tick would be too slow). Each
    entry is validated on its own; the :class:`ActionResult` carries a
    :class:`ScaleAllOutcome` saying, per entry, whether it was accepted and whether it was
    clamped.

    Attributes:
        targets: ``(A, 4)`` new total allocation per application and resource, in the
            resource's unit (vCPU, MiB, KB/s); NaN means "hold" (leave that entry as it is).
    """

    targets: NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class ScaleAllOutcome:
    """Per-entry result of a :class:`ScaleAllAction` (or of a :class:`ScaleAction`).

    Attributes:
        accepted: ``(A, 4)`` True where a target was given and started (possibly clamped).
        clamped: ``(A, 4)`` True where the applied target differs from the one asked for
            (bounds of the VM size, or room left on the host).
        applied: ``(A, 4)`` total allocation that will be in force once scaling lands; NaN
            where nothing was started.
        rejected_reasons: Count of rejected entries per reason, e.g.
            ``{"negative target": 2}``; empty when every given entry was accepted.
    """

    accepted: NDArray[np.bool_]
    clamped: NDArray[np.bool_]
    applied: NDArray[np.float64]
    rejected_reasons: dict[str, int]

    @classmethod
    def assemble(
        cls,
        accepted: NDArray[np.bool_],
        clamped: NDArray[np.bool_],
        applied: NDArray[np.float64],
        rejected_reasons: dict[str, int],
    ) -> ScaleAllOutcome:
        """The same object as the constructor makes (which checks nothing), without running
        ``__init__``: for backends that make one per control tick."""
        outcome = object.__new__(cls)
        outcome.__dict__.update(
            accepted=accepted, clamped=clamped, applied=applied, rejected_reasons=rejected_reasons
        )
        return outcome


@dataclass(frozen=True)
class MigrateAction:
    """Live-migrate a component's VM to another host.

    Attributes:
        component: Component index.
        host: Destination host index.
    """

    component: int
    host: int


@dataclass(frozen=True)
class ShiftToSpareAction:
    """Move a (non-critical) component onto a spare VM from the warm-standby pool.

    The backend activates the readiest spare on a host with room, then moves the component
    there; the component's old VM is released.

    Attributes:
        component: Component index.
    """

    component: int


@dataclass(frozen=True)
class PoolTargetAction:
    """Set the spare pool's target size per readiness state.

    Attributes:
        targets: Number of spare VMs wanted in each :class:`~shadowsim.readiness.Readiness`
            state, in enum order.
    """

    targets: tuple[int, ...]


Action = ScaleAction | ScaleAllAction | MigrateAction | ShiftToSpareAction | PoolTargetAction


@dataclass(frozen=True)
class ActionResult:
    """What a backend did with one action.

    Attributes:
        action: The action as submitted.
        accepted: True when the backend started carrying it out.
        reason: Why it was rejected or changed (empty when accepted unchanged).
        effective_at_s: Simulated or wall time at which it takes effect, s, when accepted.
        outcome: Per-entry details for :class:`ScaleAllAction` and :class:`ScaleAction`;
            None for the other actions.
    """

    action: Action
    accepted: bool
    reason: str = ""
    effective_at_s: float | None = None
    outcome: ScaleAllOutcome | None = None

    @classmethod
    def assemble(
        cls,
        action: Action,
        accepted: bool,
        reason: str,
        effective_at_s: float | None,
        outcome: ScaleAllOutcome | None,
    ) -> ActionResult:
        """The same object as the constructor makes (which checks nothing), without running
        ``__init__``: for backends that make one per control tick."""
        result = object.__new__(cls)
        result.__dict__.update(
            action=action,
            accepted=accepted,
            reason=reason,
            effective_at_s=effective_at_s,
            outcome=outcome,
        )
        return result
