"""The stable-baselines3 algorithms shadowsim trains, as catalog entries.

An :class:`Algorithm` ties together what training and loading need: the SB3 model class, the
policy classes it can train (names in
:data:`~shadowsim_policies.sb3.policy_classes.POLICY_CLASSES`, the first one the default; a
saved agent records which one it used and loading rebuilds it without pickle), the
hyper-parameter dataclass (one per algorithm module, e.g.
:class:`~shadowsim_policies.sb3.ppo.PpoConfig`), and an optional adapter when the algorithm
needs a different action space than the env's (DQN).

Hyper-parameter dataclasses implement :class:`Hyperparameters`: ``model_kwargs()`` for the SB3
constructor (without the policy) and ``policy_kwargs()`` (network shape); both are derived
from plain JSON-able fields, so the saved metadata rebuilds the network exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from torch import nn

from shadowsim.catalog import Catalog
from shadowsim.errors import ConfigError, UnknownNameError
from shadowsim_policies.sb3.policy_classes import POLICY_CLASSES


class Activation(Enum):
    """Activation functions of the networks, by name (no class pickling)."""

    TANH = "tanh"
    RELU = "relu"
    ELU = "elu"

    @property
    def module(self) -> type[nn.Module]:
        """The torch module class."""
        return {Activation.TANH: nn.Tanh, Activation.RELU: nn.ReLU, Activation.ELU: nn.ELU}[self]

    @classmethod
    def parse(cls, value: object, key: str = "activation") -> Activation:
        """An Activation from itself or its name (any case)."""
        if isinstance(value, cls):
            return value
        for act in cls:
            if str(value).lower() in (act.value, act.name.lower()):
                return act
        unknown = UnknownNameError("activation", str(value), [a.value for a in cls])
        raise ConfigError(key, str(unknown))


class Hyperparameters(Protocol):
    """What every algorithm's hyper-parameter dataclass provides."""

    def model_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the SB3 model constructor (policy_kwargs excluded)."""
        ...

    def policy_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the SB3 policy constructor (network shape, activation)."""
        ...


ActionAdapter = Callable[[gym.Env[Any, Any]], gym.Env[Any, Any]]
"""Wraps an env so its action space fits an algorithm (e.g. DQN's Discrete)."""


@dataclass(frozen=True)
class Algorithm:
    """One trainable SB3 algorithm.

    Attributes:
        name: Catalog name (``ppo``, ``a2c``, ``dqn``, ``recurrent_ppo``).
        model_class: The SB3 algorithm class.
        policies: Names in :data:`~shadowsim_policies.sb3.policy_classes.POLICY_CLASSES` of
            the policy classes it trains; the first is the default.
        legacy_policy: The policy class of agents saved before the metadata named it
            (format version 1: SB3's own class).
        config_class: The hyper-parameter dataclass.
        recurrent: True when the policy carries a hidden state (LSTM).
        adapt_env: Wraps the training env to fit the algorithm's action space, or None.
        per_app_defaults: Hyper-parameter values that replace the config dataclass's
            defaults for per-application training (``TrainConfig.per_app``: A samples per
            env step call for shorter rollouts and larger minibatches); explicit values
            still win.
    """

    name: str
    model_class: type[BaseAlgorithm]
    policies: tuple[str, ...]
    legacy_policy: str
    config_class: type[Any]
    recurrent: bool = False
    adapt_env: ActionAdapter | None = field(default=None)
    per_app_defaults: Mapping[str, Any] = field(default_factory=dict)

    def policy_name(self, name: str | None = None, *, key: str = "train.policy") -> str:
        """The policy class name to use: ``name`` checked, or the default.

        Raises:
            ConfigError: ``name`` is not one of :attr:`policies` (named after ``key``, with
                a did-you-mean).
        """
        if name is None:
            return self.policies[0]
        if name not in self.policies:
            unknown = UnknownNameError(f"{self.name} policy class", str(name), list(self.policies))
            raise ConfigError(key, str(unknown))
        return str(name)

    def policy_class(self, name: str | None = None) -> type[BasePolicy]:
        """The policy class called ``name`` (default: the algorithm's default).

        Raises:
            ConfigError: ``name`` is not one of :attr:`policies`.
        """
        return POLICY_CLASSES.get(self.policy_name(name))

    def hyperparameters(
        self,
        values: Mapping[str, Any] | None = None,
        *,
        per_app: bool = False,
        where: str = "train.hyperparameters",
    ) -> Hyperparameters:
        """The algorithm's hyper-parameters from field values (defaults for the rest).

        Args:
            values: Field values.
            per_app: Start from :attr:`per_app_defaults` (then ``values``).
            where: The config key the values sit under (named in errors).

        Raises:
            ConfigError: A field is unknown (with a did-you-mean) or breaks its check; the key
                is ``WHERE.FIELD``.
        """
        import dataclasses

        values = {**(self.per_app_defaults if per_app else {}), **(values or {})}
        fields = [f.name for f in dataclasses.fields(self.config_class)]
        for key in values:
            if key not in fields:
                unknown = UnknownNameError(f"{self.name} hyper-parameter", key, fields)
                raise ConfigError(f"{where}.{key}", str(unknown))
        try:
            hyper: Hyperparameters = self.config_class(**values)
        except ConfigError as err:
            raise err.under(where) from err
        return hyper


ALGORITHMS: Catalog[Algorithm] = Catalog("SB3 algorithm")
"""Every trainable algorithm by name; importing :mod:`shadowsim_policies.sb3` fills it."""
