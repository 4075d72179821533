"""DQN (stable-baselines3) on the cluster env, where the action space fits: entry ``dqn``.

DQN needs a Discrete action space. The env's DISCRETE mode (MultiDiscrete) is enumerated into
joint actions by :class:`~shadowsim_policies.sb3.joint_discrete.JointDiscreteActions` when it
is small enough (one application: 625 joint actions); otherwise training raises an
:class:`~shadowsim.errors.ActionError` that says to use ppo / a2c / recurrent_ppo. The saved
agent maps its Discrete actions back to the env's MultiDiscrete vector.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gymnasium as gym
from stable_baselines3 import DQN

from shadowsim_policies.sb3.algorithm import ALGORITHMS, Activation, Algorithm
from shadowsim_policies.sb3.hyperparameters import ModelKwargs, check_fields
from shadowsim_policies.sb3.joint_discrete import JointDiscreteActions


@dataclass(frozen=True)
class DqnConfig(ModelKwargs):
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
        check_fields(self)

    def policy_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the SB3 policy constructor: one Q network of ``net_arch``."""
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
