"""RecurrentPPO (sb3-contrib, LSTM policy) on the cluster env: catalog entry ``recurrent_ppo``.

The LSTM carries a hidden state across ticks: the agent's ``predict`` returns it as ``state``
and resets it where ``episode_start`` is True. Works with both action modes; the default
policy class ``grouped_recurrent_multi_input`` uses the vectorised multi-categorical
distribution (see :mod:`~shadowsim_policies.sb3.multi_categorical`) in the DISCRETE mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from sb3_contrib import RecurrentPPO

from shadowsim_policies.sb3.algorithm import ALGORITHMS, Activation, Algorithm
from shadowsim_policies.sb3.hyperparameters import ModelKwargs, at_least, check_fields


@dataclass(frozen=True)
class RecurrentPpoConfig(ModelKwargs):
    """RecurrentPPO hyper-parameters (sb3-contrib names and meanings).

    Attributes:
        learning_rate: Adam step size.
        n_steps: Env steps per env and update.
        batch_size: Minibatch size (in steps).
        n_epochs: Passes over each rollout.
        gamma: Discount factor.
        gae_lambda: GAE lambda.
        clip_range: PPO clipping.
        ent_coef: Entropy bonus.
        vf_coef: Value loss weight.
        max_grad_norm: Gradient clipping.
        net_arch: Hidden layer sizes after the LSTM.
        activation: Activation function name (tanh, relu, elu).
        lstm_hidden_size: LSTM units.
        n_lstm_layers: Stacked LSTM layers.
    """

    learning_rate: float = 3e-4
    n_steps: int = 128
    batch_size: int = 64
    n_epochs: int = 10
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    net_arch: tuple[int, ...] = (64,)
    activation: Activation = Activation.TANH
    lstm_hidden_size: int = 64
    n_lstm_layers: int = 1

    NETWORK_FIELDS: ClassVar[tuple[str, ...]] = (
        "net_arch",
        "activation",
        "lstm_hidden_size",
        "n_lstm_layers",
    )

    def __post_init__(self) -> None:
        check_fields(self, n_steps=at_least(2), batch_size=at_least(2))

    def policy_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the SB3 policy constructor (network shape, activation, LSTM)."""
        return super().policy_kwargs() | {
            "lstm_hidden_size": self.lstm_hidden_size,
            "n_lstm_layers": self.n_lstm_layers,
        }


RECURRENT_PPO_ALGORITHM = Algorithm(
    name="recurrent_ppo",
    model_class=RecurrentPPO,
    policies=("grouped_recurrent_multi_input", "recurrent_multi_input"),
    legacy_policy="recurrent_multi_input",
    config_class=RecurrentPpoConfig,
    recurrent=True,
)
ALGORITHMS.add("recurrent_ppo", RECURRENT_PPO_ALGORITHM)
