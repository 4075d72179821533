"""Where a forecaster's error comes from: the applications that hold most of it.

A mean absolute error over many applications is a sum in each resource's unit, so a few large
or erratic applications can hold most of it. :func:`top_error_apps` ranks the applications by
their share of one forecaster's summed absolute error (of the P50, on one resource, over
forecast steps ``1..steps``) and gives every other forecaster's MAE on the same applications,
so a benchmark can show whether a gain or a loss is broad or comes from a handful of series.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ForecastError
from shadowsim.resources import Resource
from shadowsim.shadow.evaluation import ForecastScores


@dataclass(frozen=True)
class TopErrorApps:
    """The applications holding most of one forecaster's absolute error on one resource.

    Attributes:
        resource: The resource scored.
        ranked_by: The forecaster whose error ranks the applications.
        apps: Application indices, largest share first.
        share: Each one's share of ``ranked_by``'s summed absolute error (0..1).
        mae: Per forecaster, the MAE of each of ``apps`` (the resource's unit).
        total_share: The listed applications' share together.
        n_apps: Applications scored (with at least one scored forecast).
    """

    resource: Resource
    ranked_by: str
    apps: NDArray[np.int64]
    share: NDArray[np.float64]
    mae: dict[str, NDArray[np.float64]]
    total_share: float
    n_apps: int


def top_error_apps(
    scores: Mapping[str, ForecastScores],
    resource: Resource,
    *,
    ranked_by: str,
    steps: int,
    top: int = 5,
) -> TopErrorApps:
    """Rank applications by their share of ``ranked_by``'s absolute error on ``resource``.

    Args:
        scores: Scores per forecaster name, all over the same applications and origins.
        resource: The resource to rank on.
        ranked_by: The forecaster (a key of ``scores``) whose error ranks the applications.
        steps: Forecast steps ``1..steps`` counted.
        top: Most applications listed.

    Raises:
        ForecastError: ``ranked_by`` is not scored, the scores cover different numbers of
            applications, or ``top`` or ``steps`` is below 1.
    """
    if ranked_by not in scores:
        raise ForecastError(
            f"top_error_apps: no scores for {ranked_by!r}; scored: {', '.join(scores)}"
        )
    if top < 1 or steps < 1:
        raise ForecastError(f"top_error_apps: top and steps must be >= 1, got {top} and {steps}")
    sizes = {name: s.abs_err.shape[0] for name, s in scores.items()}
    if len(set(sizes.values())) > 1:
        raise ForecastError(f"top_error_apps: the scores cover different applications: {sizes}")
    r = int(resource)
    err = scores[ranked_by].abs_err[:, :steps, r].sum(axis=1)
    counted = scores[ranked_by].count[:, :steps, r].sum(axis=1) > 0
    total = float(err.sum())
    order = np.argsort(-err, kind="stable")[: min(top, int(counted.sum()))].astype(np.int64)
    share = err[order] / total if total > 0 else np.zeros(len(order))
    mae = {name: s.per_app(steps)["mae"][order, r] for name, s in scores.items()}
    return TopErrorApps(
        resource=resource,
        ranked_by=ranked_by,
        apps=order,
        share=share,
        mae=mae,
        total_share=float(share.sum()),
        n_apps=int(counted.sum()),
    )
