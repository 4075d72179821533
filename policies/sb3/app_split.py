"""The cluster env's observation and action split per application, and put back together.

Per-application training (``TrainConfig.per_app``) learns ONE policy that decides for one
application at a time, from that application's part of the observation plus the cluster-wide
part. :class:`AppSplit` maps between the env's spaces (A applications) and the spaces of one
application:

* observation: every per-application key (``usage``, ``forecast``, ``allocation``,
  ``pending``, ``kpi``, ``forecast_error``, ``priority``, ``ref_log``) keeps its layout with
  a leading axis of 1 (the layout of a one-application cluster); ``pool``, ``hosts`` and
  ``time`` are repeated for every application;
* action: the application's 4 scale entries, then its shift entry when the policy controls
  shifting. The cluster-wide pool entry cannot be split: per-application training needs
  ``pool_control: AUTO``.

:class:`AppSplitPredictor` runs a per-application SB3 model on whole-cluster observations
(SB3's ``predict`` protocol), as evaluation during training needs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from shadowsim_policies.base import PolicyError
from shadowsim_policies.sb3.app_set_features import APP_KEYS, GLOBAL_KEYS
from shadowsim_policies.sb3.app_set_policy import action_layout


class AppSplit:
    """Spaces of one application and the mapping to and from the whole cluster's.

    Args:
        observation_space: The env's Dict observation space.
        action_space: The env's flat MultiDiscrete or Box action space.

    Raises:
        PolicyError: Spaces that are not the cluster env's, or a policy-controlled pool.
    """

    def __init__(self, observation_space: spaces.Space[Any], action_space: spaces.Space[Any]):
        if not isinstance(observation_space, spaces.Dict):
            raise PolicyError(
                f"per-application training needs the env's Dict observation; got "
                f"{observation_space}"
            )
        missing = [k for k in APP_KEYS + GLOBAL_KEYS if k not in observation_space.spaces]
        if missing or len(observation_space.spaces) != len(APP_KEYS + GLOBAL_KEYS):
            raise PolicyError(
                f"per-application training needs exactly the observation keys "
                f"{list(APP_KEYS + GLOBAL_KEYS)}; got {list(observation_space.spaces)}"
            )
        self.observation_space = observation_space
        self.action_space = action_space
        self._usage_shape = tuple(observation_space["usage"].shape or ())
        self.n_apps = int(self._usage_shape[0])
        self.layout = action_layout(action_space, self.n_apps)
        if self.layout.pool:
            raise PolicyError(
                "per-application training cannot split the cluster-wide pool entry of the action: "
                "set env.engine.action.pool_control=AUTO or train with train.per_app=false"
            )
        self.app_observation_space = spaces.Dict(
            {k: _app_box(observation_space[k], k in APP_KEYS) for k in observation_space.spaces}
        )
        self.app_action_space = self._app_actions()

    def _app_actions(self) -> spaces.Space[Any]:
        lay, space = self.layout, self.action_space
        index = [0, 1, 2, 3] + ([4 * lay.n_apps] if lay.shift else [])
        if isinstance(space, spaces.MultiDiscrete):
            return spaces.MultiDiscrete(space.nvec[index], dtype=space.dtype)
        if isinstance(space, spaces.Box):  # one application's bounds: the loosest over all
            low, high = np.asarray(space.low), np.asarray(space.high)
            n = 4 * lay.n_apps
            lows = [low[:n].reshape(-1, 4).min(axis=0)]
            highs = [high[:n].reshape(-1, 4).max(axis=0)]
            if lay.shift:
                lows.append(low[n:].min(keepdims=True))
                highs.append(high[n:].max(keepdims=True))
            return spaces.Box(np.concatenate(lows), np.concatenate(highs), dtype=space.dtype)
        raise PolicyError(f"unsupported action space {space}")

    def is_batched(self, observation: Mapping[str, Any]) -> bool:
        """True for a batch of observations (an extra leading axis)."""
        return bool(np.ndim(observation["usage"]) == len(self._usage_shape) + 1)

    def split(self, observation: Mapping[str, Any]) -> dict[str, NDArray[Any]]:
        """Whole-cluster observation(s) to per-application ones.

        Args:
            observation: One observation (per-application keys ``(A, ...)``) or a batch of B
                (``(B, A, ...)``).

        Returns:
            ``B * A`` (or A) one-application observations, in the order (b, application).
        """
        usage = np.asarray(observation["usage"])
        batched = self.is_batched(observation)
        b = usage.shape[0] if batched else 1
        a = self.n_apps
        out: dict[str, NDArray[Any]] = {}
        for key in self.app_observation_space.spaces:
            value = np.asarray(observation[key])
            if not batched:
                value = value[None]
            if key in APP_KEYS:
                out[key] = value.reshape(b * a, 1, *value.shape[2:])
            else:
                out[key] = np.repeat(value, a, axis=0)
        return out

    def merge(self, actions: NDArray[Any], batched: bool = True) -> NDArray[Any]:
        """Per-application actions ``(B * A, k)`` to whole-cluster ones ``(B, n)`` (or ``(n,)``
        when ``batched`` is False, for B = 1)."""
        lay = self.layout
        acts = np.asarray(actions).reshape(-1, lay.n_apps, 4 + int(bool(lay.shift)))
        parts = [acts[:, :, :4].reshape(acts.shape[0], -1)]
        if lay.shift:
            parts.append(acts[:, :, 4])
        merged = np.concatenate(parts, axis=1)
        return merged if batched else merged[0]


class AppSplitPredictor:
    """A per-application model behind SB3's ``predict`` for whole-cluster observations.

    Args:
        model: Anything with SB3's ``predict`` (a model or a policy) trained on
            ``split.app_observation_space``.
        split: The split of the cluster env it acts on.
    """

    def __init__(self, model: Any, split: AppSplit) -> None:
        self.model = model
        self.split = split

    def predict(
        self,
        observation: Mapping[str, Any],
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = False,
    ) -> tuple[NDArray[Any], None]:
        """Whole-cluster action(s) for whole-cluster observation(s)."""
        batched = self.split.is_batched(observation)
        actions, _ = self.model.predict(self.split.split(observation), deterministic=deterministic)
        return self.split.merge(actions, batched=batched), None


def _app_box(space: spaces.Space[Any], per_app: bool) -> spaces.Box:
    """One application's Box (the loosest bounds over applications) or the space itself."""
    if not isinstance(space, spaces.Box):
        raise PolicyError(f"expected Box observation entries; got {space}")
    if not per_app:
        return space
    low = np.asarray(space.low).min(axis=0, keepdims=True)
    high = np.asarray(space.high).max(axis=0, keepdims=True)
    return spaces.Box(low=low, high=high, dtype=space.dtype)
