"""PPO (stable-baselines3) on the cluster env: hyper-parameters and catalog entry ``ppo``.

Works with both action modes (MultiDiscrete or Box) and the Dict observation. Policy
classes (``train.policy``): ``app_set`` (default: one network shared by every application,
:mod:`~shadowsim_policies.sb3.app_set_policy`), ``grouped_multi_input`` (every key flattened
and concatenated, then an MLP) and SB3's own ``multi_input`` (the same MLP, but one
Categorical per action dimension: very slow on the DISCRETE mode's A x 4 dimensions). The
first two sample MultiDiscrete actions with the vectorised distribution of
:mod:`~shadowsim_policies.sb3.multi_categorical`.
"""

from __future__ import annotations

from dataclasses import dataclass

from stable_baselines3 import PPO

from shadowsim_policies.sb3.algorithm import ALGORITHMS, Activation, Algorithm
from shadowsim_policies.sb3.hyperparameters import ModelKwargs, at_least, check_fields


@dataclass(frozen=True)
class PpoConfig(ModelKwargs):
    """PPO hyper-parameters (SB3 names and meanings).

    Attributes:
        learning_rate: Adam step size.
        n_steps: Env steps per env and update.
        batch_size: Minibatch size.
        n_epochs: Passes over each rollout.
        gamma: Discount factor.
        gae_lambda: GAE lambda.
        clip_range: PPO clipping.
        ent_coef: Entropy bonus.
        vf_coef: Value loss weight.
        max_grad_norm: Gradient clipping.
        net_arch: Hidden layer sizes of the policy and value networks.
        activation: Activation function name (tanh, relu, elu).
    """

    learning_rate: float = 3e-4
    n_steps: int = 256
    batch_size: int = 64
    n_epochs: int = 10
    gamma: float = 0.99
    gae_lambda: float = 0.95
    clip_range: float = 0.2
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    net_arch: tuple[int, ...] = (128, 128)
    activation: Activation = Activation.TANH

    def __post_init__(self) -> None:
        check_fields(self, n_steps=at_least(2), batch_size=at_least(2))


PPO_ALGORITHM = Algorithm(
    name="ppo",
    model_class=PPO,
    policies=("app_set", "grouped_multi_input", "multi_input"),
    legacy_policy="multi_input",
    # per application: 32 env steps x A applications per rollout, minibatches of 400
    per_app_defaults={"n_steps": 32, "batch_size": 400, "n_epochs": 5, "net_arch": (64, 64)},
    config_class=PpoConfig,
)
ALGORITHMS.add("ppo", PPO_ALGORITHM)
