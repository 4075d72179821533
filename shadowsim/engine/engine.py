"""The allocation engine: the seed's control loop, generalised to any policy and backend.

Each :meth:`AllocationEngine.step`, for every application at once: decode the policy's
action into targets, pass them through the guardrails, apply them to the backend (scaling
lands after the backend's actuation latency; the observation's ``pending`` shows what is in
flight), size the spare pool and shift components ahead of predicted bottlenecks (or let
the policy do it), advance the backend to the next decision point, compare the forecast
issued for the tick just accounted with the demand that happened (the recent forecast error
feature), forecast from now, build the next observation and the reward terms. The engine
never calls the policy: whoever drives it (the Gymnasium env, the live adapter) does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.actions import (
    Action,
    ActionResult,
    PoolTargetAction,
    ScaleAllAction,
)
from shadowsim.backend import ClusterBackend
from shadowsim.cluster_state import ClusterState
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.engine.engine_parts import engine_parts
from shadowsim.engine.forecasts import ForecastProvider
from shadowsim.engine.guardrails import GuardrailReport
from shadowsim.engine.observation import (
    check_quantiles_match,
    reference_sizes,
)
from shadowsim.engine.pool_sizing import PoolSizer
from shadowsim.engine.reward import RewardTerms
from shadowsim.errors import ConfigError, ShadowSimError
from shadowsim.resources import N_RESOURCES

if TYPE_CHECKING:  # compiled parts: numba is imported only when they are used
    from shadowsim.engine.fused.decision import FusedDecision
    from shadowsim.engine.fused.observation import FusedObservationBuilder
    from shadowsim.engine.fused.tick_update import FusedTickUpdate

F64 = NDArray[np.float64]
Observation = dict[str, NDArray[np.float32]]


@dataclass(frozen=True, eq=False)
class StepOutcome:
    """What one engine step produced.

    Attributes:
        observation: The next observation.
        reward: Minus the weighted costs of the interval.
        terms: The reward's terms.
        terminated: True when the backend cannot advance any further.
        info: Reward terms, guardrail counts and notes, rejected actions, KPIs.
        state: The snapshot of the tick just accounted.
        guardrails: Everything the guardrails changed or refused.
        results: The backend's answer to each submitted action.
    """

    observation: Observation
    reward: float
    terms: RewardTerms
    terminated: bool
    info: dict[str, Any]
    state: ClusterState
    guardrails: GuardrailReport
    results: list[ActionResult]


class AllocationEngine:
    """Runs the control loop against a backend with a forecast provider.

    Args:
        backend: The cluster (simulator or live adapter), before its first advance.
        forecasts: Forecast source; its horizon must cover ``config.horizon``.
        config: Engine settings.
        history: ``(A, T, 4)`` application demand of the ``T >= observation.window`` ticks
            before the first tick the engine will account (sets the reference sizes and the
            initial usage window; the last ``accuracy_seed_ticks`` of it are replayed
            through the provider to seed the forecast error).
        origin_tick: Workload tick the first step accounts (forecast provider ticks).
        max_steps: Steps the episode may take (the provider prepares forecasts for them).
        time_origin_s: Unix time of backend time 0, s (calendar features).

    Raises:
        ConfigError: The provider's quantiles or horizon do not fit the config, or the
            history is too short.
    """

    def __init__(
        self,
        backend: ClusterBackend,
        forecasts: ForecastProvider,
        config: EngineConfig | None = None,
        *,
        history: F64,
        origin_tick: int,
        max_steps: int,
        time_origin_s: float = 0.0,
    ) -> None:
        self.config = config or EngineConfig()
        cfg = self.config
        self.backend = backend
        self.forecasts = forecasts
        spec = backend.spec
        self.spec = spec
        check_quantiles_match(cfg.observation, forecasts.quantiles, source="the forecast provider")
        if forecasts.horizon < cfg.horizon:
            raise ConfigError(
                "engine.observation.forecast_leads",
                f"needs forecasts {cfg.horizon} ticks ahead, the provider covers "
                f"{forecasts.horizon}; raise its horizon",
            )
        self.history = np.asarray(history, dtype=np.float64)
        if self.history.ndim != 3 or self.history.shape[0] != spec.n_apps:
            raise ConfigError(
                "history",
                f"must have shape ({spec.n_apps}, T, {N_RESOURCES}), got {self.history.shape}",
            )
        if self.history.shape[1] < cfg.observation.window:
            raise ConfigError(
                "warmup_ticks",
                f"the engine needs at least observation.window = {cfg.observation.window} "
                f"ticks of history before the start, got {self.history.shape[1]}",
            )
        self.origin_tick = int(origin_tick)
        self.max_steps = int(max_steps)
        parts = engine_parts(cfg.jit)
        self.components = parts.component_map(spec)
        self.codec = parts.codec(spec, cfg.action, component_map=self.components)
        self.builder = parts.builder(
            spec, cfg.observation, component_map=self.components, time_origin_s=time_origin_s
        )
        self.guardrails = parts.guardrails(spec, cfg.guardrails, component_map=self.components)
        self.reward = parts.reward(spec, cfg.reward)
        self.pool_sizer: PoolSizer = parts.pool_sizer(spec, cfg.pool, cfg.reward.priority_weights)
        self.shift_planner = parts.shift_planner(spec, cfg.shifting, component_map=self.components)
        self.ref = reference_sizes(self.history, cfg.observation)
        floor = np.asarray(cfg.observation.ref_floor)
        self.tracker = parts.tracker(spec.n_apps, cfg.error_halflife_ticks, floor)
        self.window = parts.window(spec.n_apps, cfg.observation.window)
        self._tick_update: FusedTickUpdate | None = None
        self._decision: FusedDecision | None = None
        self._scaled_builder: FusedObservationBuilder | None = None
        if cfg.jit:  # decode + guardrails, and tracker + window + per-app sums: one call each
            from shadowsim.engine.fused.decision import FusedDecision
            from shadowsim.engine.fused.demand_window import FusedDemandWindow
            from shadowsim.engine.fused.observation import FusedObservationBuilder
            from shadowsim.engine.fused.tick_update import FusedTickUpdate

            if isinstance(self.window, FusedDemandWindow) and isinstance(
                self.builder, FusedObservationBuilder
            ):  # the window kept scaled as the observation shows it: one row per tick
                self.window.attach_scaled(*self.builder.usage_scales(self.ref))
                self._scaled_builder = self.builder

            if FusedDecision.applies(self.codec, self.guardrails):
                self._decision = FusedDecision(
                    self.codec,  # type: ignore[arg-type]  # checked by applies()
                    self.guardrails,  # type: ignore[arg-type]
                    self.shift_planner,
                )

            if FusedTickUpdate.applies(self.tracker, self.window, self.components):
                self._tick_update = FusedTickUpdate(
                    self.tracker,  # type: ignore[arg-type]  # checked by applies()
                    self.window,  # type: ignore[arg-type]
                    self.components,  # type: ignore[arg-type]
                )
        self._median = cfg.observation.median_index
        self.seed_ticks = min(cfg.accuracy_seed_ticks, self.history.shape[1], self.origin_tick - 1)
        self.seed_ticks = max(self.seed_ticks, 0)
        self.tick = self.origin_tick - 1
        self.steps = 0
        self.state: ClusterState = backend.observe()
        self._forecast: F64 = np.zeros((spec.n_apps, cfg.horizon, N_RESOURCES, 1))
        self.observation: Observation = {}

    @property
    def forecast_error(self) -> F64:
        """``(A, 4)`` recent relative MAE of the P50 forecast."""
        return self.tracker.error

    @property
    def current_forecast(self) -> F64:
        """``(A, K, 4, Q)`` the forecast from now (a read-only view)."""
        return self._forecast

    def reset(self) -> tuple[Observation, dict[str, Any]]:
        """Prepare the episode and return the first observation and info."""
        first = self.origin_tick - self.seed_ticks
        self.forecasts.start(first, self.origin_tick + self.max_steps)
        self.guardrails.reset()
        self.pool_sizer.reset()
        self.tracker.reset()
        self.window.fill(self.history)
        offset = self.origin_tick - self.history.shape[1]
        for tick in range(first, self.origin_tick):
            predicted = self.forecasts.forecast(tick)[:, 0, :, self._median]
            actual = self.history[:, tick - offset]
            self.tracker.update(predicted, actual)
            self.forecasts.observe(tick, actual)
        self.tick = self.origin_tick - 1
        self.steps = 0
        self.state = self.backend.observe()
        self._forecast = self.forecasts.forecast(self.origin_tick)
        self.observation = self._observe()
        info = {"tick": self.tick, "ref": self.ref.copy()}
        return self.observation, info

    def _observe(self) -> Observation:
        if self._scaled_builder is not None:
            return self._scaled_builder.build_scaled(
                self.state,
                self.window.scaled_view(),  # type: ignore[attr-defined]  # a FusedDemandWindow
                self._forecast,
                self.tracker.error,
                self.ref,
            )
        return self.builder.build(
            self.state, self.window.view(), self._forecast, self.tracker.error, self.ref
        )

    def decide(self, action: object) -> tuple[list[Action], GuardrailReport]:
        """The backend actions an action leads to in the current state (nothing applied)."""
        state = self.state
        clear = False  # True: no host near a predicted bottleneck, no automatic shift
        if self._decision is not None:
            report, pool_share, shift_mask, clear = self._decision.decide(
                action, state, self.ref, self._forecast
            )
        else:
            decision = self.codec.decode(action, state, self.ref)
            report = self.guardrails.apply(decision.targets, state, self.ref)
            pool_share, shift_mask = decision.pool_share, decision.shift_mask
        actions: list[Action] = []
        if report.changes is not None:  # unchanged entries are sent as NaN ("hold")
            actions.append(ScaleAllAction(targets=report.changes))
        pool = self._pool_targets(pool_share, state)
        if pool is not None:
            actions.append(PoolTargetAction(targets=pool))
        if shift_mask is not None:
            shifts, notes = self.shift_planner.from_mask(shift_mask, state)
            report.notes.extend(notes)
        elif not clear:
            shifts = self.shift_planner.plan(state, self._forecast)
        else:
            return actions, report
        actions.extend(shifts)
        return actions, report

    def _pool_targets(self, share: float | None, state: ClusterState) -> tuple[int, ...] | None:
        """New pool targets, or None when they would not change (or are not due)."""
        sizer = self.pool_sizer
        if share is None and not sizer.due():
            return None
        error = self.tracker.error
        if share is None:  # both levels in one call, each used once
            level, load = sizer.levels(state, error)
            share = sizer.auto_share(state, error, error_level=level, load_level=load)
        else:  # the policy's share: the load is not needed
            level = sizer.error_level(error)
        targets = sizer.targets(share, error, error_level=level)
        if targets == tuple(state.pool_target.tolist()):
            return None
        return targets

    def step(self, action: object) -> StepOutcome:
        """Decide, apply, advance to the next decision point, observe and score."""
        report, results = self._transition(action)
        state = self.state
        terms = self.reward.terms(state)
        return StepOutcome(
            observation=self.observation,
            reward=terms.reward,
            terms=terms,
            terminated=bool(self.backend.done),
            info=self._info(state, terms.as_dict(), report, results),
            state=state,
            guardrails=report,
            results=results,
        )

    def step_values(self, action: object) -> tuple[Observation, float, bool, dict[str, Any]]:
        """:meth:`step` as ``(observation, reward, terminated, info)``, the same values,
        without the :class:`StepOutcome` and :class:`RewardTerms` objects (for the env)."""
        report, results = self._transition(action)
        state = self.state
        terms = self.reward.term_dict(state)
        info = self._info(state, terms, report, results)
        return self.observation, terms["reward"], bool(self.backend.done), info

    def _transition(self, action: object) -> tuple[GuardrailReport, list[ActionResult]]:
        """Decide, apply, advance, update the trackers, forecast and observe."""
        if self.steps >= self.max_steps:
            raise ShadowSimError(
                f"the engine was prepared for {self.max_steps} steps; reset for a new episode"
            )
        actions, report = self.decide(action)
        results = self.backend.apply(actions) if actions else []
        state = self.backend.advance()
        self.state = state
        self.steps += 1
        self.tick += 1
        demand = state.kpis.demand
        if self._tick_update is not None:
            self._tick_update.update(self._forecast, self._median, state)
            self.forecasts.observe(self.tick, demand)
        else:
            self.tracker.update(self._forecast[:, 0, :, self._median], demand)
            self.forecasts.observe(self.tick, demand)
            self.window.push(demand)
        self._forecast = self.forecasts.forecast(self.tick + 1)
        self.observation = self._observe()
        return report, results

    def _info(
        self,
        state: ClusterState,
        terms: dict[str, float],
        report: GuardrailReport,
        results: list[ActionResult],
    ) -> dict[str, Any]:
        """The step's info: reward terms (by name), guardrail changes, rejections and KPIs."""
        n_violated, n_high = self.reward.violations(state)
        return {
            "tick": self.tick,
            "reward_terms": terms,
            "guardrails": report.counts,
            "guardrail_report": report,
            "rejected": rejections(results),
            "sla_violations": n_violated,
            "sla_violations_high": n_high,
            "cost": state.cost.total,
            "migrations": int(state.migrations),
        }


def rejections(results: list[ActionResult]) -> list[str]:
    """One line per rejected action or rejected/clamped bulk-scaling entries."""
    lines: list[str] = []
    for result in results:
        name = type(result.action).__name__
        if not result.accepted:
            lines.append(f"{name} rejected: {result.reason}")
            continue
        outcome = result.outcome
        if outcome is not None:
            for reason, count in outcome.rejected_reasons.items():
                lines.append(f"{name}: {count} entries rejected ({reason})")
            clamped = int(np.count_nonzero(outcome.clamped))
            if clamped:
                lines.append(f"{name}: {clamped} entries clamped by the backend")
        elif result.reason:
            lines.append(f"{name}: {result.reason}")
    return lines
