"""DQN (stable-baselines3) on the cluster env, where the action space fits: entry ``dqn``.

DQN needs a Discrete action space. The env's DISCRETE mode (MultiDiscrete) is enumerated into
joint actions by :class:`~shadowsim_policies.sb3.joint_discrete.JointDiscreteActions` when it
is small enough (one application: 625 joint actions); otherwise training raises an
:class:`~shadowsim.errors.ActionError` that says to use ppo / a2c / recurrent_ppo. The saved
agent maps its Discrete actions back to the env's MultiDiscrete vector.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import gymnasium as gym
from stable_baselines3 import DQN

from shadowsim_policies.policy_config import freeze, number
from shadowsim_policies.sb3.algorithm import ALGORITHMS, Activation, Algorithm
from shadowsim_policies.sb3.joint_discrete import JointDiscreteActions
from shadowsim_policies.sb3.network import check_arch


@dataclass(frozen=True)
class DqnConfig:
    """DQN hyper-parameters (SB3 names and meanings).

    Attributes:
        learning_rate: Adam step size.
        buffer_size: Replay buffer size (transitions).
        learning_starts: Steps collected before learning.
        batch_size: Minibatch size.
        gamma: Discount factor.
        train_freq: Env steps between updates.
        target_update_interval: Steps between target network updates.
        exploration_fraction: Share of training over which epsilon decays.
        exploration_final_eps: Final epsilon.
        net_arch: Hidden layer sizes of the Q network.
        activation: Activation function name (tanh, relu, elu).
    """

    learning_rate: float = 1e-4
    buffer_size: int = 50_000
    learning_starts: int = 500
    batch_size: int = 64
    gamma: float = 0.99
    train_freq: int = 4
    target_update_interval: int = 1000
    exploration_fraction: float = 0.2
    exploration_final_eps: float = 0.05
    net_arch: tuple[int, ...] = (128, 128)
    activation: Activation = Activation.RELU

    def __post_init__(self) -> None:
        freeze(
            self,
            learning_rate=number("learning_rate", self.learning_rate, low=0.0, low_open=True),
            buffer_size=int(number("buffer_size", self.buffer_size, low=1)),
            learning_starts=int(number("learning_starts", self.learning_starts, low=0)),
            batch_size=int(number("batch_size", self.batch_size, low=1)),
            gamma=number("gamma", self.gamma, low=0.0, high=1.0),
            train_freq=int(number("train_freq", self.train_freq, low=1)),
            target_update_interval=int(
                number("target_update_interval", self.target_update_interval, low=1)
            ),
            exploration_fraction=number(
                "exploration_fraction", self.exploration_fraction, low=0.0, high=1.0
            ),
            exploration_final_eps=number(
                "exploration_final_eps", self.exploration_final_eps, low=0.0, high=1.0
            ),
            net_arch=check_arch(self.net_arch),
            activation=Activation.parse(self.activation),
        )

    def model_kwargs(self) -> dict[str, Any]:
        out = asdict(self)
        del out["net_arch"], out["activation"]
        return out

    def policy_kwargs(self) -> dict[str, Any]:
        return {"net_arch": list(self.net_arch), "activation_fn": self.activation.module}


def _joint(env: gym.Env[Any, Any]) -> gym.Env[Any, Any]:
    return JointDiscreteActions(env)


DQN_ALGORITHM = Algorithm(
    name="dqn",
    model_class=DQN,
    policies=("dqn_multi_input",),
    legacy_policy="dqn_multi_input",
    config_class=DqnConfig,
    adapt_env=_joint,
)
ALGORITHMS.add("dqn", DQN_ALGORITHM)
