"""Gymnasium environments of shadowsim (import name ``shadowsim_envs``).

Importing this package registers ``shadowsim/Cluster-v0``::

    import gymnasium as gym
    import shadowsim_envs  # or gym.register_envs(shadowsim_envs)

    env = gym.make("shadowsim/Cluster-v0", workload=my_workload)

``gym.make("shadowsim_envs:shadowsim/Cluster-v0")`` imports the package itself.
"""

from gymnasium.envs.registration import register, registry

from shadowsim_envs.env_config import EnvConfig

ENV_ID = "shadowsim/Cluster-v0"

if ENV_ID not in registry:
    register(id=ENV_ID, entry_point="shadowsim_envs.cluster_env:ClusterEnv")

__all__ = ["ENV_ID", "EnvConfig"]
