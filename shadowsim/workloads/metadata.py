"""Application metadata: a priority class and SLA targets per application, by a seeded rule.

Real traces carry no business metadata, and the synthetic generator needs a mix of classes,
so both assign it here by a documented rule chosen in :class:`MetadataConfig`:

``AssignmentRule.HASH`` (default)
    Each application draws ``u`` uniform in ``[0, 1)`` from a BLAKE2b hash of
    ``(seed, app_id)``; ``u < share_high`` gives ``HIGH``, ``u < share_high + share_medium``
    gives ``MEDIUM``, otherwise ``LOW``. An application's class depends only on its own id and
    the seed, never on the other applications or their order, so adding or removing a trace
    file does not reshuffle the others. Class counts follow the shares in expectation.

``AssignmentRule.DEMAND_RANK``
    Applications are ranked by size, largest first: the size of an application is the mean,
    over the four resources, of its mean demand divided by the mean of that resource over all
    applications (so vCPU, MiB and KB/s weigh alike; a resource nobody uses counts 0). The top
    ``round(share_high * n)`` become ``HIGH``, the next ones up to
    ``round((share_high + share_medium) * n)`` become ``MEDIUM``, the rest ``LOW``. Ties are
    broken by the same seeded hash of the app id, so the result depends on the set of
    applications but never on their order.

The SLA targets (response time, s; highest tolerated error rate, a share of requests) are
fixed per class by the config.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, UnknownNameError
from shadowsim.resources import N_RESOURCES, RESOURCES
from shadowsim.workloads.workload import Priority, WorkloadError


class AssignmentRule(Enum):
    """How :func:`assign_metadata` chooses the priority class of each application."""

    HASH = "hash"
    """Seeded hash of the app id compared with the cumulative class shares."""
    DEMAND_RANK = "demand_rank"
    """Largest applications (relative mean demand) first get HIGH, then MEDIUM, then LOW."""


@dataclass(frozen=True)
class MetadataConfig:
    """Settings of the priority/SLA assignment rule (works with and without Hydra).

    Attributes:
        seed: Seed of the hash draw (and of the tie-break of the rank rule).
        rule: The :class:`AssignmentRule`; its name (``"HASH"``, ``"demand_rank"``) is also
            accepted and converted.
        share_high: Share of applications in class HIGH, in [0, 1].
        share_medium: Share in class MEDIUM, in [0, 1].
        share_low: Share in class LOW, in [0, 1]; the three shares must sum to 1.
        response_s_high: SLA response-time target of HIGH applications, s, > 0.
        response_s_medium: SLA response-time target of MEDIUM applications, s, > 0.
        response_s_low: SLA response-time target of LOW applications, s, > 0.
        max_error_rate_high: Highest tolerated error rate of HIGH applications, in [0, 1).
        max_error_rate_medium: Highest tolerated error rate of MEDIUM applications, in [0, 1).
        max_error_rate_low: Highest tolerated error rate of LOW applications, in [0, 1).
    """

    seed: int = 0
    rule: AssignmentRule = AssignmentRule.HASH
    share_high: float = 0.2
    share_medium: float = 0.5
    share_low: float = 0.3
    response_s_high: float = 0.2
    response_s_medium: float = 0.5
    response_s_low: float = 2.0
    max_error_rate_high: float = 0.001
    max_error_rate_medium: float = 0.01
    max_error_rate_low: float = 0.05

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer):
            raise ConfigError("seed", f"must be an integer, got {self.seed!r}")
        if not isinstance(self.rule, AssignmentRule):
            object.__setattr__(self, "rule", _rule_from_name(self.rule))
        for cls in ("high", "medium", "low"):
            key = f"share_{cls}"
            share = _number(self, key)
            if not 0.0 <= share <= 1.0:
                raise ConfigError(key, f"must be a share in [0, 1], got {share}")
            key = f"response_s_{cls}"
            if not 0.0 < _number(self, key) < math.inf:
                raise ConfigError(key, f"must be a finite time > 0 s, got {getattr(self, key)}")
            key = f"max_error_rate_{cls}"
            if not 0.0 <= _number(self, key) < 1.0:
                raise ConfigError(key, f"must be a share in [0, 1), got {getattr(self, key)}")
        total = self.share_high + self.share_medium + self.share_low
        if abs(total - 1.0) > 1e-9:
            raise ConfigError(
                "share_low",
                f"share_high + share_medium + share_low must be 1, got {total:.6g} "
                f"({self.share_high} + {self.share_medium} + {self.share_low}); adjust the shares",
            )

    @property
    def response_s(self) -> dict[Priority, float]:
        """SLA response-time target per class, s."""
        return {
            Priority.HIGH: self.response_s_high,
            Priority.MEDIUM: self.response_s_medium,
            Priority.LOW: self.response_s_low,
        }

    @property
    def max_error_rate(self) -> dict[Priority, float]:
        """Highest tolerated error rate per class."""
        return {
            Priority.HIGH: self.max_error_rate_high,
            Priority.MEDIUM: self.max_error_rate_medium,
            Priority.LOW: self.max_error_rate_low,
        }


@dataclass(frozen=True, eq=False)
class AppMetadata:
    """Priority and SLA targets of ``n_apps`` applications, aligned with their ids.

    Attributes:
        priority: ``(n_apps,)`` int8 :class:`Priority` values.
        sla_response_s: ``(n_apps,)`` response-time target, s.
        sla_max_error_rate: ``(n_apps,)`` highest tolerated share of failed requests.
    """

    priority: NDArray[np.int8]
    sla_response_s: NDArray[np.float64]
    sla_max_error_rate: NDArray[np.float64]


def assign_metadata(
    app_ids: Sequence[str], mean_demand: NDArray[np.float64], config: MetadataConfig
) -> AppMetadata:
    """Assign a priority class and SLA targets to each application by ``config.rule``.

    Args:
        app_ids: Distinct application ids, one per row of ``mean_demand``.
        mean_demand: ``(n_apps, 4)`` mean demand per resource (vCPU, MiB, KB/s, KB/s); used
            by the ``DEMAND_RANK`` rule, checked by both.
        config: The rule, its seed, class shares and per-class SLA targets.

    Returns:
        The :class:`AppMetadata`, row ``i`` for ``app_ids[i]``.

    Raises:
        WorkloadError: Ids are not distinct or ``mean_demand`` has the wrong shape, is not
            finite or is negative.
    """
    ids = list(app_ids)
    n = len(ids)
    demand = np.asarray(mean_demand, dtype=np.float64)
    if demand.shape != (n, N_RESOURCES):
        raise WorkloadError(
            f"mean_demand must have shape ({n}, {N_RESOURCES}) for {n} app ids, got {demand.shape}"
        )
    if len(set(ids)) != n:
        dup = sorted({a for a in ids if ids.count(a) > 1})[:5]
        raise WorkloadError(f"app ids must be distinct; duplicated: {dup}")
    bad = ~np.isfinite(demand) | (demand < 0)
    if bad.any():
        app, res = np.argwhere(bad)[0]
        raise WorkloadError(
            f"mean demand of app {ids[app]!r} for {RESOURCES[res].name} is {demand[app, res]}; "
            "it must be finite and >= 0"
        )
    u = stable_uniform(ids, config.seed, "priority")
    if config.rule is AssignmentRule.HASH:
        priority = np.where(
            u < config.share_high,
            Priority.HIGH,
            np.where(u < config.share_high + config.share_medium, Priority.MEDIUM, Priority.LOW),
        ).astype(np.int8)
    else:
        priority = _by_rank(demand, u, config)
    response = np.array([config.response_s[Priority(p)] for p in range(len(Priority))])
    error = np.array([config.max_error_rate[Priority(p)] for p in range(len(Priority))])
    return AppMetadata(
        priority=priority,
        sla_response_s=response[priority].astype(np.float64),
        sla_max_error_rate=error[priority].astype(np.float64),
    )


def stable_uniform(app_ids: Sequence[str], seed: int, salt: str) -> NDArray[np.float64]:
    """One uniform number in ``[0, 1)`` per app id from a BLAKE2b hash of (seed, salt, id).

    Unlike Python's ``hash``, the result is the same in every process and on every machine.

    Args:
        app_ids: Application ids.
        seed: Seed; different seeds give independent draws.
        salt: Separates independent draws made for different purposes.

    Returns:
        ``(len(app_ids),)`` float64 draws.
    """
    key = f"{int(seed)}\x00{salt}\x00".encode()
    out = np.empty(len(app_ids), dtype=np.float64)
    for i, app in enumerate(app_ids):
        digest = hashlib.blake2b(key + app.encode(), digest_size=8).digest()
        out[i] = (int.from_bytes(digest, "big") >> 11) / float(1 << 53)
    return out


def _by_rank(
    demand: NDArray[np.float64], tie_break: NDArray[np.float64], config: MetadataConfig
) -> NDArray[np.int8]:
    """Priorities by relative-size rank, largest first (see the module docstring)."""
    n = demand.shape[0]
    scale = demand.mean(axis=0)
    relative = np.divide(demand, scale, out=np.zeros_like(demand), where=scale > 0)
    size = relative.mean(axis=1)
    order = np.lexsort((tie_break, -size))  # last key is primary: largest size first
    n_high = round(config.share_high * n)
    n_high_medium = max(n_high, round((config.share_high + config.share_medium) * n))
    by_rank = np.full(n, Priority.LOW, dtype=np.int8)
    by_rank[:n_high] = Priority.HIGH
    by_rank[n_high:n_high_medium] = Priority.MEDIUM
    priority = np.empty(n, dtype=np.int8)
    priority[order] = by_rank
    return priority


def _number(config: MetadataConfig, key: str) -> float:
    """The config value ``key`` as a float, or a :class:`ConfigError` if it is not a number."""
    value = getattr(config, key)
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ConfigError(key, f"must be a number, got {value!r}")
    number = float(value)
    if math.isnan(number):
        raise ConfigError(key, "must be a number, got NaN")
    return number


def _rule_from_name(name: object) -> AssignmentRule:
    """Convert a rule name or value (any case) to an :class:`AssignmentRule`."""
    if isinstance(name, str):
        for rule in AssignmentRule:
            if name.lower() in (rule.name.lower(), rule.value):
                return rule
    unknown = UnknownNameError("assignment rule", str(name), [r.name for r in AssignmentRule])
    raise ConfigError("rule", str(unknown))
