"""Building a policy by catalog name, without Hydra.

``make_policy("hpa", tolerance=0.2)`` is what ``hydra.utils.instantiate`` does with
``conf/policy/hpa.yaml`` (``_target_: shadowsim_policies.hpa.HpaPolicy`` plus the fields of
``HpaConfig``). Unknown names raise :class:`~shadowsim.errors.UnknownNameError` with a "did
you mean"; unknown fields a :class:`~shadowsim.errors.ConfigError`.
"""

from __future__ import annotations

from typing import Any

from shadowsim_policies.base import POLICIES, Policy


def make_policy(name: str, **params: Any) -> Policy:
    """A new, unbound policy of catalog name ``name`` with config fields ``params``."""
    return POLICIES.get(name)(**params)
