"""Fast conversions between per-component, per-application and per-host arrays.

The engine works per application (A), backends report per component (C) and host (H).
:class:`ComponentMap` precomputes what it needs once per :class:`ClusterSpec`, so the hot
path sums ``(C, 4)`` arrays into ``(A, 4)`` with one ``np.add.reduceat`` (components of an
application are usually contiguous) and into ``(H, 4)`` with one ``np.bincount``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.errors import ConfigError
from shadowsim.resources import N_RESOURCES

F64 = NDArray[np.float64]


class ComponentMap:
    """Sums and spreads arrays between components, applications and hosts.

    Args:
        spec: The cluster's static description.

    Raises:
        ConfigError: An application has no component, or a component names no application.
    """

    def __init__(self, spec: ClusterSpec) -> None:
        app = np.asarray(spec.component_app, dtype=np.intp)
        n_apps = spec.n_apps
        if app.size == 0 or app.min() < 0 or app.max() >= n_apps:
            raise ConfigError(
                "cluster.component_app",
                f"every component must belong to one of the {n_apps} applications",
            )
        counts = np.bincount(app, minlength=n_apps)
        if (counts == 0).any():
            missing = int(np.flatnonzero(counts == 0)[0])
            raise ConfigError(
                "cluster.component_app",
                f"application {spec.app_ids[missing]!r} has no component; every application "
                "needs at least one",
            )
        self.spec = spec
        self.n_apps = n_apps
        self.n_components = int(app.shape[0])
        self.component_app = app
        self.share = np.asarray(spec.component_share, dtype=np.float64)[:, None]
        self._contiguous = bool((np.diff(app) >= 0).all())
        self._starts = np.flatnonzero(np.r_[True, app[1:] != app[:-1]])
        # every application has the same number of contiguous components: strided sums
        uniform = self._contiguous and bool((counts == counts[0]).all())
        self._per_app = int(counts[0]) if uniform else 0
        self._matrix: F64 | None = None
        if not self._contiguous:
            self._matrix = np.zeros((n_apps, self.n_components))
            self._matrix[app, np.arange(self.n_components)] = 1.0
        self._res = np.arange(N_RESOURCES, dtype=np.intp)
        self._cells_host: NDArray[np.intp] | None = None
        self._cells_seen: NDArray[np.intp] | None = None
        self._cells = np.zeros(0, dtype=np.intp)
        self._share4 = np.ascontiguousarray(np.broadcast_to(self.share, (self.n_components, 4)))
        self._host_matrix = np.zeros((0, n_apps))
        self._host_matrix_cells: NDArray[np.intp] | None = None
        self._entries_of: F64 | None = None
        self._entries: tuple[NDArray[np.int64], F64] = (
            np.zeros((0, 2), dtype=np.int64),
            np.zeros(0),
        )
        self._cached_state: ClusterState | None = None
        self._cached: tuple[F64, F64] = (np.zeros((0, N_RESOURCES)), np.zeros((0, N_RESOURCES)))

    def to_apps(self, per_component: F64) -> F64:
        """Sum a ``(C, 4)`` array over each application's components into ``(A, 4)``.

        With one or two components per application (contiguous) this is a copy or one
        strided sum, several times faster than ``np.add.reduceat`` on small arrays and equal
        to it bit for bit (with three or more, ``reduceat`` adds in another order: used as is).
        """
        if self._matrix is not None:
            result: F64 = self._matrix @ per_component
            return result
        k = self._per_app
        if k == 1:
            return per_component.copy()
        if k == 2:
            total: F64 = per_component[0::2] + per_component[1::2]
            return total
        return np.add.reduceat(per_component, self._starts, axis=0)

    def to_components(self, per_app: F64) -> F64:
        """Spread a ``(A, 4)`` per-application total over its components by their share."""
        result: F64 = per_app.take(self.component_app, axis=0)
        result *= self._share4
        return result

    def host_matrix(self, host_of: NDArray[np.intp], n_hosts: int) -> F64:
        """``(H, A)`` share of each application's demand that runs on each host.

        ``host_matrix @ per_app`` gives the ``(H, 4)`` host totals of per-application
        quantities spread over the components by share (one small matrix product). Cached
        for the last placement seen.
        """
        cells = self.host_cells(host_of)
        if self._host_matrix.shape[0] != n_hosts or self._host_matrix_cells is not cells:
            matrix = np.zeros((n_hosts, self.n_apps))
            hosts = np.asarray(host_of, dtype=np.intp)
            np.add.at(matrix, (hosts, self.component_app), self.share[:, 0])
            self._host_matrix = matrix
            self._host_matrix_cells = cells
        return self._host_matrix

    def host_entries(
        self, host_of: NDArray[np.intp], n_hosts: int
    ) -> tuple[NDArray[np.int64], F64]:
        """The non-zero entries of :meth:`host_matrix`, row-major (host, then application).

        Returns ``(E, 2)`` rows ``(host, app)`` and the ``(E,)`` shares, for compiled
        kernels that sum over applications in the matrix product's order without the
        zeros. Cached with the host matrix.
        """
        if (  # the same read-only placement (a snapshot's) as last time: nothing to check
            host_of is self._cells_seen
            and host_of.base is None
            and not host_of.flags.writeable
            and self._host_matrix_cells is self._cells
            and self._entries_of is self._host_matrix
            and self._host_matrix.shape[0] == n_hosts
        ):
            return self._entries
        matrix = self.host_matrix(host_of, n_hosts)
        if matrix is not self._entries_of:
            hosts, apps = np.nonzero(matrix)
            rows = np.ascontiguousarray(np.stack([hosts, apps], axis=1), dtype=np.int64)
            self._entries = (rows, np.ascontiguousarray(matrix[hosts, apps]))
            self._entries_of = matrix
        return self._entries

    def host_cells(self, host_of: NDArray[np.intp]) -> NDArray[np.intp]:
        """``(C * 4,)`` flat ``host * 4 + resource`` index of every component entry.

        Cached for the last placement seen (placements change only when components move);
        a read-only array seen last time (a snapshot's, shared while nothing moves) is not
        compared again.
        """
        if host_of is self._cells_seen and host_of.base is None and not host_of.flags.writeable:
            return self._cells
        if self._cells_host is None or not np.array_equal(host_of, self._cells_host):
            self._cells_host = np.array(host_of, dtype=np.intp, copy=True)
            self._cells = (self._cells_host[:, None] * N_RESOURCES + self._res).ravel()
        self._cells_seen = host_of
        return self._cells

    def to_hosts(self, per_component: F64, host_of: NDArray[np.intp], n_hosts: int) -> F64:
        """Sum a ``(C, 4)`` array over the components on each host into ``(H, 4)``."""
        totals = np.bincount(
            self.host_cells(host_of),
            weights=per_component.ravel(),
            minlength=n_hosts * N_RESOURCES,
        )
        result: F64 = totals.reshape(n_hosts, N_RESOURCES).astype(np.float64, copy=False)
        return result

    def app_allocation(self, state: ClusterState) -> tuple[F64, F64]:
        """The ``(A, 4)`` allocation in force and pending allocation of ``state``.

        The result is cached for the last state seen, so the codec, the guardrails and the
        observation builder share one computation per tick. Callers must not modify it.
        """
        if state is not self._cached_state:
            self._cached = (
                self.to_apps(state.allocation),
                self.to_apps(state.pending_allocation),
            )
            self._cached_state = state
        return self._cached
