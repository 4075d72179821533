"""What every algorithm's hyper-parameter dataclass shares: one check per SB3 name, and the
keyword arguments of the SB3 model and policy.

A config's ``__post_init__`` calls :func:`check_fields`, which normalises each field by the
rule for its name in :data:`RULES` (an algorithm may tighten one, e.g. PPO's ``n_steps >= 2``),
so ``gamma`` or ``net_arch`` is checked the same way for PPO, A2C, DQN and RecurrentPPO. An
error names the bare field; :meth:`Algorithm.hyperparameters
<shadowsim_policies.sb3.algorithm.Algorithm.hyperparameters>` names it as the user set it
(``train.hyperparameters.NAME``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from shadowsim.errors import ConfigError
from shadowsim_policies.policy_config import freeze, number
from shadowsim_policies.sb3.algorithm import Activation

Check = Callable[[str, object], object]
"""Normalises the value of the named field, or raises :class:`ConfigError`."""


@dataclass(frozen=True)
class Bounds:
    """A number in ``[low, high]`` (``(low, high]`` when ``low_open``), an int if ``integer``."""

    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    integer: bool = False

    def __call__(self, name: str, value: object) -> float | int:
        out = number(name, value, low=self.low, high=self.high, low_open=self.low_open, where="")
        if self.integer:
            if not math.isfinite(out) or out != int(out):
                raise ConfigError(name, f"must be a whole number, got {value!r}")
            return int(out)
        return out


def at_least(low: int) -> Bounds:
    """A whole number of at least ``low``."""
    return Bounds(low=low, integer=True)


POSITIVE = Bounds(low=0.0, low_open=True)
NON_NEGATIVE = Bounds(low=0.0)
FRACTION = Bounds(low=0.0, high=1.0)


def check_arch(name: str, value: object) -> tuple[int, ...]:
    """Hidden layer sizes as a tuple of positive ints (YAML lists accepted)."""
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigError(name, f"must be a list of layer sizes, got {value!r}")
    sizes = list(value)
    if any(isinstance(s, bool) or not isinstance(s, int) or s < 1 for s in sizes):
        raise ConfigError(name, f"layer sizes must be positive ints, got {sizes!r}")
    return tuple(int(s) for s in sizes)


def check_flag(name: str, value: object) -> bool:
    """A true/false value."""
    if not isinstance(value, bool):
        raise ConfigError(name, f"must be true or false, got {value!r}")
    return value


def check_activation(name: str, value: object) -> Activation:
    """An :class:`Activation` or its name."""
    return Activation.parse(value, name)


RULES: dict[str, Check] = {
    "learning_rate": POSITIVE,
    "n_steps": at_least(1),
    "batch_size": at_least(1),
    "n_epochs": at_least(1),
    "gamma": FRACTION,
    "gae_lambda": FRACTION,
    "clip_range": POSITIVE,
    "ent_coef": NON_NEGATIVE,
    "vf_coef": NON_NEGATIVE,
    "max_grad_norm": POSITIVE,
    "normalize_advantage": check_flag,
    "buffer_size": at_least(1),
    "learning_starts": at_least(0),
    "train_freq": at_least(1),
    "target_update_interval": at_least(1),
    "exploration_fraction": FRACTION,
    "exploration_final_eps": FRACTION,
    "lstm_hidden_size": at_least(1),
    "n_lstm_layers": at_least(1),
    "net_arch": check_arch,
    "activation": check_activation,
}
"""The check of each SB3 hyper-parameter name any algorithm config uses."""


def check_fields(config: object, **tighter: Check) -> None:
    """Normalise every field of the frozen dataclass ``config`` (inside its ``__post_init__``)
    by its rule in :data:`RULES`, or by the one given here for this algorithm.

    Raises:
        ConfigError: A value breaks its rule (the key is the field's name).
        TypeError: The dataclass has a field no rule covers (add it to :data:`RULES`).
    """
    values: dict[str, object] = {}
    for f in dataclasses.fields(config):  # type: ignore[arg-type]
        check = tighter.get(f.name) or RULES.get(f.name)
        if check is None:
            raise TypeError(f"{type(config).__name__}.{f.name} has no hyper-parameter check")
        values[f.name] = check(f.name, getattr(config, f.name))
    freeze(config, **values)


class ModelKwargs:
    """The SB3 constructor arguments of a hyper-parameter dataclass: every field goes to the
    model but the network's (:attr:`NETWORK_FIELDS`), which shape the policy; by default
    separate policy and value networks of ``net_arch`` with ``activation`` (actor-critic
    algorithms; DQN overrides :meth:`policy_kwargs` with one Q network)."""

    NETWORK_FIELDS: ClassVar[tuple[str, ...]] = ("net_arch", "activation")
    net_arch: tuple[int, ...]
    activation: Activation

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the SB3 model constructor (policy_kwargs excluded)."""
        out = dataclasses.asdict(self)  # type: ignore[call-overload]
        for key in self.NETWORK_FIELDS:
            del out[key]
        return dict(out)

    def policy_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the SB3 policy constructor (network shape, activation)."""
        arch = list(self.net_arch)
        return {"net_arch": {"pi": arch, "vf": arch}, "activation_fn": self.activation.module}


def minibatch_dividing(batch_size: int, rollout: int) -> int:
    """The minibatch size nearest ``batch_size`` that divides a rollout of ``rollout`` samples.

    SB3's on-policy algorithms cut each rollout (``n_steps`` x the number of envs; with
    per-application training, x the applications) into minibatches of ``batch_size`` and
    leave a smaller one at the end when it does not divide the rollout (and warn). The
    per-application defaults' 400 suits 50 applications (32 x 50 = 1,600) but not 30 (960:
    a last minibatch of 160); this gives 480 there.

    Args:
        batch_size: The wanted minibatch size, >= 1.
        rollout: Samples per rollout, >= 1.

    Returns:
        The divisor of ``rollout`` nearest ``batch_size`` (the larger of two as near), or
        ``rollout`` when it is smaller than ``batch_size``.
    """
    if rollout <= batch_size:
        return rollout
    divisors = [d for d in range(1, math.isqrt(rollout) + 1) if rollout % d == 0]
    divisors += [rollout // d for d in divisors]
    return min(divisors, key=lambda d: (abs(d - batch_size), -d))
