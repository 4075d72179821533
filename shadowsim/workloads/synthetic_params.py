"""Per-application parameters of the synthetic generator, drawn from archetype profiles.

:func:`draw_app_params` turns the archetype of every application into concrete numbers (VM
size, typical demand per resource, rhythm, noise, event rates) by uniform draws within the
ranges of :mod:`shadowsim.workloads.synthetic_archetypes`, vectorised over applications.
Rates and times are converted to ticks of the workload's interval here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.resources import Resource
from shadowsim.workloads.synthetic_archetypes import ARCHETYPES, Archetype, ArchetypeProfile

F64 = NDArray[np.float64]
ARCHETYPE_ORDER: tuple[Archetype, ...] = tuple(Archetype)
"""Archetypes in the order used by integer archetype codes."""
MIN_MEM_MIB = 1024.0
"""Smallest VM memory, MiB (1 GiB)."""
MAX_MEM_MIB = 65536.0
"""Largest VM memory, MiB (64 GiB)."""
IO_ALLOWANCE = 2.0
"""Nominal disk/network allowance of a VM, as a multiple of its peak-hour throughput (for
disk, at least the nightly backup's peak-to-trough ratio)."""
BACKUP_SHARPNESS = 3.0
"""Concentration of the nightly backup window (about two hours wide)."""


@dataclass(frozen=True)
class Scales:
    """Global multipliers of the archetype parameters (1 = as profiled, 0 = off)."""

    seasonality: float = 1.0
    trend: float = 1.0
    noise: float = 1.0
    burst_rate: float = 1.0
    regime_shift_rate: float = 1.0


@dataclass(frozen=True, eq=False)
class AppParams:
    """Concrete generator parameters, one row per application.

    Attributes:
        archetype: ``(n,)`` index into :data:`ARCHETYPE_ORDER`.
        provisioned: ``(n, 4)`` nominal VM size: vCPU, MiB, and the disk and network
            allowance (KB/s, :data:`IO_ALLOWANCE` times the peak-hour throughput).
        level: ``(n, 4)`` demand per resource (vCPU, MiB, KB/s, KB/s) at the weekday daily
            peak, before trend, shifts, noise and events.
        elasticity: ``(n, 4)`` exponent of the shared load per resource.
        resource_noise: ``(n, 4)`` log-std of independent per-tick noise per resource.
        peak_hour: ``(n,)`` UTC hour of the daily peak.
        sharpness: ``(n,)`` concentration of the daily peak.
        daily_log_amp: ``(n,)`` log-load of the daily peak above the trough.
        weekend_log: ``(n,)`` log of the weekend-to-weekday load ratio.
        trend_per_week: ``(n,)`` log growth of load per week.
        noise_sigma: ``(n,)`` log-std of the slow shared load noise.
        noise_phi: ``(n,)`` lag-1 autocorrelation of that noise at the workload's interval.
        burst_rate: ``(n,)`` bursts per tick.
        burst_excess: ``(n,)`` mean extra load at a burst peak.
        burst_decay: ``(n,)`` mean burst decay time, ticks.
        regime_rate: ``(n,)`` level shifts per tick.
        regime_sigma: ``(n,)`` log-std of one level shift.
        flash_exposure: ``(n,)`` how much flash crowds hit the app, in [0, 1].
        backup_log_amp: ``(n,)`` log disk boost at the nightly backup peak (0 = no backup).
        backup_hour: ``(n,)`` UTC hour of the nightly backup.
        priority_shares: ``(n, 3)`` class shares (HIGH, MEDIUM, LOW) of the app's archetype.
    """

    archetype: NDArray[np.intp]
    provisioned: F64
    level: F64
    elasticity: F64
    resource_noise: F64
    peak_hour: F64
    sharpness: F64
    daily_log_amp: F64
    weekend_log: F64
    trend_per_week: F64
    noise_sigma: F64
    noise_phi: F64
    burst_rate: F64
    burst_excess: F64
    burst_decay: F64
    regime_rate: F64
    regime_sigma: F64
    flash_exposure: F64
    backup_log_amp: F64
    backup_hour: F64
    priority_shares: F64


def draw_app_params(
    rng: np.random.Generator, archetype: NDArray[np.intp], interval_s: float, scales: Scales
) -> AppParams:
    """Draw every application's parameters from the profile of its archetype.

    Args:
        rng: Source of randomness (consumed in a fixed order).
        archetype: ``(n,)`` index into :data:`ARCHETYPE_ORDER` per application.
        interval_s: Tick length, s.
        scales: Global multipliers.

    Returns:
        The :class:`AppParams` of all applications.
    """
    n = archetype.shape[0]
    profiles = [ARCHETYPES[a] for a in ARCHETYPE_ORDER]

    def uniform(name: str) -> F64:
        table = np.array([getattr(p, name) for p in profiles], dtype=np.float64)[archetype]
        return table[:, 0] + (table[:, 1] - table[:, 0]) * rng.random(n)

    def const(name: str) -> F64:
        return np.array([getattr(p, name) for p in profiles], dtype=np.float64)[archetype]

    vcpu = _vcpus(rng, archetype, profiles)
    mem_mib = np.clip(vcpu * uniform("gib_per_vcpu") * 1024.0, MIN_MEM_MIB, MAX_MEM_MIB)
    level = np.empty((n, 4))
    level[:, Resource.CPU] = vcpu * uniform("cpu_peak_util")
    level[:, Resource.MEMORY] = mem_mib * uniform("mem_peak_util")
    level[:, Resource.DISK] = vcpu * uniform("disk_kbps_per_vcpu")
    level[:, Resource.NETWORK] = vcpu * uniform("net_kbps_per_vcpu")
    backup_ratio = uniform("backup_ratio")
    # The disk allowance also covers the nightly backup (a boost of up to backup_ratio).
    disk_allowance = np.maximum(IO_ALLOWANCE, backup_ratio) * level[:, Resource.DISK]
    net_allowance = IO_ALLOWANCE * level[:, Resource.NETWORK]
    provisioned = np.stack([vcpu, mem_mib, disk_allowance, net_allowance], axis=1)
    elasticity = const("elasticity") * rng.uniform(0.8, 1.2, size=(n, 4))
    resource_noise = const("resource_noise") * scales.noise

    sharpness = uniform("daily_sharpness")
    # Normalise the bump exp(k(cos - 1)), which spans [exp(-2k), 1], so that peak/trough
    # of the load is the drawn ratio.
    span = 1.0 - np.exp(-2.0 * sharpness)
    daily_log_amp = scales.seasonality * np.log(uniform("daily_ratio")) / span
    backup_span = 1.0 - np.exp(-2.0 * BACKUP_SHARPNESS)
    backup_log_amp = scales.seasonality * np.log(backup_ratio) / backup_span
    trend = const("trend_per_week")
    trend_per_week = scales.trend * (trend[:, 0] + trend[:, 1] * rng.standard_normal(n))
    ticks_per_day = 86_400.0 / interval_s
    ticks_per_week = 7.0 * ticks_per_day
    return AppParams(
        archetype=archetype,
        provisioned=provisioned,
        level=level,
        elasticity=elasticity,
        resource_noise=resource_noise,
        peak_hour=uniform("peak_hour"),
        sharpness=sharpness,
        daily_log_amp=daily_log_amp,
        weekend_log=scales.seasonality * np.log(uniform("weekend_ratio")),
        trend_per_week=trend_per_week,
        noise_sigma=scales.noise * uniform("noise_sigma"),
        noise_phi=np.exp(-interval_s / uniform("noise_corr_s")),
        burst_rate=scales.burst_rate * const("bursts_per_day") / ticks_per_day,
        burst_excess=const("burst_excess"),
        burst_decay=const("burst_decay_s") / interval_s,
        regime_rate=scales.regime_shift_rate * const("regime_shifts_per_week") / ticks_per_week,
        regime_sigma=const("regime_sigma"),
        flash_exposure=const("flash_exposure"),
        backup_log_amp=backup_log_amp,
        backup_hour=uniform("backup_hour"),
        priority_shares=const("priority_shares"),
    )


def _vcpus(
    rng: np.random.Generator, archetype: NDArray[np.intp], profiles: list[ArchetypeProfile]
) -> F64:
    """VM size in vCPU per application, drawn from its archetype's choices."""
    vcpu = np.empty(archetype.shape[0])
    for code, profile in enumerate(profiles):
        mask = archetype == code
        vcpu[mask] = rng.choice(np.array(profile.vcpu_choices, dtype=np.float64), size=mask.sum())
    return vcpu
