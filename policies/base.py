"""The policy interface every allocation policy implements, and the ``POLICIES`` catalog.

A :class:`Policy` follows stable-baselines3's predictor protocol::

    action, state = policy.predict(observation, state=None, episode_start=None,
                                   deterministic=True)

so a trained SB3 agent and a hand-written baseline are interchangeable in every rollout and
in ``experiments.evaluate``. Observations are the dicts of
:mod:`shadowsim.engine.observation` (``OBSERVATION_VERSION`` "1"), single or batched with a
leading ``n_envs`` axis; actions are what the env's :class:`~shadowsim.engine.action_codec.
ActionCodec` decodes.

Before its first ``predict`` a policy is bound to an environment (``policy.bind(env)``) or to
a :class:`PolicyContext`, from which it learns the spaces, the codec, the control interval,
the forecast leads and quantiles, and the scaling actuation latency.

State: stateful policies (histograms, windows, stabilisation) keep one state object per env.
``predict`` returns it as ``state`` (a list with one entry per env for a batch). When the
caller passes ``state=None``, the policy continues from the state it returned last (kept in
the instance), so callers that do not thread the state still get a stateful policy; an
``episode_start`` of True for env ``i`` (or :meth:`Policy.reset`) starts env ``i`` afresh.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np
from gymnasium import spaces
from numpy.typing import NDArray

from shadowsim.catalog import Catalog
from shadowsim.engine.action_codec import ActionMode
from shadowsim.engine.observation import OBSERVATION_VERSION
from shadowsim.errors import ShadowSimError
from shadowsim_policies.forecast_reading import leads_covering
from shadowsim_policies.observation_view import Observation


class PolicyError(ShadowSimError, ValueError):
    """A policy was used wrongly: not bound, bound to an incompatible env, or misconfigured."""


class TargetEncoder(Protocol):
    """The part of the env's ActionCodec that target-thinking baselines use."""

    def encode_targets(
        self, targets: NDArray[np.float64], pending: NDArray[np.float64]
    ) -> NDArray[Any]:
        """The env action that moves allocations to ``targets`` (ref units) from ``pending``."""
        ...


@dataclass(frozen=True)
class PolicyContext:
    """What a policy learns about the environment it acts in.

    Attributes:
        observation_space: The env's Dict observation space.
        action_space: The env's action space.
        action_mode: The mode the env's action codec decodes.
        codec: The env's action codec (``encode_targets``).
        interval_s: Control interval, s.
        forecast_leads: Lead ticks of the observation's ``forecast`` axis 1.
        quantiles: Quantile levels of the observation's ``forecast`` axis 3.
        scale_latency_s: Actuation latency of vertical scaling, s.
        lands_on_tick_boundary: True when a scaling change lands at the first tick boundary
            after the latency (the simulator), False when it lands mid-tick (live).
        max_change_factor: The guardrails' largest change of an allocation per tick (inf =
            none); policies that plan ahead (the oracle) ramp up early to respect it.
        observation_version: The env's OBSERVATION_VERSION.
    """

    observation_space: spaces.Dict
    action_space: spaces.Space[Any]
    action_mode: ActionMode
    codec: TargetEncoder
    interval_s: float
    forecast_leads: tuple[int, ...]
    quantiles: tuple[float, ...]
    scale_latency_s: float = 0.0
    lands_on_tick_boundary: bool = True
    max_change_factor: float = math.inf
    observation_version: str = OBSERVATION_VERSION

    @property
    def latency_ticks(self) -> float:
        """Scaling actuation latency in ticks (fractional)."""
        return self.scale_latency_s / self.interval_s

    @property
    def n_apps(self) -> int:
        """Number of applications in the observation."""
        shape = self.observation_space["usage"].shape
        if shape is None:
            raise PolicyError("observation_space['usage'] has no shape")
        return int(shape[0])

    def covered_leads(self) -> tuple[int, int]:
        """``(first, last)`` forecast leads a decision taken now is in force for."""
        return leads_covering(self.latency_ticks, on_tick_boundary=self.lands_on_tick_boundary)

    def ticks(self, duration_s: float) -> int:
        """Whole ticks in ``duration_s`` (at least 1)."""
        return max(1, round(duration_s / self.interval_s))


