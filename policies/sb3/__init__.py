"""Stable-baselines3 agents: training, safe saving/loading, and the agent policy wrapper.

Algorithms (catalog :data:`ALGORITHMS`): ``ppo``, ``a2c``, ``dqn`` (single-application envs:
its Discrete actions enumerate the MultiDiscrete space) and ``recurrent_ppo`` (sb3-contrib).
Policy classes (catalog :data:`POLICY_CLASSES`): PPO/A2C default to ``app_set`` (one network
shared by every application); the DISCRETE mode's MultiDiscrete actions are sampled by a
vectorised multi-categorical distribution (:mod:`~shadowsim_policies.sb3.multi_categorical`)
instead of SB3's one-Categorical-per-dimension. PPO/A2C can train per application
(``TrainConfig.per_app``, :mod:`~shadowsim_policies.sb3.per_app_vec_env`). Saved agents are
JSON metadata + safetensors (:mod:`~shadowsim_policies.sb3.persistence`); :func:`load_agent`
returns an :class:`SB3Agent` with the baselines' ``predict()``.
"""

from shadowsim_policies.sb3 import a2c, dqn, ppo, recurrent_ppo
from shadowsim_policies.sb3.agent import SB3Agent
from shadowsim_policies.sb3.algorithm import ALGORITHMS, Algorithm
from shadowsim_policies.sb3.persistence import load_agent, read_metadata, save_agent
from shadowsim_policies.sb3.policy_classes import POLICY_CLASSES

__all__ = [
    "ALGORITHMS",
    "POLICY_CLASSES",
    "Algorithm",
    "SB3Agent",
    "a2c",
    "dqn",
    "load_agent",
    "ppo",
    "read_metadata",
    "recurrent_ppo",
    "save_agent",
]
