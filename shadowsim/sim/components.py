"""Applications split into components: each component runs on its own VM.

Every application has the same number ``k`` of components, numbered contiguously: the
components of application ``a`` are ``a * k ... a * k + k - 1``. Component ``j`` of every
application carries the fixed share ``shares[j]`` of the application's demand of every
resource and of its requests. The first component of each application is critical, and
so is every component of a HIGH-priority application: critical components are never moved
to a spare VM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError
from shadowsim.workloads.workload import Priority


@dataclass(frozen=True, eq=False)
class ComponentLayout:
    """Which application each component belongs to and what share of it it carries.

    Attributes:
        per_app: Components per application, ``k``.
        shares: ``(k,)`` share of the application's demand per component position; sums to 1.
        component_app: ``(C,)`` application index of each component.
        component_share: ``(C,)`` share of each component.
        critical: ``(C,)`` True for components that must never be moved to a spare.
    """

    per_app: int
    shares: NDArray[np.float64]
    component_app: NDArray[np.intp]
    component_share: NDArray[np.float64]
    critical: NDArray[np.bool_]

    @property
    def n_components(self) -> int:
        """Number of components (= VMs running application work)."""
        return int(self.component_app.shape[0])

    @classmethod
    def build(
        cls, priority: NDArray[np.int8], per_app: int, shares: tuple[float, ...] | None
    ) -> ComponentLayout:
        """Split ``len(priority)`` applications into ``per_app`` components each.

        Args:
            priority: ``(A,)`` priority class of each application.
            per_app: Components per application, >= 1.
            shares: Share per component position (sums to 1), or None for an equal split.

        Raises:
            ConfigError: When the shares do not match ``per_app`` or do not sum to 1.
        """
        if shares is None:
            share_k = np.full(per_app, 1.0 / per_app)
        else:
            if len(shares) != per_app:
                raise ConfigError(
                    "cluster.component_shares",
                    f"expected {per_app} shares (components_per_app), got {len(shares)}",
                )
            share_k = np.asarray(shares, dtype=np.float64)
            if abs(float(share_k.sum()) - 1.0) > 1e-9 or (share_k <= 0).any():
                raise ConfigError(
                    "cluster.component_shares",
                    f"shares must be > 0 and sum to 1, got {list(shares)}",
                )
        n_apps = int(priority.shape[0])
        component_app = np.repeat(np.arange(n_apps, dtype=np.intp), per_app)
        position = np.tile(np.arange(per_app), n_apps)
        critical = (position == 0) | (priority[component_app] == Priority.HIGH)
        share_k.setflags(write=False)
        return cls(
            per_app=per_app,
            shares=share_k,
            component_app=component_app,
            component_share=share_k[position],
            critical=critical,
        )

    def to_components(self, per_app: NDArray[np.float64]) -> NDArray[np.float64]:
        """Split ``(A, ...)`` application totals into ``(C, ...)`` component values."""
        if self.per_app == 1:
            return per_app.copy()
        share = self.component_share.reshape((-1,) + (1,) * (per_app.ndim - 1))
        return per_app[self.component_app] * share

    def to_apps(self, per_component: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sum ``(..., C, R)`` component values over each application into ``(..., A, R)``."""
        if self.per_app == 1:
            return per_component
        shape = per_component.shape
        grouped = per_component.reshape((*shape[:-2], -1, self.per_app, shape[-1]))
        result: NDArray[np.float64] = grouped.sum(axis=-2)
        return result

    def sum_apps(self, per_component: NDArray[np.float64]) -> NDArray[np.float64]:
        """Sum ``(..., C)`` values over each application's components: ``(..., A)``."""
        if self.per_app == 1:
            return per_component
        shape = per_component.shape
        result: NDArray[np.float64] = per_component.reshape((*shape[:-1], -1, self.per_app)).sum(
            axis=-1
        )
        return result

    def weighted_apps(self, per_component: NDArray[np.float64]) -> NDArray[np.float64]:
        """Share-weighted mean of ``(..., C)`` values over each application: ``(..., A)``."""
        if self.per_app == 1:
            return per_component
        shape = per_component.shape
        grouped = per_component.reshape((*shape[:-1], -1, self.per_app))
        result: NDArray[np.float64] = grouped @ self.shares
        return result
