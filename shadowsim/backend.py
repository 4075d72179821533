"""The backend protocol: the seam between decisions and the cluster they act on.

The SimPy simulator (:mod:`shadowsim.sim`) and the libvirt adapter (:mod:`shadowsim.live`)
both implement :class:`ClusterBackend`, so the allocation engine, the observation builder
and every policy run unchanged against either.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from shadowsim.actions import Action, ActionResult
from shadowsim.cluster_state import ClusterSpec, ClusterState


@runtime_checkable
class ClusterBackend(Protocol):
    """A cluster that can be observed, acted on and advanced in time."""

    @property
    def spec(self) -> ClusterSpec:
        """The static description of the cluster."""
        ...

    @property
    def now_s(self) -> float:
        """Current backend time, s."""
        ...

    @property
    def done(self) -> bool:
        """True when the backend cannot advance any further (e.g. the workload ended)."""
        ...

    def observe(self) -> ClusterState:
        """The latest snapshot (the one produced by the last :meth:`advance`).

        A backend may hand out snapshots whose arrays are views of its buffers, valid
        until its next :meth:`advance` (the simulator does); ``state.copy()`` keeps one.
        """
        ...

    def apply(self, actions: Sequence[Action]) -> list[ActionResult]:
        """Validate and start each action; return one result per action, in order."""
        ...

    def advance(self) -> ClusterState:
        """Run until the next control tick (``spec.interval_s`` later) and return its snapshot."""
        ...
