"""The seeded synthetic workload: shadowsim's embedded default.

:class:`SyntheticGenerator` builds a :class:`~shadowsim.workloads.workload.Workload` of
``n_apps`` applications over ``n_ticks`` ticks of ``interval_s`` seconds (default: 50 apps,
4 weeks of 5-minute ticks = 8,064 ticks) without any file.

Shapes and units:
    ``demand``: ``(n_apps, n_ticks, 4)`` float64; CPU in vCPU, memory in MiB, disk and network
    throughput in KB/s (:mod:`shadowsim.resources`). ``provisioned``: ``(n_apps, 4)`` the VM
    each app was deployed on: 1-16 vCPU, 1-64 GiB (in MiB), and a nominal disk/network
    allowance of 2x its peak-hour throughput (KB/s). The VM is sized for the app's weekday
    daily peak (e.g. 35-70% CPU for web apps); demand exceeds ``provisioned`` during bursts,
    flash crowds and after upward trends or shifts: that is what scaling and the spare pool
    are for.

The model, per application ``a`` and tick ``t`` (all draws vectorised over apps and ticks):

1. Each app gets an archetype (:mod:`~shadowsim.workloads.synthetic_archetypes`: web,
   database, batch, cache, streaming) in the shares of ``archetype_mix`` (exact counts by
   largest remainder, shuffled), and its own parameters drawn from that archetype's ranges.
2. A shared latent log-load, 0 at the weekday daily peak: a daily rhythm (von Mises bump
   around the app's peak hour, UTC, from ``-log(daily_ratio)`` at the trough to 0 at the
   peak), a smooth weekend factor, a linear log trend from tick 0, regime shifts (permanent
   log-level steps at Poisson times), and slow AR(1)-spectrum noise.
3. Bursts (per-app Poisson, a rise of at most one tick, exponential decay) and flash crowds (rare
   workload-wide events that hit many exposed apps at once with a ramp and a long decay)
   multiply the load by ``1 + excess``.
4. Correlated resources: resource ``r`` demands ``level[a, r] * load ** elasticity[a, r]``
   times independent per-tick noise (uniform in log space), where ``level`` is the demand at
   the weekday peak; databases add a nightly backup window to disk. CPU, disk and network
   follow the load closely, memory weakly.
5. Priority classes and SLA targets: :func:`~shadowsim.workloads.metadata.assign_metadata`
   with ``metadata``; with ``priority_by_archetype`` (default) each archetype uses its own
   class shares (databases mostly HIGH, batch mostly LOW) in place of the config's shares,
   while the rule, seed and SLA targets come from ``metadata``.

The same config (seed included) gives bit-identical workloads; another seed another one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, UnknownNameError
from shadowsim.resources import Resource
from shadowsim.workloads import synthetic_patterns as pat
from shadowsim.workloads.metadata import AppMetadata, MetadataConfig, assign_metadata
from shadowsim.workloads.synthetic_archetypes import DEFAULT_MIX, Archetype
from shadowsim.workloads.synthetic_params import (
    ARCHETYPE_ORDER,
    BACKUP_SHARPNESS,
    AppParams,
    Scales,
    draw_app_params,
)
from shadowsim.workloads.workload import Workload

F64 = NDArray[np.float64]
F32 = NDArray[np.float32]
MONDAY_2024_S = 1_704_067_200.0
"""Unix time of Monday 2024-01-01 00:00 UTC, the default start of the synthetic workload."""


@dataclass(frozen=True)
class SyntheticConfig:
    """Settings of the synthetic workload (works with and without Hydra).

    With Hydra, the schema is registered by :mod:`shadowsim.config_store` (as a writable node)
    and built back with its ``build_config``; values are validated here when it is built.

    Attributes:
        seed: Seed of every random draw.
        n_apps: Number of applications, >= 1.
        n_ticks: Number of ticks, >= 1 (8,064 = 4 weeks of 5 minutes).
        interval_s: Tick length, s, in (0, 86400].
        start_time_s: Unix time of tick 0, s (sets the weekday and hour of the rhythms).
        archetype_mix: Share of applications per archetype name (WEB, DATABASE, BATCH, CACHE,
            STREAMING); shares >= 0 summing to 1. Names are case-insensitive.
        seasonality_scale: Multiplier of daily, weekly and backup log-amplitudes (0 = flat).
        trend_scale: Multiplier of the trends (0 = none).
        noise_scale: Multiplier of all noise (0 = none).
        burst_rate_scale: Multiplier of burst rates (0 = no bursts).
        regime_shift_rate_scale: Multiplier of regime-shift rates (0 = none).
        flash_crowds_per_week: Mean number of flash crowds per week (0 = none).
        flash_crowd_reach: Probability that an exposed app takes part in a flash crowd.
        flash_crowd_excess: Median extra load at a flash crowd's peak for a fully exposed
            app (3 = four times the load).
        priority_by_archetype: Use each archetype's class shares (see the module docstring).
        metadata: The priority/SLA rule; a mapping of its fields is also accepted.
    """

    seed: int = 0
    n_apps: int = 50
    n_ticks: int = 8064
    interval_s: float = 300.0
    start_time_s: float = MONDAY_2024_S
    archetype_mix: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    seasonality_scale: float = 1.0
    trend_scale: float = 1.0
    noise_scale: float = 1.0
    burst_rate_scale: float = 1.0
    regime_shift_rate_scale: float = 1.0
    flash_crowds_per_week: float = 1.0
    flash_crowd_reach: float = 0.6
    flash_crowd_excess: float = 3.0
    priority_by_archetype: bool = True
    metadata: MetadataConfig = field(default_factory=MetadataConfig)

    def __post_init__(self) -> None:
        for key in ("seed", "n_apps", "n_ticks"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ConfigError(key, f"must be an integer, got {value!r}")
        if self.n_apps < 1:
            raise ConfigError("n_apps", f"must be >= 1, got {self.n_apps}")
        if self.n_ticks < 1:
            raise ConfigError("n_ticks", f"must be >= 1, got {self.n_ticks}")
        if not 0.0 < _number(self, "interval_s") <= pat.DAY_S:
            raise ConfigError("interval_s", f"must be in (0, 86400] s, got {self.interval_s}")
        if not math.isfinite(_number(self, "start_time_s")):
            raise ConfigError(
                "start_time_s", f"must be a finite Unix time, got {self.start_time_s}"
            )
        for key in (
            "seasonality_scale",
            "trend_scale",
            "noise_scale",
            "burst_rate_scale",
            "regime_shift_rate_scale",
            "flash_crowds_per_week",
            "flash_crowd_excess",
        ):
            if not 0.0 <= _number(self, key) < math.inf:
                raise ConfigError(key, f"must be finite and >= 0, got {getattr(self, key)}")
        if not 0.0 <= _number(self, "flash_crowd_reach") <= 1.0:
            raise ConfigError(
                "flash_crowd_reach", f"must be in [0, 1], got {self.flash_crowd_reach}"
            )
        if not isinstance(self.metadata, MetadataConfig):
            object.__setattr__(self, "metadata", _metadata_from(self.metadata))
        self.archetype_shares()  # validates archetype_mix

    def archetype_shares(self) -> dict[Archetype, float]:
        """``archetype_mix`` keyed by :class:`Archetype`; raises :class:`ConfigError` if invalid."""
        if not isinstance(self.archetype_mix, Mapping) or not self.archetype_mix:
            raise ConfigError(
                "archetype_mix", f"must map archetype names to shares, got {self.archetype_mix!r}"
            )
        shares: dict[Archetype, float] = {}
        for name, share in self.archetype_mix.items():
            key = f"archetype_mix.{name}"
            archetype = _archetype_from(str(name), key)
            if archetype in shares:
                raise ConfigError(key, f"archetype {archetype.name} is given twice")
            if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 1:
                raise ConfigError(key, f"must be a share in [0, 1], got {share!r}")
            shares[archetype] = float(share)
        total = sum(shares.values())
        if abs(total - 1.0) > 1e-6:
            raise ConfigError("archetype_mix", f"shares must sum to 1, got {total:.6g}")
        return shares

    @property
    def scales(self) -> Scales:
        """The global multipliers of archetype parameters."""
        return Scales(
            seasonality=self.seasonality_scale,
            trend=self.trend_scale,
            noise=self.noise_scale,
            burst_rate=self.burst_rate_scale,
            regime_shift_rate=self.regime_shift_rate_scale,
        )


class SyntheticGenerator:
    """Generates the synthetic workload described in the module docstring.

    Args:
        config: The settings; the default gives the embedded default workload.
    """

    def __init__(self, config: SyntheticConfig | None = None) -> None:
        self.config = config if config is not None else SyntheticConfig()

    def archetypes(self) -> tuple[Archetype, ...]:
        """The archetype of every application, in app order (the same as :meth:`load` uses)."""
        codes = self._archetype_codes(np.random.default_rng(self.config.seed))
        return tuple(ARCHETYPE_ORDER[c] for c in codes)

    def load(self) -> Workload:
        """Generate the workload; bit-identical for the same config."""
        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        codes = self._archetype_codes(rng)
        params = draw_app_params(rng, codes, cfg.interval_s, cfg.scales)
        time_s = cfg.start_time_s + cfg.interval_s * np.arange(cfg.n_ticks, dtype=np.float64)
        log_load = self._log_load(rng, params, time_s)
        demand = self._resources(rng, params, log_load, time_s)
        width = max(4, len(str(cfg.n_apps - 1)))
        app_ids = tuple(f"{ARCHETYPE_ORDER[c].value}-{i:0{width}d}" for i, c in enumerate(codes))
        mean_demand = np.einsum("atr->ar", demand) / cfg.n_ticks  # 4x faster than .mean(1)
        meta = self._metadata(app_ids, mean_demand, params)
        return Workload(
            demand=demand,
            interval_s=float(cfg.interval_s),
            app_ids=app_ids,
            priority=meta.priority,
            sla_response_s=meta.sla_response_s,
            sla_max_error_rate=meta.sla_max_error_rate,
            provisioned=params.provisioned,
            start_time_s=float(cfg.start_time_s),
            source=f"synthetic:seed={cfg.seed}",
        )

    def _archetype_codes(self, rng: np.random.Generator) -> NDArray[np.intp]:
        """Archetype code per app: exact largest-remainder counts of the mix, shuffled."""
        shares = self.config.archetype_shares()
        n = self.config.n_apps
        quota = np.array([shares.get(a, 0.0) * n for a in ARCHETYPE_ORDER])
        counts = np.floor(quota).astype(np.intp)
        remainder_order = np.argsort(-(quota - counts), kind="stable")
        counts[remainder_order[: n - int(counts.sum())]] += 1
        codes = np.repeat(np.arange(len(ARCHETYPE_ORDER), dtype=np.intp), counts)
        return np.asarray(rng.permutation(codes), dtype=np.intp)

    def _log_load(self, rng: np.random.Generator, p: AppParams, time_s: F64) -> F32:
        """``(n_apps, n_ticks)`` log of the shared load, bursts and flash crowds included."""
        cfg = self.config
        shape = (cfg.n_apps, cfg.n_ticks)
        elapsed_weeks = (time_s - time_s[0]) / pat.WEEK_S
        weekend = pat.weekend_indicator(pat.day_of_week(time_s))
        log_load = pat.daily_bump_at(time_s, cfg.interval_s, p.peak_hour, p.sharpness)
        log_load -= np.float32(1.0)  # 0 at the peak, -1 (or near) at the trough
        log_load *= _f32(p.daily_log_amp)[:, None]
        log_load += np.multiply.outer(_f32(p.weekend_log), _f32(weekend))
        log_load += np.multiply.outer(_f32(p.trend_per_week), _f32(elapsed_weeks))
        apps, ticks = pat.poisson_ticks(rng, p.regime_rate, cfg.n_ticks)
        steps = p.regime_sigma[apps] * rng.standard_normal(apps.shape[0])
        if apps.shape[0]:
            log_load += pat.level_shifts(shape, apps, ticks, steps)
        noise = pat.ar1_noise(rng, p.noise_phi, cfg.n_ticks)
        noise *= _f32(p.noise_sigma)[:, None]
        log_load += noise
        del noise
        excess = self._bursts(rng, p)
        excess += self._flash_crowds(rng, p)
        log_load += np.log1p(excess, out=excess)
        return log_load

    def _bursts(self, rng: np.random.Generator, p: AppParams) -> F32:
        """``(n_apps, n_ticks)`` extra load of short per-app bursts."""
        shape = (self.config.n_apps, self.config.n_ticks)
        apps, ticks = pat.poisson_ticks(rng, p.burst_rate, shape[1])
        n = apps.shape[0]
        height = p.burst_excess[apps] * rng.lognormal(-0.125, 0.5, size=n)  # mean 1
        decay = p.burst_decay[apps] * rng.uniform(0.5, 1.5, size=n)
        rise = np.asarray(rng.integers(0, 2, size=n), dtype=np.intp)
        return pat.pulses(shape, apps, ticks, height, rise, np.maximum(decay, 0.2))

    def _flash_crowds(self, rng: np.random.Generator, p: AppParams) -> F32:
        """``(n_apps, n_ticks)`` extra load of flash crowds shared by many apps at once."""
        cfg = self.config
        shape = (cfg.n_apps, cfg.n_ticks)
        weeks = cfg.n_ticks * cfg.interval_s / pat.WEEK_S
        n_events = int(rng.poisson(cfg.flash_crowds_per_week * weeks))
        start = rng.integers(0, cfg.n_ticks, size=n_events).astype(np.intp)
        size = cfg.flash_crowd_excess * rng.lognormal(0.0, 0.4, size=n_events)
        rise = np.rint(rng.uniform(600.0, 3600.0, size=n_events) / cfg.interval_s).astype(np.intp)
        decay = np.maximum(rng.uniform(1800.0, 14400.0, size=n_events) / cfg.interval_s, 0.2)
        joins = rng.random((n_events, cfg.n_apps)) < cfg.flash_crowd_reach
        joins &= p.flash_exposure[None, :] > 0
        event, apps = np.nonzero(joins)
        height = size[event] * p.flash_exposure[apps] * rng.uniform(0.5, 1.5, size=apps.shape[0])
        return pat.pulses(
            shape, apps.astype(np.intp), start[event], height, rise[event], decay[event]
        )

    def _resources(self, rng: np.random.Generator, p: AppParams, log_load: F32, time_s: F64) -> F64:
        """``(n_apps, n_ticks, 4)`` demand of each resource from the shared log-load.

        Per-tick resource noise is uniform in log space with std ``resource_noise`` (cheaper
        to draw than Gaussian noise, and bursts already supply the heavy tails).
        """
        n_apps, n_ticks = log_load.shape
        backup = np.flatnonzero(p.backup_log_amp > 0)
        noise_width = _f32(math.sqrt(12.0) * p.resource_noise)
        elasticity = _f32(p.elasticity)
        # One contiguous (n_apps, n_ticks) plane per resource, copied into the output last.
        work = rng.random((len(Resource), n_apps, n_ticks), dtype=np.float32)
        demand = np.empty((n_apps, n_ticks, len(Resource)))
        for res in Resource:
            plane = work[res]
            plane -= np.float32(0.5)
            plane *= noise_width[:, res, None]
            plane += log_load * elasticity[:, res, None]
            if res is Resource.DISK and backup.size:
                bump = pat.daily_bump_at(
                    time_s,
                    self.config.interval_s,
                    p.backup_hour[backup],
                    np.full(backup.size, BACKUP_SHARPNESS),
                )
                bump *= _f32(p.backup_log_amp[backup])[:, None]
                plane[backup] += bump
            np.exp(plane, out=plane)
            demand[:, :, res] = plane
        demand *= p.level[:, None, :]
        return demand

    def _metadata(self, app_ids: tuple[str, ...], mean_demand: F64, p: AppParams) -> AppMetadata:
        """Priority and SLA per app, by archetype shares or by the metadata config alone."""
        meta_cfg = self.config.metadata
        if not self.config.priority_by_archetype:
            return assign_metadata(app_ids, mean_demand, meta_cfg)
        n = len(app_ids)
        priority = np.empty(n, dtype=np.int8)
        response = np.empty(n)
        error = np.empty(n)
        for code in np.unique(p.archetype):
            idx = np.flatnonzero(p.archetype == code)
            high, medium, low = p.priority_shares[idx[0]]
            group_cfg = replace(meta_cfg, share_high=high, share_medium=medium, share_low=low)
            group = assign_metadata([app_ids[i] for i in idx], mean_demand[idx], group_cfg)
            priority[idx] = group.priority
            response[idx] = group.sla_response_s
            error[idx] = group.sla_max_error_rate
        return AppMetadata(priority=priority, sla_response_s=response, sla_max_error_rate=error)


def _f32(values: F64) -> F32:
    """``values`` as float32, the working precision of per-tick arrays."""
    return values.astype(np.float32)


def _number(config: object, key: str) -> float:
    """The config value ``key`` as a float, or a :class:`ConfigError` if it is not a number."""
    value = getattr(config, key)
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ConfigError(key, f"must be a number, got {value!r}")
    number = float(value)
    if math.isnan(number):
        raise ConfigError(key, "must be a number, got NaN")
    return number


def _archetype_from(name: str, key: str) -> Archetype:
    """The archetype called ``name`` (its name or value, any case) or a did-you-mean error."""
    for archetype in Archetype:
        if name.lower() in (archetype.name.lower(), archetype.value):
            return archetype
    unknown = UnknownNameError("archetype", name, [a.name for a in Archetype])
    raise ConfigError(key, str(unknown))


def _metadata_from(value: Any) -> MetadataConfig:
    """A :class:`MetadataConfig` from a mapping of its fields; unknown keys raise."""
    if not isinstance(value, Mapping):
        raise ConfigError("metadata", f"must be a MetadataConfig or a mapping, got {value!r}")
    known = [f.name for f in fields(MetadataConfig)]
    for key in value:
        if key not in known:
            unknown = UnknownNameError("metadata field", str(key), known)
            raise ConfigError(f"metadata.{key}", str(unknown))
    try:
        return MetadataConfig(**value)
    except ConfigError as err:
        raise ConfigError(f"metadata.{err.key}", str(err).split(": ", 1)[1]) from err