def context_from_env(env: Any) -> PolicyContext:
    """The :class:`PolicyContext` of a ``shadowsim_envs`` ClusterEnv (wrapped or not).

    Raises:
        PolicyError: The env does not expose the ClusterEnv attributes policies need.
    """
    inner = getattr(env, "unwrapped", env)
    try:
        codec = inner.codec
        engine_config = inner.engine_config
        interval_s = float(inner.interval_s)
        latency_s = float(inner.scale_latency_s)
    except AttributeError as err:
        raise PolicyError(
            f"cannot bind a policy to {type(inner).__name__}: it lacks {err.name!r}; bind to a "
            "shadowsim_envs ClusterEnv or pass a PolicyContext"
        ) from err
    obs_cfg = engine_config.observation
    return PolicyContext(
        observation_space=inner.observation_space,
        action_space=inner.action_space,
        action_mode=codec.config.mode,
        codec=codec,
        interval_s=interval_s,
        forecast_leads=tuple(int(x) for x in obs_cfg.forecast_leads),
        quantiles=tuple(float(x) for x in obs_cfg.quantiles),
        scale_latency_s=latency_s,
        max_change_factor=float(engine_config.guardrails.max_change_factor),
        observation_version=OBSERVATION_VERSION,
    )


class Policy(ABC):
    """Base class of allocation policies (baselines and trained agents).

    Class attributes (a trained agent sets the first three per instance):
        name: The catalog name (e.g. ``"hpa"``).
        action_mode: The action mode the policy emits natively (baselines that think in
            targets prefer CONTINUOUS; they drive either mode through ``encode_targets``).
        observation_version: The observation layout the policy reads.
        needs_oracle: True for policies that must see perfect forecasts (the env must be
            built with OracleForecasts).
        engine_settings: The env's action and observation settings the policy was made for
            (a trained agent: those it was trained with, :mod:`~shadowsim_policies.
            engine_settings`), which evaluation adopts; None for the baselines (any).
    """

    name: str = ""
    action_mode: ActionMode = ActionMode.CONTINUOUS
    observation_version: str = "1"  # the layout the baselines were written for
    needs_oracle: ClassVar[bool] = False
    engine_settings: Mapping[str, Any] | None = None

    def __init__(self) -> None:
        self._context: PolicyContext | None = None
        self._last_state: list[Any] | None = None

    @property
    def context(self) -> PolicyContext:
        """The bound context; raises :class:`PolicyError` before :meth:`bind`."""
        if self._context is None:
            raise PolicyError(
                f"policy {self.name or type(self).__name__!r} is not bound: call "
                "policy.bind(env) before predict()"
            )
        return self._context

    def bind(self, env_or_context: Any) -> Policy:
        """Learn the spaces, codec and timing of an env (or a :class:`PolicyContext`).

        Returns:
            self, for chaining.

        Raises:
            PolicyError: The env's OBSERVATION_VERSION differs from the policy's.
        """
        if isinstance(env_or_context, PolicyContext):
            context = env_or_context
        else:
            context = context_from_env(env_or_context)
        if context.observation_version != self.observation_version:
            raise PolicyError(
                f"policy {self.name!r} reads observations of version "
                f"{self.observation_version!r}, the env builds version "
                f"{context.observation_version!r}; retrain or update the policy"
            )
        self._context = context
        self.reset()
        return self

    def reset(self) -> None:
        """Forget the internal state of every env (the next predict starts afresh)."""
        self._last_state = None

    def predict(
        self,
        observation: Observation,
        state: Any = None,
        episode_start: NDArray[np.bool_] | Sequence[bool] | bool | None = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[Any], Any]:
        """The action for ``observation`` (single or batched), and the next state.

        Args:
            observation: One observation dict, or a batch with a leading ``n_envs`` axis.
            state: What the previous call returned, or None to continue from the state kept
                in the instance.
            episode_start: Per env, True on the first step of an episode.
            deterministic: Ignored by deterministic baselines; agents sample when False.

        Returns:
            ``(action, state)``: the action (batched like the observation) and the state to
            pass to the next call.
        """
        return self._predict(observation, state, episode_start, deterministic)

    @abstractmethod
    def _predict(
        self,
        observation: Observation,
        state: Any,
        episode_start: NDArray[np.bool_] | Sequence[bool] | bool | None,
        deterministic: bool,
    ) -> tuple[NDArray[Any], Any]:
        """Subclass hook behind :meth:`predict`."""


def episode_starts(
    episode_start: NDArray[np.bool_] | Sequence[bool] | bool | None, n_envs: int
) -> NDArray[np.bool_]:
    """``episode_start`` as an ``(n_envs,)`` bool array (None means no env is starting).

    Raises:
        PolicyError: It has a length other than ``n_envs``.
    """
    if episode_start is None:
        return np.zeros(n_envs, dtype=bool)
    arr = np.atleast_1d(np.asarray(episode_start, dtype=bool))
    if arr.shape == (1,) and n_envs > 1:
        arr = np.repeat(arr, n_envs)
    if arr.shape != (n_envs,):
        raise PolicyError(f"episode_start must have {n_envs} entries, got shape {arr.shape}")
    return arr


POLICIES: Catalog[type[Policy]] = Catalog("policy")
"""Every policy class by its ``name``; importing :mod:`shadowsim_policies` fills it."""
