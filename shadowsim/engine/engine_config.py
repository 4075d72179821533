"""The :class:`EngineConfig`: every setting of the allocation engine in one dataclass."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shadowsim.engine.action_codec import ActionConfig, ActionMode
from shadowsim.engine.config_checks import (
    check_enum,
    check_int,
    check_number,
    check_sub_config,
    config_dict,
    set_value,
)
from shadowsim.engine.guardrails import GuardrailConfig
from shadowsim.engine.observation import ObservationConfig
from shadowsim.engine.pool_sizing import PoolSizingConfig
from shadowsim.engine.reward import RewardConfig
from shadowsim.engine.shifting import ShiftConfig
from shadowsim.sim.jit import Kernel, use_jit


@dataclass(frozen=True)
class EngineConfig:
    """Settings of the allocation engine (works with and without Hydra).

    Nested configs may be given as instances or as mappings of their fields (as Hydra/YAML
    gives them); errors name the dotted key, e.g. ``engine.guardrails.max_change_factor``.

    Attributes:
        observation: What the observation shows.
        action: The action space.
        guardrails: Limits every policy's targets go through.
        reward: Reward weights.
        pool: Automatic spare-pool sizing.
        shifting: Automatic shifting of components to spares.
        error_halflife_ticks: Half-life of the recent forecast error feature, ticks, > 0.
        accuracy_seed_ticks: Warm-up ticks replayed through the forecast provider at reset
            to seed the forecast error feature, >= 0.
        kernel: How the per-step guardrails and observation are computed: compiled
            (:attr:`Kernel.JIT`, needs numba), numpy (:attr:`Kernel.NUMPY`, the reference), or
            compiled when numba is installed (:attr:`Kernel.AUTO`); the same results (see
            :mod:`shadowsim.engine.fused.guardrails`, :mod:`shadowsim.engine.fused.observation`).
    """

    observation: ObservationConfig = field(default_factory=ObservationConfig)
    action: ActionConfig = field(default_factory=ActionConfig)
    guardrails: GuardrailConfig = field(default_factory=GuardrailConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    pool: PoolSizingConfig = field(default_factory=PoolSizingConfig)
    shifting: ShiftConfig = field(default_factory=ShiftConfig)
    error_halflife_ticks: float = 12.0
    accuracy_seed_ticks: int = 12
    kernel: Kernel = Kernel.AUTO

    def __post_init__(self) -> None:
        subs: dict[str, type[Any]] = {
            "observation": ObservationConfig,
            "action": ActionConfig,
            "guardrails": GuardrailConfig,
            "reward": RewardConfig,
            "pool": PoolSizingConfig,
            "shifting": ShiftConfig,
        }
        for key, cls in subs.items():
            set_value(self, key, check_sub_config(f"engine.{key}", cls, getattr(self, key)))
        set_value(
            self,
            "error_halflife_ticks",
            check_number(
                "engine.error_halflife_ticks", self.error_halflife_ticks, low=0.0, low_open=True
            ),
        )
        set_value(
            self,
            "accuracy_seed_ticks",
            check_int("engine.accuracy_seed_ticks", self.accuracy_seed_ticks, low=0),
        )
        set_value(self, "kernel", check_enum("engine.kernel", Kernel, self.kernel))
        use_jit(self.kernel, "engine.kernel")

    @property
    def jit(self) -> bool:
        """True when the compiled kernels are used (see ``kernel``)."""
        return use_jit(self.kernel, "engine.kernel")

    @property
    def horizon(self) -> int:
        """Forecast ticks the engine needs (observation leads and shifting look-ahead)."""
        return max(self.observation.horizon, self.shifting.lead_ticks)

    @property
    def action_mode(self) -> ActionMode:
        """The configured :class:`ActionMode`."""
        return self.action.mode

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-friendly values (for logging and saved policies)."""
        return config_dict(self)
