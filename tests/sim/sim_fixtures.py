"""Small workloads and configs shared by the simulator tests (not a conftest)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.sim.config import ClusterConfig
from shadowsim.workloads.workload import Workload

UNITS = np.array([1.0, 1024.0, 500.0, 500.0])
"""A typical demand per resource: vCPU, MiB, KB/s, KB/s."""


def make_workload(
    n_apps: int = 6,
    n_ticks: int = 24,
    *,
    seed: int = 0,
    wave: float = 0.5,
    noise: float = 0.3,
    demand: NDArray[np.float64] | None = None,
    priority: NDArray[np.int8] | None = None,
    sla_response_s: float = 0.5,
    sla_max_error_rate: float = 0.01,
    active: NDArray[np.bool_] | None = None,
) -> Workload:
    """A seeded workload of varying demand (or the given ``demand``), 300 s ticks."""
    rng = np.random.default_rng(seed)
    if demand is None:
        level = rng.gamma(2.0, 1.0, (n_apps, 1, 4)) * UNITS
        t = np.arange(n_ticks)[None, :, None]
        shape = 1.0 + wave * np.sin(2 * np.pi * t / 12.0 + rng.uniform(0, 6, (n_apps, 1, 4)))
        demand = level * shape * rng.uniform(1.0 - noise, 1.0 + noise, (n_apps, n_ticks, 4))
    n_apps, n_ticks, _ = demand.shape
    if priority is None:
        priority = (np.arange(n_apps) % 3).astype(np.int8)
    return Workload(
        demand=np.asarray(demand, dtype=np.float64),
        interval_s=300.0,
        app_ids=tuple(f"app{i}" for i in range(n_apps)),
        priority=priority,
        sla_response_s=np.full(n_apps, sla_response_s),
        sla_max_error_rate=np.full(n_apps, sla_max_error_rate),
        active=active,
    )


def small_cluster(fit: Workload | None = None, **overrides: object) -> ClusterConfig:
    """Small hosts (so that a few apps need several), one VM per app unless overridden.

    With ``fit``, each resource of the host is raised, when needed, to the largest peak
    demand of one component of that workload (a given host shape smaller than a component
    is a ConfigError).
    """
    capacity = np.array([8.0, 16_384.0, 5_000.0, 5_000.0])
    fields: dict[str, object] = {"components_per_app": 1}
    fields.update(overrides)
    if fit is not None:
        per_app = int(fields["components_per_app"])  # type: ignore[call-overload]
        overcommit = np.asarray(fields.get("overcommit", (1.0,) * 4), dtype=np.float64)
        peak = fit.demand.max(axis=(0, 1)) / per_app / overcommit
        capacity = np.maximum(capacity, np.ceil(peak))
    fields.setdefault("host_capacity", tuple(float(x) for x in capacity))
    return ClusterConfig(**fields)  # type: ignore[arg-type]
