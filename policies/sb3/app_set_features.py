"""Per-application features of the observation, for the application-set policy.

The observation (:mod:`shadowsim.engine.observation`, version "1") holds, for each of A
applications, the same kind of quantities (usage window, forecasts, allocation, KPIs...) in
reference units, plus a few cluster-wide arrays. :class:`AppSetFeatures` turns it into one
row of ``F`` features per application and ``G`` global features, with fixed (stateless,
nothing to save) transforms, so the policy of
:mod:`~shadowsim_policies.sb3.app_set_policy` can apply one shared network to every
application. Per application (``F = 8 L Q + 4 W + 31`` features, 159 with the defaults W = 12,
L = 5, Q = 2):

* ``usage`` (W x 4) and ``forecast`` (L x 4 x Q), ``allocation`` and ``pending`` (4 each),
  in reference units, clipped to ``[0, VALUE_CAP]``;
* the log-ratios ``log(forecast / pending)`` (L x 4 x Q), ``log(last usage / pending)`` and
  ``log(allocation / pending)`` (4 each), clipped to ``[-LOG_RATIO_CAP, LOG_RATIO_CAP]``: the
  DISCRETE actions multiply ``pending``, so how far the coming demand is from it is what a
  decision needs, in the same units for every application;
* ``log1p`` of the two KPI ratios, the SLA flag and the unserved share (``kpi``);
  ``forecast_error`` (clipped to ``[0, VALUE_CAP]``), the ``priority`` one-hot and ``ref_log``.

Global features (``G``): ``pool`` (2 S), ``hosts`` (3 x 4) and ``time`` (4), as they are.
The features tensor handed to the network is ``(batch, A * F + G)``: the A rows flattened,
then the global part (:meth:`AppSetFeatures.split` undoes it).
"""

from __future__ import annotations

from typing import Any

import torch
from gymnasium import spaces
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

from shadowsim_policies.base import PolicyError

APP_KEYS: tuple[str, ...] = (
    "usage", "forecast", "allocation", "pending", "kpi", "forecast_error", "priority", "ref_log",
)
"""Observation keys with one entry per application (first axis A)."""

GLOBAL_KEYS: tuple[str, ...] = ("pool", "hosts", "time")
"""Cluster-wide observation keys."""

VALUE_CAP = 20.0
"""Upper clip of quantities in reference units (20 x the warm-up P99)."""

LOG_RATIO_CAP = 4.0
"""Clip of the log-ratio features (a factor of e**4, about 55)."""

_EPS = 1e-3


class AppSetFeatures(BaseFeaturesExtractor):
    """The observation as A rows of per-application features plus global features.

    Args:
        observation_space: The env's Dict observation space (version "1" keys).

    Raises:
        PolicyError: A key is missing, or the per-application keys disagree on A.
    """

    def __init__(self, observation_space: spaces.Dict) -> None:
        shapes = _shapes(observation_space)
        self.n_apps = shapes["usage"][0]
        self.window = shapes["usage"][1]
        self.n_leads, _, self.n_quantiles = shapes["forecast"][1:]
        per_lead = self.n_leads * 4 * self.n_quantiles
        # usage, forecast, allocation + pending, ratios, kpi, forecast_error, priority, ref_log
        self.app_dim = self.window * 4 + per_lead + 8 + (per_lead + 8) + 4 + 4 + 3 + 4
        self.global_dim = sum(int(torch.Size(shapes[k]).numel()) for k in GLOBAL_KEYS)
        super().__init__(observation_space, self.n_apps * self.app_dim + self.global_dim)

    def app_features(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Per-application features ``(batch, A, F)`` (see the module docstring)."""
        batch = obs["usage"].shape[0]
        a = self.n_apps

        def rows(key: str) -> torch.Tensor:
            return obs[key].reshape(batch, a, -1)

        usage, forecast = rows("usage"), rows("forecast")
        allocation, pending = rows("allocation"), rows("pending")
        pending_safe = pending.clamp(min=_EPS)
        leads = forecast.reshape(batch, a, self.n_leads, 4, self.n_quantiles)
        ratio_forecast = torch.log(
            leads.clamp(min=_EPS) / pending_safe[:, :, None, :, None]
        ).reshape(batch, a, -1)
        last_usage = usage.reshape(batch, a, self.window, 4)[:, :, -1, :]
        ratio_usage = torch.log(last_usage.clamp(min=_EPS) / pending_safe)
        ratio_allocation = torch.log(allocation.clamp(min=_EPS) / pending_safe)
        ratios = torch.cat([ratio_forecast, ratio_usage, ratio_allocation], dim=-1)
        kpi = rows("kpi")
        kpi = torch.cat([torch.log1p(kpi[..., :2].clamp(min=0.0)), kpi[..., 2:]], dim=-1)
        return torch.cat(
            [
                usage.clamp(0.0, VALUE_CAP),
                forecast.clamp(0.0, VALUE_CAP),
                allocation.clamp(0.0, VALUE_CAP),
                pending.clamp(0.0, VALUE_CAP),
                ratios.clamp(-LOG_RATIO_CAP, LOG_RATIO_CAP),
                kpi,
                rows("forecast_error").clamp(0.0, VALUE_CAP),
                rows("priority"),
                rows("ref_log"),
            ],
            dim=-1,
        )

    def global_features(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Cluster-wide features ``(batch, G)``."""
        batch = obs["usage"].shape[0]
        return torch.cat([obs[k].reshape(batch, -1) for k in GLOBAL_KEYS], dim=-1)

    def forward(self, observations: Any) -> torch.Tensor:
        """``(batch, A * F + G)``: the per-application rows flattened, then the global part."""
        apps = self.app_features(observations)
        return torch.cat(
            [apps.reshape(apps.shape[0], -1), self.global_features(observations)], dim=-1
        )


def _shapes(space: spaces.Space[Any]) -> dict[str, tuple[int, ...]]:
    """The shapes of the observation keys, checked."""
    if not isinstance(space, spaces.Dict):
        raise PolicyError(
            f"the application-set policy needs the env's Dict observation; got {space}"
        )
    missing = [k for k in APP_KEYS + GLOBAL_KEYS if k not in space.spaces]
    if missing:
        raise PolicyError(
            f"the application-set policy needs the observation keys {list(APP_KEYS + GLOBAL_KEYS)}"
            f" (observation version 1); missing {missing}"
        )
    shapes = {k: tuple(int(n) for n in space.spaces[k].shape or ()) for k in space.spaces}
    n_apps = {k: shapes[k][0] for k in APP_KEYS}
    if len(set(n_apps.values())) != 1:
        raise PolicyError(f"per-application observation keys disagree on A: {n_apps}")
    if len(shapes["usage"]) != 3 or len(shapes["forecast"]) != 4:
        raise PolicyError(
            f"expected usage (A, W, 4) and forecast (A, L, 4, Q); got {shapes['usage']} and "
            f"{shapes['forecast']}"
        )
    return shapes
