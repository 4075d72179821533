"""Fitting a small MultiDiscrete action space into the Discrete space DQN needs.

DQN learns one Q-value per action, so it needs ``Discrete(n)``. The env's DISCRETE mode is
``MultiDiscrete(nvec)`` with ``A * 4`` entries (5 scale steps each by default): its joint
space has ``prod(nvec)`` actions, 5**4 = 625 for one application but 390,625 for two. This
wrapper enumerates the joint actions when there are at most ``max_actions`` of them (action
``k`` is ``numpy.unravel_index(k, nvec)``); larger spaces raise a clear error: use PPO, A2C
or RecurrentPPO there (they handle MultiDiscrete natively).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from shadowsim.errors import ActionError

MAX_JOINT_ACTIONS = 4096
"""Largest joint action count enumerated by default."""


def joint_size(space: spaces.Space[Any], max_actions: int = MAX_JOINT_ACTIONS) -> int:
    """Number of joint actions of a MultiDiscrete ``space``.

    Raises:
        ActionError: The space is not MultiDiscrete, or has more than ``max_actions``.
    """
    if not isinstance(space, spaces.MultiDiscrete):
        raise ActionError(
            f"DQN needs a discrete action space; the env's is {space}. Use the env's DISCRETE "
            "action mode, or train ppo / a2c / recurrent_ppo (they handle Box actions)"
        )
    n = int(np.prod(space.nvec.astype(np.float64)))
    if n > max_actions:
        raise ActionError(
            f"DQN needs Discrete actions; the env's {space} has {n:,} joint actions, more than "
            f"{max_actions:,}. Use ppo, a2c or recurrent_ppo for this env, or an env with one "
            "application (625 joint actions with the default 5 scale steps)"
        )
    return n


def joint_to_multi(
    action: NDArray[Any] | np.integer[Any] | int, nvec: NDArray[np.int64]
) -> NDArray[np.int64]:
    """Joint action index (or a batch of them) to MultiDiscrete vector(s)."""
    idx = np.asarray(action, dtype=np.int64)
    parts = np.unravel_index(idx, tuple(int(n) for n in nvec))
    return np.stack(parts, axis=-1).astype(np.int64)


class JointDiscreteActions(gym.ActionWrapper[Any, np.int64, NDArray[np.int64]]):
    """Presents an env's small MultiDiscrete action space as one Discrete space.

    Args:
        env: The env to wrap.
        max_actions: Largest joint action count accepted.

    Raises:
        ActionError: The env's action space does not fit (see :func:`joint_size`).
    """

    def __init__(self, env: gym.Env[Any, Any], max_actions: int = MAX_JOINT_ACTIONS) -> None:
        super().__init__(env)
        n = joint_size(env.action_space, max_actions)
        self.nvec = np.asarray(env.action_space.nvec, dtype=np.int64)  # type: ignore[attr-defined]
        self.action_space = spaces.Discrete(n)

    def action(self, action: np.int64) -> NDArray[np.int64]:
        return joint_to_multi(action, self.nvec)
