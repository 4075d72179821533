"""The :class:`SelectionConfig` of the shadow policy's per-application rule selection.

See :mod:`shadowsim_policies.rule_selection` for the method and
:mod:`shadowsim_policies.rule_candidates` for the candidate rules these settings generate.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from dataclasses import dataclass

from shadowsim.errors import ConfigError
from shadowsim_policies.policy_config import (
    freeze,
    number,
    per_item,
    per_priority,
    per_resource,
)

S_PER_H = 3600.0
UNIT_PER_PRICE_UNIT = (1.0, 1024.0, 1024.0, 1024.0)
"""Resource units per priced unit: vCPU, MiB per GiB, KB/s per MB/s (twice)."""


def _numbers(
    key: str, value: object, *, low: float = 0.0, empty: bool = False
) -> tuple[float, ...]:
    """A list of numbers >= ``low`` (a single number is a list of one)."""
    if isinstance(value, numbers.Real):
        items: list[object] = [value]
    elif isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigError(f"policy.selection.{key}", f"must be a list of numbers, got {value!r}")
    else:
        items = list(value)
    if not items:
        if empty:
            return ()
        raise ConfigError(f"policy.selection.{key}", "needs at least one value")
    return per_item(f"selection.{key}", items, len(items), "entry", low=low)


@dataclass(frozen=True)
class SelectionConfig:
    """Settings of the rule selection (works with and without Hydra).

    Attributes:
        enabled: Select among the candidates (False: the policy's fixed rule only).
        penalty: Initial cost of one short application-tick per class (LOW, MEDIUM, HIGH),
            cu, > 0; adapted online towards ``violation_target``.
        violation_target: Share of application-ticks per class allowed to be short, in
            (0, 1): the penalty rises while a class is short more often, falls otherwise.
        adapt_s: Time scale of that adaptation, s (> 0): at twice the target, the penalty
            grows by a factor e in about this long.
        penalty_range: The penalty stays within ``[penalty / range, penalty * range]``, >= 1.
        halflife_s: Half-life of the scores per class, s (> 0): short for classes that
            should follow changes fast, long for ones that must remember rare bursts.
        prior_bonus: Initial handicap of every candidate but the fixed rule, per class, cu.
        prior_halflife_s: Half-life of that handicap, s (> 0).
        levels: Forecast quantile levels of the forecast candidates, in (0, 1).
        multipliers: Forecast candidates: the forecast at each of ``levels`` times these.
        hold_windows_s: Hold candidates: the highest usage over each of these windows, s ...
        hold_shares: ... times each of these shares, and at least the top-level forecast.
        standby_window_s: Window of the standby candidates, s.
        standby_shares: Standby candidates: at least these shares of the highest usage over
            ``standby_window_s`` ...
        standby_multipliers: ... and at least the top-level forecast times these.
        hold_standby_shares: Hold-and-standby candidates: the highest usage over each hold
            window, and at least these shares of the standby window's peak (may be empty).
        margins: Margin candidates: per row, an absolute margin (vCPU, MiB, KB/s, KB/s) added
            to the top-level forecast, and to the hold at the longest window (may be empty).
        prices: Price per resource the selection weighs allocations with, cu per vCPU-hour,
            GiB-hour, (MB/s)-hour, (MB/s)-hour (default: the simulator's default prices,
            CPU weighted 1.5x: CPU is what the relative-slack target is about).
        floor: Smallest allocation per resource a candidate falls to (vCPU, MiB, KB/s, KB/s;
            default: the guardrails' default minimum).
    """

    enabled: bool = True
    penalty: tuple[float, ...] = (0.001, 0.002, 0.4)
    violation_target: tuple[float, ...] = (0.1, 0.06, 0.004)
    adapt_s: float = 86400.0
    penalty_range: float = 1000.0
    halflife_s: tuple[float, ...] = (43200.0, 43200.0, 172800.0)
    prior_bonus: tuple[float, ...] = (0.05, 0.05, 1.0)
    prior_halflife_s: float = 86400.0
    levels: tuple[float, ...] = (0.5, 0.9)
    multipliers: tuple[float, ...] = (1.0, 1.1, 1.25, 1.5, 2.0, 3.0)
    hold_windows_s: tuple[float, ...] = (900.0, 1800.0, 3600.0, 10800.0, 21600.0, 86400.0, 172800.0)
    hold_shares: tuple[float, ...] = (1.0, 1.2, 1.5, 2.0)
    standby_window_s: float = 86400.0
    standby_shares: tuple[float, ...] = (0.125, 0.25, 0.5)
    standby_multipliers: tuple[float, ...] = (1.0, 1.25)
    hold_standby_shares: tuple[float, ...] = ()
    margins: tuple[tuple[float, ...], ...] = (
        (0.02, 128.0, 200.0, 200.0),
        (0.05, 256.0, 500.0, 500.0),
        (0.1, 512.0, 1000.0, 1000.0),
        (0.2, 1024.0, 2000.0, 2000.0),
    )
    prices: tuple[float, ...] = (0.06, 0.005, 0.0005, 0.0005)
    floor: tuple[float, ...] = (0.02, 128.0, 20.0, 20.0)

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigError(
                "policy.selection.enabled", f"must be true or false, got {self.enabled!r}"
            )
        positive = {"low": 0.0, "low_open": True}
        freeze(
            self,
            penalty=per_priority("selection.penalty", self.penalty, **positive),
            violation_target=per_priority(
                "selection.violation_target", self.violation_target, high=0.999, **positive
            ),
            adapt_s=number("selection.adapt_s", self.adapt_s, low=0.0, low_open=True),
            penalty_range=number("selection.penalty_range", self.penalty_range, low=1.0),
            halflife_s=per_priority("selection.halflife_s", self.halflife_s, **positive),
            prior_bonus=per_priority("selection.prior_bonus", self.prior_bonus, low=0.0),
            prior_halflife_s=number(
                "selection.prior_halflife_s", self.prior_halflife_s, low=0.0, low_open=True
            ),
            levels=tuple(
                number("selection.levels", q, low=0.0, high=0.999, low_open=True)
                for q in _numbers("levels", self.levels)
            ),
            multipliers=_numbers("multipliers", self.multipliers),
            hold_windows_s=_numbers("hold_windows_s", self.hold_windows_s, low=1e-9),
            hold_shares=_numbers("hold_shares", self.hold_shares),
            standby_window_s=number(
                "selection.standby_window_s", self.standby_window_s, low=0.0, low_open=True
            ),
            standby_shares=_numbers("standby_shares", self.standby_shares),
            standby_multipliers=_numbers("standby_multipliers", self.standby_multipliers),
            hold_standby_shares=_numbers(
                "hold_standby_shares", self.hold_standby_shares, empty=True
            ),
            margins=tuple(
                per_resource(f"selection.margins[{i}]", row, low=0.0)
                for i, row in enumerate(self.margins)
            ),
            prices=per_resource("selection.prices", self.prices, low=0.0),
            floor=per_resource("selection.floor", self.floor, low=0.0),
        )

    @property
    def n_candidates(self) -> int:
        """Candidates, the fixed rule (index 0) included."""
        return (
            1
            + len(self.levels) * len(self.multipliers)
            + len(self.hold_windows_s) * len(self.hold_shares)
            + len(self.standby_shares) * len(self.standby_multipliers)
            + len(self.hold_windows_s) * len(self.hold_standby_shares)
            + 2 * len(self.margins)
        )
