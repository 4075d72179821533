"""``shadow``: shadowsim's proactive, priority-aware policy driven by the shadow forecasts.

Two layers. The **fixed rule** below is the prior; on top of it, a per-application **rule
selection** (:mod:`shadowsim_policies.rule_selection`) replays a family of candidate rules
(:mod:`shadowsim_policies.rule_candidates`, the fixed rule among them) counterfactually on the
demand that followed and picks, per application and resource, the one with the lowest recent
allocation cost plus penalty per short tick, the penalty of each priority class adapting
towards the class's violation target. So a small, steady application is covered generously
for pennies, a large on/off job is held at its peak only as long as its class needs, and HIGH
priority work gets what keeps its short ticks under target.

The fixed rule, per application ``i`` of priority class ``c`` and resource ``r`` (ref units
unless stated):

1. **Proactive need**: the forecast at quantile ``quantile[c]`` over the leads the decision
   covers, i.e. from when scaling lands (after the actuation latency) until the next
   decision lands (:meth:`~shadowsim_policies.base.PolicyContext.covered_leads`).
2. **Headroom**: ``need * (1 + headroom[c][r] + error_gain[c] * forecast_error[i, r])``, a
   margin per class and resource plus one that grows with the shadow model's recent relative
   error, and at least ``need + margin[c][r]``, an *absolute* margin (vCPU, MiB, KB/s, KB/s):
   nearly free for a small application, negligible for a large one.
3. **Reactive floor**: at least ``(1 + reactive_margin[c]) *`` the last tick's usage, so a
   burst the forecast missed is covered from the next landing on (``-1`` = no floor).
4. **Hold**: at least ``peak_share[c][r] *`` the highest usage of the last
   ``peak_window_s[c]``: an application that was just busy is likely to be busy again soon
   (burst onsets are not forecastable, and the guardrails let an allocation at most double
   per tick, so re-growing from the bottom takes several ticks).
5. **Standby**: at least ``standby_share[c][r] *`` the highest usage of the last
   ``standby_window_s``: after a long quiet spell the allocation rests at a share of the
   day's peak instead of the bottom, so a new burst is reached in a tick or two.
6. **Ramp**: a later forecast peak that the guardrails' maximum change per tick would reach
   too late raises the target early (``peak / f**(lead - last)``, as the oracle does).

Finally (both layers) a decrease is limited to ``down_step`` (relative) per tick; increases
are immediate.

Per-class values are given LOW, MEDIUM, HIGH; per-resource ones CPU, MEMORY, DISK, NETWORK.
The defaults (also in ``conf/policy/shadow.yaml``) were tuned on the validation week (the week
before the test window) of Bitbrains 2013-8 with the last-value forecaster over three priority
seeds (``python -m experiments.policy_quality holdout=validation``), never on the test week.
State per env: the usage of the longest window read, the selection's scores and penalties,
and the allocation in force at the previous decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError
from shadowsim_policies.autopilot_peak import PeakWindow
from shadowsim_policies.base import POLICIES
from shadowsim_policies.forecast_reading import lead_span_max, quantile_level, ramp_floor
from shadowsim_policies.observation_view import ObservationView
from shadowsim_policies.policy_config import (
    config_from,
    freeze,
    number,
    per_priority,
    per_priority_resource,
)
from shadowsim_policies.rule_selection import SHORT_TOLERANCE, RuleSelector, SelectorState
from shadowsim_policies.selection_config import SelectionConfig
from shadowsim_policies.target_policy import TargetPolicy

Matrix = tuple[tuple[float, ...], ...]


@dataclass(frozen=True)
class ShadowConfig:
    """Parameters of :class:`ShadowPolicy` (see the module docstring for the rule).

    Attributes:
        quantile: Forecast level provisioned per class (LOW, MEDIUM, HIGH), in (0, 1).
        headroom: Relative headroom per class and resource (3 x 4, or per class, or one).
        margin: Smallest absolute headroom over the forecast need per class and resource, in
            vCPU, MiB, KB/s, KB/s (3 x 4, or per class, or one), >= 0.
        error_gain: Extra headroom per unit of the forecast's recent relative MAE, per class.
        reactive_margin: Floor at ``(1 + margin) *`` last usage, per class (-1 = no floor).
        peak_share: Hold at this share of the peak of the last ``peak_window_s`` of the
            class, per class and resource (0 = off).
        peak_window_s: Length of the hold window per class, s (> 0).
        standby_share: Rest at this share of the peak of the last ``standby_window_s``, per
            class and resource (0 = off).
        standby_window_s: Length of the standby window, s (> 0).
        down_step: Largest relative decrease per tick, in (0, 1] (1 = at once).
        max_error: Cap of the relative MAE used for headroom (a near-zero mean demand would
            blow it up), >= 0.
        selection: Per-application selection among candidate rules, the rule above being
            the prior (:mod:`shadowsim_policies.rule_selection`); a mapping of its fields is
            accepted.
    """

    quantile: tuple[float, ...] = (0.8, 0.9, 0.9)
    headroom: Matrix = ((0.0, 0.05, 2.0, 2.0), (0.05, 0.1, 2.0, 2.0), (0.1, 0.2, 2.0, 2.0))
    margin: Matrix = ((0.0,) * 4, (0.0,) * 4, (0.05, 256.0, 500.0, 500.0))
    error_gain: tuple[float, ...] = (0.0, 0.0, 0.3)
    reactive_margin: tuple[float, ...] = (-1.0, -1.0, 0.2)
    peak_share: Matrix = ((0.0, 0.0, 2.0, 2.0), (0.0, 0.0, 2.0, 2.0), (1.2, 1.5, 2.0, 2.0))
    peak_window_s: tuple[float, ...] = (86400.0, 86400.0, 86400.0)
    standby_share: Matrix = ((0.0,) * 4, (0.0,) * 4, (0.0,) * 4)
    standby_window_s: float = 86400.0
    down_step: float = 0.5
    max_error: float = 1.0
    selection: SelectionConfig = field(default_factory=SelectionConfig)

    def __post_init__(self) -> None:
        selection = self.selection
        if isinstance(selection, Mapping):
            selection = SelectionConfig(**dict(selection))
        if not isinstance(selection, SelectionConfig):
            raise ConfigError(
                "policy.selection",
                f"expected a SelectionConfig or a mapping of its fields, got {selection!r}",
            )
        freeze(self, selection=selection)
        freeze(
            self,
            quantile=per_priority("quantile", self.quantile, low=0.0, high=0.999, low_open=True),
            headroom=per_priority_resource("headroom", self.headroom, low=0.0),
            margin=per_priority_resource("margin", self.margin, low=0.0),
            error_gain=per_priority("error_gain", self.error_gain, low=0.0),
            reactive_margin=per_priority("reactive_margin", self.reactive_margin, low=-1.0),
            peak_share=per_priority_resource("peak_share", self.peak_share, low=0.0),
            peak_window_s=per_priority("peak_window_s", self.peak_window_s, low=0.0, low_open=True),
            standby_share=per_priority_resource("standby_share", self.standby_share, low=0.0),
            standby_window_s=number(
                "standby_window_s", self.standby_window_s, low=0.0, low_open=True
            ),
            down_step=number("down_step", self.down_step, low=0.0, high=1.0, low_open=True),
            max_error=number("max_error", self.max_error, low=0.0),
        )


@dataclass
class ShadowState:
    """One env's state: the usage history and the rule selection.

    Attributes:
        window: Usage of the last ticks (ref units), as long as the longest window read.
        selection: The counterfactual scores of the candidate rules.
        allocation: ``(A, 4)`` the allocation in force at the previous decision (ref units).
    """

    window: PeakWindow
    selection: SelectorState
    allocation: NDArray[np.float64] | None = None


@POLICIES.register("shadow")
class ShadowPolicy(TargetPolicy[ShadowState]):
    """Proactive quantile-plus-headroom provisioning ahead of the actuation latency.

    Args:
        config: Parameters, or None to build them from ``params``.
        **params: Fields of :class:`ShadowConfig`.
    """

    name = "shadow"

    def __init__(self, config: ShadowConfig | None = None, **params: Any) -> None:
        super().__init__()
        self.config = config_from(ShadowConfig, config, params)
        cfg = self.config
        self._quantile = np.asarray(cfg.quantile)
        self._headroom = np.asarray(cfg.headroom)
        self._margin = np.asarray(cfg.margin)
        self._gain = np.asarray(cfg.error_gain)
        self._reactive = np.asarray(cfg.reactive_margin)
        self._peak_share = np.asarray(cfg.peak_share)
        self._standby_share = np.asarray(cfg.standby_share)
        self._holds = bool(self._peak_share.any())
        self._stands_by = bool(self._standby_share.any())
        self._selector: RuleSelector | None = None

    @property
    def selector(self) -> RuleSelector | None:
        """The rule selector for the bound env (None when selection is off)."""
        if not self.config.selection.enabled:
            return None
        if self._selector is None:
            ctx = self.context
            self._selector = RuleSelector(
                self.config.selection,
                ctx.interval_s,
                ctx.covered_leads()[0],
                ctx.max_change_factor,
            )
        return self._selector

    def reset(self) -> None:
        super().reset()
        self._selector = None  # rebuilt for the (possibly new) bound context

    def _reported_early(self) -> bool:
        """True when the observed allocation already shows a change one tick before it serves
        (changes land inside a tick: see :mod:`shadowsim.metrics.served_allocation`)."""
        ctx = self.context
        ticks = ctx.latency_ticks
        return ctx.lands_on_tick_boundary and abs(ticks - round(ticks)) > 1e-9

    def _short(self, view: ObservationView, state: ShadowState) -> NDArray[np.bool_] | None:
        """``(A,)`` applications whose demand of the tick just accounted was not covered."""
        served = state.allocation if self._reported_early() else view.allocation
        if served is None:
            return None
        short = view.last_usage > served * (1.0 + SHORT_TOLERANCE)
        return np.asarray(short.any(axis=1))

    def _window_ticks(self) -> tuple[list[int], int]:
        """Hold window per class and standby window, in ticks."""
        ctx = self.context
        return [ctx.ticks(w) for w in self.config.peak_window_s], ctx.ticks(
            self.config.standby_window_s
        )

    def initial_state(self, view: ObservationView) -> ShadowState:
        holds, standby = self._window_ticks()
        n = 1
        if self._holds:
            n = max(n, *holds)
        if self._stands_by:
            n = max(n, standby)
        selector = self.selector
        if selector is not None:
            n = max(n, selector.family.history_ticks)
        window = PeakWindow(np.zeros((view.n_apps, n, view.usage.shape[2])))
        for t in range(view.usage.shape[1] - 1):  # the last row is added by decide()
            window.add(view.usage[:, t])
        return ShadowState(window, SelectorState())

    def forecast_at(self, view: ObservationView, level: float) -> NDArray[np.float64]:
        """``(A, 4)`` the forecast at quantile ``level`` over the covered leads (ref units)."""
        ctx = self.context
        first, last = ctx.covered_leads()
        values = quantile_level(view.forecast, ctx.quantiles, level)
        return lead_span_max(values, ctx.forecast_leads, first, last)

    def proactive_need(self, view: ObservationView) -> tuple[NDArray[np.float64], ...]:
        """``(need, ramp)``: forecast need over the covered leads, and the ramp-up floor."""
        ctx = self.context
        cls = view.priority
        first, last = ctx.covered_leads()
        need = np.empty_like(view.pending)
        ramp = np.empty_like(view.pending)
        levels = self._quantile[cls]
        for level in np.unique(levels):
            rows = levels == level
            values = quantile_level(view.forecast[rows], ctx.quantiles, float(level))
            need[rows] = lead_span_max(values, ctx.forecast_leads, first, last)
            ramp[rows] = ramp_floor(values, ctx.forecast_leads, last, ctx.max_change_factor)
        return need, ramp

    def floors(self, view: ObservationView, window: PeakWindow) -> NDArray[np.float64]:
        """``(A, 4)`` the reactive, hold and standby floors (ref units)."""
        cls = view.priority
        reactive = self._reactive[cls, None]
        floor = np.where(reactive > -1.0, view.last_usage * (1.0 + reactive), 0.0)
        holds, standby = self._window_ticks()
        if self._holds:
            for c in np.unique(cls):
                rows = cls == c
                peak = window.peak_last(holds[int(c)])[rows]
                floor[rows] = np.maximum(floor[rows], self._peak_share[c] * peak)
        if self._stands_by:
            floor = np.maximum(floor, self._standby_share[cls] * window.peak_last(standby))
        return np.asarray(floor)

    def fixed_rule(self, view: ObservationView, window: PeakWindow) -> NDArray[np.float64]:
        """``(A, 4)`` the fixed rule's target, steps 1 to 6 of the module docstring."""
        cfg = self.config
        cls = view.priority
        need, ramp = self.proactive_need(view)
        error = np.minimum(view.forecast_error, cfg.max_error)
        relative = need * (1.0 + self._headroom[cls] + self._gain[cls, None] * error)
        absolute = need + self._margin[cls] / self._ref(view)
        target = np.maximum(np.maximum(relative, absolute), ramp)
        return np.asarray(np.maximum(target, self.floors(view, window)))

    @staticmethod
    def _ref(view: ObservationView) -> NDArray[np.float64]:
        """``(A, 4)`` the absolute size of one ref unit."""
        return np.asarray(np.maximum(np.expm1(view.ref_log), 1e-12))

    def decide(self, view: ObservationView, state: ShadowState) -> NDArray[np.float64]:
        state.window.add(view.last_usage)
        target = self.fixed_rule(view, state.window)
        selector = self.selector
        if selector is not None:
            short = self._short(view, state)
            if short is not None:
                selector.adapt(state.selection, short, view.priority)
            state.allocation = np.array(view.allocation, copy=True)
            levels = selector.config.levels
            forecasts = np.stack([self.forecast_at(view, q) for q in levels])
            ref = self._ref(view)
            candidates = selector.family.build(target, forecasts, state.window, ref)
            target, _ = selector.choose(
                state.selection, candidates, view.last_usage, view.priority, ref
            )
        lowest = view.pending * (1.0 - self.config.down_step)
        return np.asarray(np.maximum(target, np.minimum(lowest, view.pending)))
