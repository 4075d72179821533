"""A2C (stable-baselines3) on the cluster env: hyper-parameters and catalog entry ``a2c``.

Works with both action modes and the Dict observation; policy classes as for PPO (default
``app_set``; ``grouped_multi_input``; SB3's ``multi_input``), the first two with the
vectorised multi-categorical distribution (:mod:`~shadowsim_policies.sb3.multi_categorical`)
in the DISCRETE mode.
"""

from __future__ import annotations

from dataclasses import dataclass

from stable_baselines3 import A2C

from shadowsim_policies.sb3.algorithm import ALGORITHMS, Activation, Algorithm
from shadowsim_policies.sb3.hyperparameters import ModelKwargs, check_fields


@dataclass(frozen=True)
class A2cConfig(ModelKwargs):
    """A2C hyper-parameters (SB3 names and meanings).

    Attributes:
        learning_rate: RMSprop step size.
        n_steps: Env steps per env and update.
        gamma: Discount factor.
        gae_lambda: GAE lambda (1.0 = classic advantage).
        ent_coef: Entropy bonus.
        vf_coef: Value loss weight.
        max_grad_norm: Gradient clipping.
        normalize_advantage: Normalise advantages per update.
        net_arch: Hidden layer sizes of the policy and value networks.
        activation: Activation function name (tanh, relu, elu).
    """

    learning_rate: float = 7e-4
    n_steps: int = 16
    gamma: float = 0.99
    gae_lambda: float = 1.0
    ent_coef: float = 0.0
    vf_coef: float = 0.5
    max_grad_norm: float = 0.5
    normalize_advantage: bool = False
    net_arch: tuple[int, ...] = (128, 128)
    activation: Activation = Activation.TANH

    def __post_init__(self) -> None:
        check_fields(self)


A2C_ALGORITHM = Algorithm(
    name="a2c",
    model_class=A2C,
    policies=("app_set", "grouped_multi_input", "multi_input"),
    legacy_policy="multi_input",
    config_class=A2cConfig,
)
ALGORITHMS.add("a2c", A2C_ALGORITHM)
