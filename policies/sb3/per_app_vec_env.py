"""Cluster envs seen by SB3 as one env per application (per-application training).

:class:`PerAppVecEnv` wraps M cluster envs of A applications each into an SB3 ``VecEnv`` of
``M * A`` environments: sub-env ``m * A + i`` is application ``i`` of cluster env ``m``. Its
observation and action are that application's (:class:`~shadowsim_policies.sb3.app_split.AppSplit`),
its reward the application's share of the env's reward
(:class:`~shadowsim_policies.sb3.app_rewards.AppRewards`). One ``step`` gathers the A
actions of each cluster env, steps it once, and hands every application its own transition,
so PPO's advantages (GAE) are estimated per application and each env step yields A samples
of the one shared decision rule. The A sub-envs of a cluster env end their episodes together
(truncation, with ``terminal_observation`` for bootstrapping) and reset with it.

SB3 counts timesteps per sub-env: with this vector one env step is A timesteps.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray
from stable_baselines3.common import env_util
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from shadowsim_policies.base import PolicyError
from shadowsim_policies.sb3.app_rewards import AppRewards
from shadowsim_policies.sb3.app_split import AppSplit
from shadowsim_policies.sb3.space_json import spaces_match


class PerAppVecEnv(VecEnv):
    """M cluster envs as ``M * A`` single-application envs.

    Args:
        envs: The cluster envs (same observation and action spaces; wrappers allowed).

    Raises:
        PolicyError: No env, envs with different spaces, or spaces that cannot be split
            (a policy-controlled pool).
    """

    def __init__(self, envs: Sequence[gym.Env[Any, Any]]) -> None:
        if not envs:
            raise PolicyError("PerAppVecEnv needs at least one cluster env")
        self.envs = list(envs)
        self.split = AppSplit(envs[0].observation_space, envs[0].action_space)
        for env in self.envs[1:]:
            if not (
                spaces_match(env.observation_space, self.split.observation_space)
                and spaces_match(env.action_space, self.split.action_space)
            ):
                raise PolicyError("the cluster envs of a PerAppVecEnv must have the same spaces")
        self.n_apps = self.split.n_apps
        self.rewards = [AppRewards(env.unwrapped) for env in self.envs]
        self._cluster_seeds: list[int | None] = [None] * len(self.envs)
        self._actions: NDArray[Any] | None = None
        self._obs: list[dict[str, NDArray[Any]]] = []
        super().__init__(
            len(self.envs) * self.n_apps,
            self.split.app_observation_space,
            self.split.app_action_space,
        )

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed cluster env ``m`` with ``seed + m`` at the next reset (None: unseeded)."""
        self._cluster_seeds = [None if seed is None else seed + m for m in range(len(self.envs))]
        return [s for s in self._cluster_seeds for _ in range(self.n_apps)]

    def reset(self) -> dict[str, NDArray[Any]]:
        """Reset every cluster env; the per-application observations ``(M * A, ...)``."""
        self._obs = []
        for env, seed in zip(self.envs, self._cluster_seeds, strict=True):
            obs, _ = env.reset(seed=seed)
            self._obs.append(self.split.split(obs))
        self._cluster_seeds = [None] * len(self.envs)
        return self._stack(self._obs)

    def step_async(self, actions: NDArray[Any]) -> None:
        """Keep the ``(M * A, k)`` per-application actions for :meth:`step_wait`."""
        self._actions = np.asarray(actions)

    def step_wait(self) -> VecEnvStepReturn:
        """Step every cluster env once with its applications' actions."""
        if self._actions is None:
            raise PolicyError("PerAppVecEnv.step_wait called before step_async")
        a = self.n_apps
        rewards = np.zeros(self.num_envs, dtype=np.float32)
        dones = np.zeros(self.num_envs, dtype=bool)
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        for m, env in enumerate(self.envs):
            rows = slice(m * a, (m + 1) * a)
            action = self.split.merge(self._actions[rows], batched=False)
            obs, reward, terminated, truncated, info = env.step(action)
            rewards[rows] = self.rewards[m](info)
            infos[m * a]["cluster_reward"] = float(reward)
            if terminated or truncated:
                dones[rows] = True
                final = self.split.split(obs)
                for i in range(a):
                    infos[m * a + i]["terminal_observation"] = {
                        k: v[i] for k, v in final.items()
                    }
                    infos[m * a + i]["TimeLimit.truncated"] = bool(truncated and not terminated)
                obs, _ = env.reset()
            self._obs[m] = self.split.split(obs)
        self._actions = None
        return self._stack(self._obs), rewards, dones, infos

    def close(self) -> None:
        """Close every cluster env."""
        for env in self.envs:
            env.close()

    def _cluster_envs(self, indices: VecEnvIndices) -> list[gym.Env[Any, Any]]:
        """The cluster env behind each sub-env index."""
        return [self.envs[i // self.n_apps] for i in self._get_indices(indices)]

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """An attribute of the cluster env behind each sub-env."""
        return [env.get_wrapper_attr(attr_name) for env in self._cluster_envs(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set an attribute of the cluster envs behind the sub-envs."""
        for env in self._unique(self._cluster_envs(indices)):
            env.set_wrapper_attr(attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        """Call a method of the cluster env behind each sub-env."""
        return [
            env.get_wrapper_attr(method_name)(*method_args, **method_kwargs)
            for env in self._cluster_envs(indices)
        ]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper[Any, Any, Any, Any]], indices: VecEnvIndices = None
    ) -> list[bool]:
        """Whether the cluster env behind each sub-env is wrapped with ``wrapper_class``."""
        return [env_util.is_wrapped(env, wrapper_class) for env in self._cluster_envs(indices)]

    @staticmethod
    def _unique(envs: Iterable[gym.Env[Any, Any]]) -> list[gym.Env[Any, Any]]:
        seen: dict[int, gym.Env[Any, Any]] = {}
        for env in envs:
            seen.setdefault(id(env), env)
        return list(seen.values())

    @staticmethod
    def _stack(parts: list[dict[str, NDArray[Any]]]) -> dict[str, NDArray[Any]]:
        return {k: np.concatenate([p[k] for p in parts], axis=0) for k in parts[0]}
