"""Application archetypes of the synthetic generator and the parameter ranges of each.

An archetype (web front end, database, batch job, ...) fixes the shape of an application's
demand: its VM size, utilisation, daily and weekly rhythm, noise, bursts, regime shifts,
exposure to flash crowds, how strongly each resource follows the shared load, and its mix of
priority classes. Each application draws its own parameters uniformly from the ranges of its
archetype, so no two applications are alike.

All times of day are UTC hours; a spread of peak hours stands for users in several time zones.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

Range = tuple[float, float]
"""A closed interval ``(low, high)`` that a per-application value is drawn from uniformly."""


class Archetype(Enum):
    """Kinds of application the synthetic generator mixes; values prefix the app ids."""

    WEB = "web"
    """Interactive front end: day/evening peak, weekend change, frequent bursts, flash crowds."""
    DATABASE = "db"
    """Transactional database: large memory, disk-heavy, nightly backup I/O, steady growth."""
    BATCH = "batch"
    """Nightly batch jobs: near idle by day, sharp night window, rare big bursts, low priority."""
    CACHE = "cache"
    """In-memory cache: memory-bound, light CPU, network follows the front ends."""
    STREAMING = "stream"
    """Streaming/messaging: network-heavy, evening peak, mild weekly rhythm."""


@dataclass(frozen=True)
class ArchetypeProfile:
    """Parameter ranges of one archetype.

    Attributes:
        vcpu_choices: VM sizes in vCPU, drawn with equal probability.
        gib_per_vcpu: Memory per vCPU, GiB (the VM's memory is clipped to 1-64 GiB).
        cpu_peak_util: CPU demand at the weekday daily peak, as a share of the VM's vCPUs.
        mem_peak_util: Memory demand at the weekday daily peak, as a share of the VM's memory.
        disk_kbps_per_vcpu: Disk throughput at the weekday daily peak per vCPU, KB/s.
        net_kbps_per_vcpu: Network throughput at the weekday daily peak per vCPU, KB/s.
        elasticity: How each resource (CPU, memory, disk, network) follows the shared load:
            demand grows as ``load ** elasticity``; each app scales these by U(0.8, 1.2).
        resource_noise: Log-std of the independent per-tick noise of each resource (the noise
            is uniform in log space).
        peak_hour: UTC hour of the daily peak.
        daily_ratio: Peak-to-trough ratio of the daily rhythm (1 = none).
        daily_sharpness: Concentration of the daily peak (von Mises kappa; small = sine-like,
            large = a narrow window).
        weekend_ratio: Weekend load relative to weekdays (1 = no weekly rhythm).
        trend_per_week: Mean and std of the log growth of load per week.
        noise_sigma: Log-std of the slow load noise shared by all resources of the app.
        noise_corr_s: Correlation time of that noise, s.
        bursts_per_day: Mean number of short bursts per day.
        burst_excess: Mean extra load at a burst's peak (1 = doubles the load).
        burst_decay_s: Mean exponential decay time of a burst, s.
        regime_shifts_per_week: Mean number of permanent level shifts per week.
        regime_sigma: Log-std of one level shift.
        flash_exposure: How much a flash crowd hits the app (0 = never, 1 = fully).
        backup_ratio: Disk peak-to-trough ratio of a nightly backup window (1 = no backup).
        backup_hour: UTC hour of the nightly backup.
        priority_shares: Shares of the classes (HIGH, MEDIUM, LOW) among apps of this kind.
    """

    vcpu_choices: tuple[int, ...]
    gib_per_vcpu: Range
    cpu_peak_util: Range
    mem_peak_util: Range
    disk_kbps_per_vcpu: Range
    net_kbps_per_vcpu: Range
    elasticity: tuple[float, float, float, float]
    resource_noise: tuple[float, float, float, float]
    peak_hour: Range
    daily_ratio: Range
    daily_sharpness: Range
    weekend_ratio: Range
    trend_per_week: tuple[float, float]
    noise_sigma: Range
    noise_corr_s: Range
    bursts_per_day: float
    burst_excess: float
    burst_decay_s: float
    regime_shifts_per_week: float
    regime_sigma: float
    flash_exposure: float
    backup_ratio: Range
    backup_hour: Range
    priority_shares: tuple[float, float, float]


ARCHETYPES: dict[Archetype, ArchetypeProfile] = {
    Archetype.WEB: ArchetypeProfile(
        vcpu_choices=(1, 2, 4, 8),
        gib_per_vcpu=(1.0, 4.0),
        cpu_peak_util=(0.35, 0.70),
        mem_peak_util=(0.45, 0.75),
        disk_kbps_per_vcpu=(20.0, 200.0),
        net_kbps_per_vcpu=(300.0, 3000.0),
        elasticity=(1.0, 0.25, 0.5, 1.1),
        resource_noise=(0.08, 0.02, 0.25, 0.12),
        peak_hour=(13.0, 21.0),
        daily_ratio=(2.5, 6.0),
        daily_sharpness=(0.6, 1.5),
        weekend_ratio=(0.55, 1.25),
        trend_per_week=(0.01, 0.02),
        noise_sigma=(0.08, 0.15),
        noise_corr_s=(1800.0, 7200.0),
        bursts_per_day=1.5,
        burst_excess=1.0,
        burst_decay_s=900.0,
        regime_shifts_per_week=0.15,
        regime_sigma=0.25,
        flash_exposure=1.0,
        backup_ratio=(1.0, 1.0),
        backup_hour=(0.0, 0.0),
        priority_shares=(0.35, 0.50, 0.15),
    ),
    Archetype.DATABASE: ArchetypeProfile(
        vcpu_choices=(4, 8, 16),
        gib_per_vcpu=(4.0, 8.0),
        cpu_peak_util=(0.40, 0.70),
        mem_peak_util=(0.65, 0.85),
        disk_kbps_per_vcpu=(500.0, 3000.0),
        net_kbps_per_vcpu=(200.0, 1500.0),
        elasticity=(0.9, 0.1, 0.8, 0.9),
        resource_noise=(0.06, 0.01, 0.20, 0.10),
        peak_hour=(13.0, 19.0),
        daily_ratio=(1.8, 3.5),
        daily_sharpness=(0.5, 1.2),
        weekend_ratio=(0.6, 1.0),
        trend_per_week=(0.015, 0.01),
        noise_sigma=(0.05, 0.10),
        noise_corr_s=(3600.0, 14400.0),
        bursts_per_day=0.5,
        burst_excess=0.6,
        burst_decay_s=1200.0,
        regime_shifts_per_week=0.08,
        regime_sigma=0.2,
        flash_exposure=0.5,
        backup_ratio=(3.0, 8.0),
        backup_hour=(1.0, 4.0),
        priority_shares=(0.60, 0.35, 0.05),
    ),
    Archetype.BATCH: ArchetypeProfile(
        vcpu_choices=(2, 4, 8, 16),
        gib_per_vcpu=(2.0, 4.0),
        cpu_peak_util=(0.60, 0.90),
        mem_peak_util=(0.50, 0.80),
        disk_kbps_per_vcpu=(300.0, 2000.0),
        net_kbps_per_vcpu=(50.0, 400.0),
        elasticity=(1.1, 0.6, 1.0, 0.7),
        resource_noise=(0.10, 0.05, 0.30, 0.20),
        peak_hour=(0.0, 5.0),
        daily_ratio=(6.0, 20.0),
        daily_sharpness=(2.0, 5.0),
        weekend_ratio=(0.9, 1.1),
        trend_per_week=(0.005, 0.02),
        noise_sigma=(0.10, 0.20),
        noise_corr_s=(1800.0, 3600.0),
        bursts_per_day=0.3,
        burst_excess=1.5,
        burst_decay_s=3600.0,
        regime_shifts_per_week=0.2,
        regime_sigma=0.35,
        flash_exposure=0.0,
        backup_ratio=(1.0, 1.0),
        backup_hour=(0.0, 0.0),
        priority_shares=(0.05, 0.25, 0.70),
    ),
    Archetype.CACHE: ArchetypeProfile(
        vcpu_choices=(1, 2, 4),
        gib_per_vcpu=(4.0, 8.0),
        cpu_peak_util=(0.15, 0.35),
        mem_peak_util=(0.75, 0.90),
        disk_kbps_per_vcpu=(5.0, 50.0),
        net_kbps_per_vcpu=(1000.0, 6000.0),
        elasticity=(1.0, 0.05, 0.3, 1.0),
        resource_noise=(0.10, 0.01, 0.30, 0.10),
        peak_hour=(13.0, 21.0),
        daily_ratio=(2.0, 5.0),
        daily_sharpness=(0.6, 1.5),
        weekend_ratio=(0.6, 1.2),
        trend_per_week=(0.01, 0.01),
        noise_sigma=(0.06, 0.12),
        noise_corr_s=(1800.0, 7200.0),
        bursts_per_day=1.0,
        burst_excess=0.8,
        burst_decay_s=600.0,
        regime_shifts_per_week=0.1,
        regime_sigma=0.2,
        flash_exposure=1.0,
        backup_ratio=(1.0, 1.0),
        backup_hour=(0.0, 0.0),
        priority_shares=(0.30, 0.60, 0.10),
    ),
    Archetype.STREAMING: ArchetypeProfile(
        vcpu_choices=(2, 4, 8),
        gib_per_vcpu=(2.0, 4.0),
        cpu_peak_util=(0.50, 0.75),
        mem_peak_util=(0.55, 0.80),
        disk_kbps_per_vcpu=(200.0, 1500.0),
        net_kbps_per_vcpu=(2000.0, 10000.0),
        elasticity=(0.9, 0.2, 0.9, 1.0),
        resource_noise=(0.05, 0.02, 0.15, 0.08),
        peak_hour=(18.0, 23.0),
        daily_ratio=(1.5, 3.0),
        daily_sharpness=(0.4, 1.0),
        weekend_ratio=(0.9, 1.3),
        trend_per_week=(0.02, 0.02),
        noise_sigma=(0.05, 0.10),
        noise_corr_s=(3600.0, 14400.0),
        bursts_per_day=0.5,
        burst_excess=0.7,
        burst_decay_s=1800.0,
        regime_shifts_per_week=0.1,
        regime_sigma=0.2,
        flash_exposure=0.6,
        backup_ratio=(1.0, 1.0),
        backup_hour=(0.0, 0.0),
        priority_shares=(0.20, 0.60, 0.20),
    ),
}
"""The built-in profile of every :class:`Archetype`."""

DEFAULT_MIX: dict[str, float] = {
    Archetype.WEB.name: 0.40,
    Archetype.DATABASE.name: 0.15,
    Archetype.BATCH.name: 0.20,
    Archetype.CACHE.name: 0.10,
    Archetype.STREAMING.name: 0.15,
}
"""Default share of applications per archetype, keyed by :class:`Archetype` name."""
