"""The SB3 policy classes an agent may be trained with, by name (recorded in saved agents).

A saved agent names its policy class in its metadata (``policy_class``); loading rebuilds the
class from this catalog (never from a pickled or imported-by-string class). Names:

* ``grouped_multi_input``: PPO/A2C actor-critic with the vectorised multi-categorical
  distribution (:mod:`~shadowsim_policies.sb3.grouped_policy`);
* ``multi_input``: SB3's own ``MultiInputPolicy`` actor-critic (one Categorical per action
  dimension on MultiDiscrete spaces);
* ``grouped_recurrent_multi_input`` / ``recurrent_multi_input``: the same two for
  RecurrentPPO (LSTM);
* ``app_set``: PPO/A2C actor-critic with one network shared by every application
  (:mod:`~shadowsim_policies.sb3.app_set_policy`), the default for PPO and A2C;
* ``dqn_multi_input``: DQN's Q-network policy.

The grouped classes have exactly the parameters of SB3's, so either can load the other's
weights; the name still matters because it fixes how actions are sampled.
"""

from __future__ import annotations

from typing import Any

from sb3_contrib.common.recurrent.policies import RecurrentMultiInputActorCriticPolicy
from stable_baselines3.common.policies import BasePolicy, MultiInputActorCriticPolicy
from stable_baselines3.dqn.policies import MultiInputPolicy as DqnMultiInputPolicy

from shadowsim.catalog import Catalog
from shadowsim.errors import ArtifactError
from shadowsim_policies.sb3.app_set_policy import AppSetActorCriticPolicy
from shadowsim_policies.sb3.grouped_policy import (
    GroupedMultiInputActorCriticPolicy,
    GroupedRecurrentMultiInputActorCriticPolicy,
)

POLICY_CLASSES: Catalog[type[BasePolicy]] = Catalog("SB3 policy class")
"""Every policy class a saved agent may name."""

POLICY_CLASSES.add("grouped_multi_input", GroupedMultiInputActorCriticPolicy)
POLICY_CLASSES.add("multi_input", MultiInputActorCriticPolicy)
POLICY_CLASSES.add("grouped_recurrent_multi_input", GroupedRecurrentMultiInputActorCriticPolicy)
POLICY_CLASSES.add("recurrent_multi_input", RecurrentMultiInputActorCriticPolicy)
POLICY_CLASSES.add("app_set", AppSetActorCriticPolicy)
POLICY_CLASSES.add("dqn_multi_input", DqnMultiInputPolicy)


def policy_class_name(policy: Any) -> str:
    """The catalog name of ``policy``'s exact class.

    Raises:
        ArtifactError: The class is not in :data:`POLICY_CLASSES` (it could not be rebuilt
            when loading).
    """
    for name in POLICY_CLASSES:
        if type(policy) is POLICY_CLASSES.get(name):
            return name
    raise ArtifactError(
        f"cannot save a policy of class {type(policy).__qualname__}: saved agents are rebuilt "
        f"from the policy classes {POLICY_CLASSES.names()} "
        "(shadowsim_policies.sb3.policy_classes); train with one of them"
    )
