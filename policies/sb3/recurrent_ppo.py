"""RecurrentPPO (sb3-contrib, LSTM policy) on the cluster env: catalog entry ``recurrent_ppo``.

The LSTM carries a hidden state across ticks: the agent's ``predict`` returns it as ``state``
and resets it where ``episode_start`` is True. Works with both action modes; the default
policy class ``grouped_recurrent_multi_input`` uses the vectorised multi-categorical
distribution (see :mod:`~shadowsim_policies.sb3.multi_categorical`) in the DISCRETE mode.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sb3_contrib import RecurrentPPO

from shadowsim_policies.policy_config import freeze, number
from shadowsim_policies.sb3.algorithm import ALGORITHMS, Activation, Algorithm
from shadowsim_policies.sb3.network import check_arch


@dataclass(frozen=True)
class RecurrentPpoConfig:
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

    def __post_init__(self) -> None:
        freeze(
            self,
            learning_rate=number("learning_rate", self.learning_rate, low=0.0, low_open=True),
            n_steps=int(number("n_steps", self.n_steps, low=2)),
            batch_size=int(number("batch_size", self.batch_size, low=2)),
            n_epochs=int(number("n_epochs", self.n_epochs, low=1)),
            gamma=number("gamma", self.gamma, low=0.0, high=1.0),
            gae_lambda=number("gae_lambda", self.gae_lambda, low=0.0, high=1.0),
            clip_range=number("clip_range", self.clip_range, low=0.0, low_open=True),
            ent_coef=number("ent_coef", self.ent_coef, low=0.0),
            vf_coef=number("vf_coef", self.vf_coef, low=0.0),
            max_grad_norm=number("max_grad_norm", self.max_grad_norm, low=0.0, low_open=True),
            net_arch=check_arch(self.net_arch),
            activation=Activation.parse(self.activation),
            lstm_hidden_size=int(number("lstm_hidden_size", self.lstm_hidden_size, low=1)),
            n_lstm_layers=int(number("n_lstm_layers", self.n_lstm_layers, low=1)),
        )

    def model_kwargs(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("net_arch", "activation", "lstm_hidden_size", "n_lstm_layers"):
            del out[key]
        return out

    def policy_kwargs(self) -> dict[str, Any]:
        arch = list(self.net_arch)
        return {
            "net_arch": {"pi": arch, "vf": arch},
            "activation_fn": self.activation.module,
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
