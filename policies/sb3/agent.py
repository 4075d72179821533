"""A trained stable-baselines3 policy behind the same ``predict()`` as every baseline.

:class:`SB3Agent` wraps an SB3 torch policy (rebuilt from safetensors by
:func:`~shadowsim_policies.sb3.persistence.load_agent`, never unpickled). Its ``predict``
is SB3's (single or batched observations, ``deterministic``), plus:

* recurrent agents (RecurrentPPO) get their LSTM state back as ``state``; when the caller
  passes ``state=None`` the agent continues from the state it returned last (kept in the
  instance) and ``episode_start`` resets it, as for the baselines;
* agents trained through an action adapter (DQN's joint Discrete actions) map their action
  back to the env's MultiDiscrete vector;
* agents trained per application (``TrainConfig.per_app``) decide for every application from
  its part of the observation (:class:`~shadowsim_policies.sb3.app_split.AppSplit`) and their
  actions are put back together into the env's action.

:meth:`SB3Agent.bind` refuses an env whose observation or action space differs from the one
the agent was trained on, naming the difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray
from stable_baselines3.common.policies import BasePolicy

from shadowsim.engine.action_codec import ActionMode
from shadowsim_policies.base import Policy, PolicyContext, PolicyError, context_from_env
from shadowsim_policies.observation_view import Observation
from shadowsim_policies.sb3.app_split import AppSplit, AppSplitPredictor
from shadowsim_policies.sb3.joint_discrete import joint_to_multi
from shadowsim_policies.sb3.space_json import space_to_json, spaces_match


class SB3Agent(Policy):
    """A trained SB3 policy as a shadowsim :class:`Policy`.

    Args:
        policy: The SB3 torch policy (in evaluation mode).
        algorithm: Catalog name of the algorithm it was trained with.
        env_action_space: The env's action space (differs from the policy's for DQN).
        observation_version: OBSERVATION_VERSION it was trained on.
        recurrent: True for LSTM policies.
        metadata: The saved metadata, for reports.
        split: For a per-application agent, the split of the env it was trained on (its
            policy then sees one application at a time).

    Raises:
        PolicyError: A recurrent per-application agent (not supported).
    """

    def __init__(
        self,
        policy: BasePolicy,
        algorithm: str,
        env_action_space: spaces.Space[Any],
        observation_version: str,
        *,
        recurrent: bool = False,
        metadata: dict[str, Any] | None = None,
        split: AppSplit | None = None,
    ) -> None:
        super().__init__()
        if split is not None and recurrent:
            raise PolicyError("per-application agents cannot be recurrent")
        self.split = split
        self.env_observation_space = (
            split.observation_space if split is not None else policy.observation_space
        )
        self.policy = policy
        self.algorithm = algorithm
        self.name = f"sb3_{algorithm}"
        self.env_action_space = env_action_space
        self.observation_version = observation_version
        self.recurrent = recurrent
        self.metadata = dict(metadata or {})
        training = self.metadata.get("training")
        saved = training.get("env_engine") if isinstance(training, dict) else None
        self.engine_settings = saved if isinstance(saved, dict) else None  # older agents: None
        self.action_mode = (
            ActionMode.CONTINUOUS
            if isinstance(env_action_space, spaces.Box)
            else ActionMode.DISCRETE
        )
        joint = isinstance(policy.action_space, spaces.Discrete) and isinstance(
            env_action_space, spaces.MultiDiscrete
        )
        self._joint_nvec = (
            np.asarray(env_action_space.nvec, dtype=np.int64)
            if joint and isinstance(env_action_space, spaces.MultiDiscrete)
            else None
        )

    def bind(self, env_or_context: Any) -> SB3Agent:
        """Check the env's spaces against the trained ones, then bind.

        Raises:
            PolicyError: The observation or action space differs (e.g. another number of
                applications, other forecast leads, another action mode).
        """
        if isinstance(env_or_context, PolicyContext):
            context = env_or_context
        else:
            context = context_from_env(env_or_context)
        for what, trained, offered in (
            ("observation", self.env_observation_space, context.observation_space),
            ("action", self.env_action_space, context.action_space),
        ):
            if not spaces_match(trained, offered):
                raise PolicyError(
                    f"agent {self.name!r} was trained on the {what} space "
                    f"{_describe(trained)}; the env offers {_describe(offered)}. Evaluate it on "
                    "an env with the same applications, observation and action settings"
                )
        super().bind(context)
        return self

    def _predict(
        self,
        observation: Observation,
        state: Any,
        episode_start: NDArray[np.bool_] | Sequence[bool] | bool | None,
        deterministic: bool,
    ) -> tuple[NDArray[Any], Any]:
        if self.split is not None:
            predictor = AppSplitPredictor(self.policy, self.split)
            return predictor.predict(observation, deterministic=deterministic)
        obs = {k: np.asarray(v) for k, v in observation.items()}
        usage_space = self.policy.observation_space["usage"]  # type: ignore[index]
        n_envs = obs["usage"].shape[0] if obs["usage"].ndim > len(usage_space.shape) else 1
        starts = None
        if episode_start is not None:
            starts = np.atleast_1d(np.asarray(episode_start, dtype=bool))
            if starts.shape == (1,) and n_envs > 1:
                starts = np.repeat(starts, n_envs)
        if self.recurrent and state is None and self._last_state is not None:
            kept = self._last_state[0]
            if kept[0].shape[1] == n_envs:
                state = kept
        action, new_state = self.policy.predict(
            obs, state=state, episode_start=starts, deterministic=deterministic
        )
        if self._joint_nvec is not None:
            action = joint_to_multi(action, self._joint_nvec)
        self._last_state = [new_state] if new_state is not None else None
        return action, new_state


def _describe(space: spaces.Space[Any]) -> str:
    """A short description of a space: shapes per key for a Dict."""
    data = space_to_json(space)
    if data["type"] == "Dict":
        parts = [
            f"{k}{tuple(v.get('shape', v.get('nvec', [])))}" for k, v in data["spaces"].items()
        ]
        return "Dict(" + ", ".join(parts) + ")"
    return str(space)
