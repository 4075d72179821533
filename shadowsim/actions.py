"""Actions a policy can ask of any :class:`~shadowsim.backend.ClusterBackend`, and their results.

Every backend validates each action and answers with one :class:`ActionResult`, accepted or
rejected with a reason: an action is never silently dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

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


Action = ScaleAction | MigrateAction | ShiftToSpareAction | PoolTargetAction


@dataclass(frozen=True)
class ActionResult:
    """What a backend did with one action.

    Attributes:
        action: The action as submitted.
        accepted: True when the backend started carrying it out.
        reason: Why it was rejected or changed (empty when accepted unchanged).
        effective_at_s: Simulated or wall time at which it takes effect, s, when accepted.
    """

    action: Action
    accepted: bool
    reason: str = ""
    effective_at_s: float | None = None
