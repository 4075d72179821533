"""shadowsim_policies: allocation policies behind one ``predict()`` interface.

Baselines (each with a config dataclass beside it and values in ``conf/policy/NAME.yaml``):
``static_peak``, ``hpa``, ``vpa``, ``autopilot_peak``, ``autopilot_percentile``,
``predictive_scaling``, ``seed_threshold``, ``seed_literal``, ``oracle`` and ``shadow``
(shadowsim's own). Stable-baselines3 agents live in :mod:`shadowsim_policies.sb3`.

Importing this package registers every baseline in :data:`POLICIES`::

    from shadowsim_policies import make_policy
    policy = make_policy("hpa", tolerance=0.1).bind(env)
    action, state = policy.predict(observation, episode_start=True)
"""

from shadowsim_policies import (
    autopilot_peak,
    autopilot_percentile,
    hpa,
    oracle,
    predictive_scaling,
    seed_literal,
    seed_threshold,
    shadow,
    static_peak,
    vpa,
)
from shadowsim_policies.base import POLICIES, Policy, PolicyContext, PolicyError
from shadowsim_policies.factory import make_policy

__all__ = [
    "POLICIES",
    "Policy",
    "PolicyContext",
    "PolicyError",
    "autopilot_peak",
    "autopilot_percentile",
    "hpa",
    "make_policy",
    "oracle",
    "predictive_scaling",
    "seed_literal",
    "seed_threshold",
    "shadow",
    "static_peak",
    "vpa",
]
