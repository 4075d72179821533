"""Per-application rule selection by counterfactual replay: how much headroom each one needs.

One provisioning rule does not fit every application: a small, steady one can be covered
generously for pennies, a large on/off batch job costs a fortune to hold at its peak, and the
right trade-off also depends on the priority class. :class:`RuleSelector` keeps a family of
candidate rules (:mod:`shadowsim_policies.rule_candidates`), replays every one of them
*counterfactually* for every application and resource on the demand that actually followed,
and each tick hands out, per application and resource, the target of the candidate with the
lowest score

    score_k = C_k + penalty[c] * V_k,

``C_k`` being the candidate's allocation cost (cu, at ``prices``) and ``V_k`` the number of
ticks it would have left the demand short, both summed over the past with half-life
``halflife_s[c]``. This is full-information online learning: every candidate's outcome is known
once the demand it was meant to cover has been observed, so no exploration is needed. Each
candidate's allocation evolves as the guardrails would let it (at most a factor
``max_change_factor`` per tick, never below ``floor``), so a rule that lets an allocation
collapse pays for the ticks it takes to grow back.

The penalty per class is a Lagrange multiplier: after every tick the share of the class's
applications that were actually short (demand above the allocation that served them) is
compared with ``violation_target[c]``, and ``log(penalty[c])`` moves by
``(share - target) / (target * adapt_ticks)``. The trade-off therefore finds its own scale on
any workload (a cost unit means little on its own), and the target share is what the class
gets.

Timing: a decision taken now is in force from the first covered lead ``L`` on; the demand of
that tick is observed ``L`` decisions later, when the candidates' values are scored.

At the start of an episode nothing has been scored: every candidate except the *prior* (index
0, the policy's fixed rule) carries a handicap of ``prior_bonus[c]`` cu, which fades with the
half-life ``prior_halflife_s``, so the fixed rule serves until the evidence says otherwise.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from shadowsim_policies.rule_candidates import CandidateFamily
from shadowsim_policies.selection_config import S_PER_H, UNIT_PER_PRICE_UNIT, SelectionConfig

F64 = NDArray[np.float64]

SHORT_TOLERANCE = 1e-6
"""Demand above the allocation by at most this share does not count as short."""


@dataclass
class SelectorState:
    """One env's selection state.

    Attributes:
        trajectory: ``(K, A, 4)`` each candidate's allocation as the guardrails would let it
            evolve, ref units (None before the first decision).
        queue: Candidate allocations waiting for the demand they were meant to cover.
        cost: ``(K, A, 4)`` decayed allocation cost of each candidate, cu.
        short: ``(K, A, 4)`` decayed count of ticks each candidate left short.
        log_penalty: ``(3,)`` log of the current penalty per class.
        scored: Ticks scored so far.
    """

    trajectory: F64 | None = None
    queue: deque[F64] = field(default_factory=deque)
    cost: F64 | None = None
    short: F64 | None = None
    log_penalty: F64 | None = None
    scored: int = 0


class RuleSelector:
    """Scores the candidates counterfactually and picks one per application and resource.

    Args:
        config: The selection settings.
        interval_s: Tick length, s.
        first_lead: The first forecast lead a decision is in force for (ticks).
        max_change_factor: Largest factor an allocation may change by per tick (inf = none).
    """

    def __init__(
        self,
        config: SelectionConfig,
        interval_s: float,
        first_lead: int,
        max_change_factor: float,
    ) -> None:
        self.config = config
        self.family = CandidateFamily(config, interval_s)
        self.first_lead = max(1, int(first_lead))
        self.factor = float(max_change_factor)
        self.decay = 0.5 ** (interval_s / np.asarray(config.halflife_s))  # per class
        per_unit_h = np.asarray(config.prices) / np.asarray(UNIT_PER_PRICE_UNIT)
        self.price_tick = per_unit_h * (interval_s / S_PER_H)  # cu per unit per tick
        self.floor = np.asarray(config.floor, dtype=np.float64)
        self.log_penalty0 = np.log(np.asarray(config.penalty, dtype=np.float64))
        self.log_range = math.log(config.penalty_range)
        self.target = np.asarray(config.violation_target, dtype=np.float64)
        self.adapt_ticks = max(1.0, config.adapt_s / interval_s)
        self.bonus = np.asarray(config.prior_bonus, dtype=np.float64)
        self.bonus_decay = 0.5 ** (interval_s / config.prior_halflife_s)

    def penalty(self, state: SelectorState) -> F64:
        """``(3,)`` the current penalty per class, cu per short application-tick."""
        log = self.log_penalty0 if state.log_penalty is None else state.log_penalty
        return np.asarray(np.exp(log))

    def adapt(
        self, state: SelectorState, short: NDArray[np.bool_], priority: NDArray[np.intp]
    ) -> None:
        """Move each class's penalty towards its violation target.

        Args:
            state: The env's selection state.
            short: ``(A,)`` True for applications whose demand the allocation in force did not
                cover on the tick just accounted.
            priority: ``(A,)`` priority class of each application.
        """
        if state.log_penalty is None:
            state.log_penalty = self.log_penalty0.copy()
        counts = np.bincount(priority, minlength=len(self.target))
        shorts = np.bincount(priority, weights=short.astype(np.float64), minlength=len(self.target))
        present = counts > 0
        share = np.divide(shorts, counts, out=np.zeros(len(self.target)), where=present)
        step = (share - self.target) / (self.target * self.adapt_ticks)
        state.log_penalty += np.where(present, step, 0.0)
        np.clip(
            state.log_penalty,
            self.log_penalty0 - self.log_range,
            self.log_penalty0 + self.log_range,
            out=state.log_penalty,
        )

    def choose(
        self,
        state: SelectorState,
        candidates: F64,
        last_usage: F64,
        priority: NDArray[np.intp],
        ref: F64,
    ) -> tuple[F64, NDArray[np.intp]]:
        """Score what the last usage settles, then pick the targets of this decision.

        Args:
            state: The env's selection state (updated in place).
            candidates: ``(K, A, 4)`` this decision's candidate targets, ref units.
            last_usage: ``(A, 4)`` demand of the tick just accounted, ref units.
            priority: ``(A,)`` priority class of each application.
            ref: ``(A, 4)`` absolute size of one ref unit.

        Returns:
            ``(targets, chosen)``: ``(A, 4)`` targets (ref units) and the candidate index
            chosen per entry.
        """
        if state.cost is None or state.short is None or state.cost.shape != candidates.shape:
            state.cost = np.zeros_like(candidates)
            state.short = np.zeros_like(candidates)
            state.queue.clear()
            state.trajectory = None
            state.scored = 0
        decay = self.decay[priority][None, :, None]
        if len(state.queue) >= self.first_lead:
            settled = state.queue.popleft()
            state.cost *= decay
            state.cost += settled * (ref * self.price_tick)[None]
            state.short *= decay
            state.short += last_usage[None] > settled * (1.0 + SHORT_TOLERANCE)
            state.scored += 1
        floor = (self.floor / ref)[None]
        allocation = np.maximum(candidates, floor)
        if state.trajectory is not None and math.isfinite(self.factor):
            previous = state.trajectory
            allocation = np.clip(allocation, previous / self.factor, previous * self.factor)
            allocation = np.maximum(allocation, floor)
        state.trajectory = allocation
        state.queue.append(allocation)
        penalty = self.penalty(state)[priority][None, :, None]
        ranked = state.cost + penalty * state.short
        handicap = self.bonus[priority] * self.bonus_decay**state.scored  # (A,)
        ranked[1:] += handicap[None, :, None]
        chosen = np.argmin(ranked, axis=0)
        targets = np.take_along_axis(candidates, chosen[None], axis=0)[0]
        return targets, chosen
