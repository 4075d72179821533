"""The env's reward split per application, for per-application training.

The env's reward (:mod:`shadowsim.engine.reward`) is ``-(cost + sla + migration + pool)``
for the whole cluster. A policy deciding for one application at a time learns much faster
from what ITS decisions changed, so :class:`AppRewards` gives application ``i``

``r_i = -(A * cost * share_i + A * sla * viol_i + migration + pool)``

where ``share_i`` is the application's share of the allocation cost rate (its components'
allocation times the resource prices, :meth:`PriceConfig.per_unit_s
<shadowsim.sim.cost.PriceConfig.per_unit_s>`), ``viol_i`` its share of the
priority-weighted SLA violations (0 when nothing was violated), and the migration and pool
terms are shared equally. The terms are the env's own (``info["reward_terms"]``, weights
and ``per_app`` scaling included), so the mean of the ``r_i`` is exactly the env's reward.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ShadowSimError


class AppRewards:
    """Splits the reward of one cluster env per application.

    Args:
        env: The (unwrapped) :class:`~shadowsim_envs.cluster_env.ClusterEnv`.
    """

    def __init__(self, env: Any) -> None:
        self.env = env
        self.prices: NDArray[np.float64] = np.asarray(
            env.cluster.prices.per_unit_s(), dtype=np.float64
        )
        self.priority_weights = np.asarray(
            env.engine_config.reward.priority_weights, dtype=np.float64
        )

    def __call__(self, info: dict[str, Any]) -> NDArray[np.float64]:
        """``(A,)`` rewards after a step whose ``info`` the env returned.

        Raises:
            ShadowSimError: ``info`` lacks the reward terms.
        """
        try:
            terms = info["reward_terms"]
            cost, sla = float(terms["cost"]), float(terms["sla"])
            shared = float(terms["migration"]) + float(terms["pool"])
        except KeyError as err:
            raise ShadowSimError(
                f"the env's info lacks reward term {err}; per-application rewards need "
                "info['reward_terms'] with cost, sla, migration and pool"
            ) from err
        state = self.env.last_state
        spec = self.env.engine.spec
        n_apps = len(spec.app_ids)
        app_cost = np.bincount(
            spec.component_app, weights=state.allocation @ self.prices, minlength=n_apps
        )
        total = float(app_cost.sum())
        share = app_cost / total if total > 0 else np.full(n_apps, 1.0 / n_apps)
        weights = self.priority_weights[np.asarray(spec.priority, dtype=np.intp)]
        violated = weights * np.asarray(state.kpis.sla_violated, dtype=np.float64)
        weight_sum = float(violated.sum())
        viol = violated / weight_sum if weight_sum > 0 else np.zeros(n_apps)
        return -(n_apps * cost * share + n_apps * sla * viol + shared)
