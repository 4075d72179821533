"""The allocation engine: observations, actions, guardrails, forecasts, pool, shifting, reward.

See :mod:`shadowsim.engine.engine` for the control loop and /work/notes/engine_spec.md for
the contract with the policies.
"""

from shadowsim.engine.action_codec import (
    ActionCodec,
    ActionConfig,
    ActionMode,
    ControlSource,
    Decision,
)
from shadowsim.engine.engine import AllocationEngine, StepOutcome
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.engine.forecasts import (
    ForecastProvider,
    OnlineForecasts,
    OracleForecasts,
    PrecomputedForecasts,
)
from shadowsim.engine.guardrails import GuardrailConfig, GuardrailReport, GuardrailRule, Guardrails
from shadowsim.engine.observation import (
    OBSERVATION_KEYS,
    OBSERVATION_VERSION,
    ObservationBuilder,
    ObservationConfig,
    ObservationVersionError,
    check_observation_version,
    reference_sizes,
)
from shadowsim.engine.pool_sizing import PoolSizer, PoolSizingConfig
from shadowsim.engine.reward import Reward, RewardConfig, RewardTerms
from shadowsim.engine.shifting import ShiftConfig, ShiftPlanner

__all__ = [
    "OBSERVATION_KEYS",
    "OBSERVATION_VERSION",
    "ActionCodec",
    "ActionConfig",
    "ActionMode",
    "AllocationEngine",
    "ControlSource",
    "Decision",
    "EngineConfig",
    "ForecastProvider",
    "GuardrailConfig",
    "GuardrailReport",
    "GuardrailRule",
    "Guardrails",
    "ObservationBuilder",
    "ObservationConfig",
    "ObservationVersionError",
    "OnlineForecasts",
    "OracleForecasts",
    "PoolSizer",
    "PoolSizingConfig",
    "PrecomputedForecasts",
    "Reward",
    "RewardConfig",
    "RewardTerms",
    "ShiftConfig",
    "ShiftPlanner",
    "StepOutcome",
    "check_observation_version",
    "reference_sizes",
]
