"""Actor-critic policies that use the vectorised multi-categorical distribution.

:class:`GroupedMultiInputActorCriticPolicy` (PPO, A2C) and
:class:`GroupedRecurrentMultiInputActorCriticPolicy` (RecurrentPPO) are SB3's Dict-observation
policies with one change: on a flat ``MultiDiscrete`` action space their action distribution
is :class:`~shadowsim_policies.sb3.multi_categorical.GroupedMultiCategoricalDistribution`
instead of SB3's per-dimension one. Networks, parameters and ``state_dict`` keys are exactly
SB3's; on any other action space (``Box``: the CONTINUOUS mode) they are SB3's policies
unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

from gymnasium import spaces
from sb3_contrib.common.recurrent.policies import RecurrentMultiInputActorCriticPolicy
from stable_baselines3.common.policies import ActorCriticPolicy, MultiInputActorCriticPolicy
from stable_baselines3.common.type_aliases import Schedule

from shadowsim_policies.sb3.multi_categorical import GroupedMultiCategoricalDistribution


def _grouped_build(
    policy: ActorCriticPolicy, build: Callable[[Schedule], None], lr_schedule: Schedule
) -> None:
    """Swap in the grouped distribution on a flat MultiDiscrete space, then ``build``."""
    space = policy.action_space
    if isinstance(space, spaces.MultiDiscrete) and space.nvec.ndim == 1:
        policy.action_dist = GroupedMultiCategoricalDistribution(space.nvec.tolist())
    build(lr_schedule)


class GroupedMultiInputActorCriticPolicy(MultiInputActorCriticPolicy):
    """SB3's ``MultiInputPolicy`` (actor-critic) with the grouped multi-categorical
    distribution on MultiDiscrete action spaces. Same arguments as SB3's class."""

    def _build(self, lr_schedule: Schedule) -> None:
        _grouped_build(self, super()._build, lr_schedule)


class GroupedRecurrentMultiInputActorCriticPolicy(RecurrentMultiInputActorCriticPolicy):
    """sb3-contrib's ``MultiInputLstmPolicy`` with the grouped multi-categorical
    distribution on MultiDiscrete action spaces. Same arguments as sb3-contrib's class."""

    def _build(self, lr_schedule: Schedule) -> None:
        _grouped_build(self, super()._build, lr_schedule)
