"""Which implementation of each per-step part the engine builds: numpy or compiled.

The numpy classes (:class:`ComponentMap`, :class:`ActionCodec`, :class:`Guardrails`,
:class:`ShiftPlanner`, :class:`ForecastErrorTracker`, :class:`ObservationBuilder`,
:class:`DemandWindow`, :class:`Reward`, :class:`PoolSizer`) are the reference; their
``Fused*`` subclasses (``shadowsim.engine.fused.*``) compute the same results with numba
kernels, several times faster per step. :func:`engine_parts` picks one set; the compiled
modules, and numba with them, are imported only when asked for, so ``import shadowsim``
stays light.
"""

from __future__ import annotations

from dataclasses import dataclass

from shadowsim.engine.action_codec import ActionCodec
from shadowsim.engine.component_map import ComponentMap
from shadowsim.engine.demand_window import DemandWindow
from shadowsim.engine.forecast_error import ForecastErrorTracker
from shadowsim.engine.guardrails import Guardrails
from shadowsim.engine.observation import ObservationBuilder
from shadowsim.engine.pool_sizing import PoolSizer
from shadowsim.engine.reward import Reward
from shadowsim.engine.shifting import ShiftPlanner


@dataclass(frozen=True)
class EngineParts:
    """The classes of the engine's per-step parts.

    Attributes:
        component_map: Converts between components, applications and hosts.
        codec: Decodes actions.
        guardrails: Applies the guardrails.
        shift_planner: Plans shifts to spares.
        tracker: Tracks the recent forecast error.
        builder: Builds observations.
        window: Keeps the recent demand window.
        reward: Computes the reward terms.
        pool_sizer: Sizes the spare pool.
    """

    component_map: type[ComponentMap] = ComponentMap
    codec: type[ActionCodec] = ActionCodec
    guardrails: type[Guardrails] = Guardrails
    shift_planner: type[ShiftPlanner] = ShiftPlanner
    tracker: type[ForecastErrorTracker] = ForecastErrorTracker
    builder: type[ObservationBuilder] = ObservationBuilder
    window: type[DemandWindow] = DemandWindow
    reward: type[Reward] = Reward
    pool_sizer: type[PoolSizer] = PoolSizer


def engine_parts(jit: bool) -> EngineParts:
    """The compiled parts when ``jit`` (numba must be installed), else the numpy reference."""
    if not jit:
        return EngineParts()
    from shadowsim.engine.fused.action_codec import FusedActionCodec
    from shadowsim.engine.fused.component_map import FusedComponentMap
    from shadowsim.engine.fused.demand_window import FusedDemandWindow
    from shadowsim.engine.fused.forecast_error import FusedForecastErrorTracker
    from shadowsim.engine.fused.guardrails import FusedGuardrails
    from shadowsim.engine.fused.observation import FusedObservationBuilder
    from shadowsim.engine.fused.pool_sizing import FusedPoolSizer
    from shadowsim.engine.fused.reward import FusedReward
    from shadowsim.engine.fused.shifting import FusedShiftPlanner

    return EngineParts(
        component_map=FusedComponentMap,
        codec=FusedActionCodec,
        guardrails=FusedGuardrails,
        shift_planner=FusedShiftPlanner,
        tracker=FusedForecastErrorTracker,
        builder=FusedObservationBuilder,
        window=FusedDemandWindow,
        reward=FusedReward,
        pool_sizer=FusedPoolSizer,
    )
