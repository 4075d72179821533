"""Reading finished MLflow runs back for comparison (``python -m experiments.compare``).

Every experiment entry point (``evaluate``, ``simulate``, ``policy_quality``, sweeps of them with
Hydra's ``-m``) logs one MLflow run per policy with the seed means of
:class:`~shadowsim.metrics.episode_metrics.EpisodeMetrics` as ``mean_<key>`` metrics and the
policy as a tag. :func:`load_tracked_runs` collects those runs, newest first, grouped by a tag
(or a param), and :func:`episode_metrics` rebuilds the metrics object so the same tables and
plots serve live runs and stored ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, fields
from typing import Any

from mlflow.entities import ViewType
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from shadowsim.errors import ConfigError, UnknownNameError
from shadowsim.metrics.episode_metrics import EpisodeMetrics
from shadowsim.resources import RESOURCES

MEAN_PREFIX = "mean_"
"""Prefix of the seed-mean metrics the entry points log."""


@dataclass(frozen=True)
class TrackedRun:
    """One finished MLflow run.

    Attributes:
        key: The value of the grouping tag or param (e.g. the policy name).
        run_id: MLflow run id.
        run_name: MLflow run name.
        experiment: Name of the run's experiment.
        start_time_ms: Start of the run, ms since the epoch.
        metrics: The run's ``mean_*`` metrics without the prefix (its plain metrics when it
            logged no means).
        tags: The run's tags.
        params: The run's params.
    """

    key: str
    run_id: str
    run_name: str
    experiment: str
    start_time_ms: int
    metrics: dict[str, float]
    tags: dict[str, str]
    params: dict[str, str]


def load_tracked_runs(
    client: MlflowClient,
    experiments: Sequence[str],
    *,
    group_by: str = "tags.policy",
    filter_string: str = "",
    latest_only: bool = True,
) -> list[TrackedRun]:
    """The finished runs of ``experiments``, newest first.

    Args:
        client: Client of the tracking store.
        experiments: Experiment names (e.g. ``shadowsim-evaluate``).
        group_by: ``tags.NAME`` or ``params.NAME``: the value that names a run in the comparison.
        filter_string: An MLflow search filter (e.g. ``tags.workload LIKE '%bitbrains%'``).
        latest_only: Keep only the newest run per ``group_by`` value.

    Raises:
        UnknownNameError: An experiment does not exist (the message lists the known ones).
        ConfigError: ``group_by`` is malformed, the filter is invalid, or no run matched.
    """
    source, _, name = group_by.partition(".")
    if source not in ("tags", "params") or not name:
        raise ConfigError(
            "group_by", f"expected 'tags.NAME' or 'params.NAME', got {group_by!r}"
        )
    ids: dict[str, str] = {}
    known = [e.name for e in client.search_experiments(view_type=ViewType.ALL)]
    for experiment in experiments:
        found = client.get_experiment_by_name(experiment)
        if found is None:
            raise UnknownNameError("MLflow experiment", experiment, known)
        ids[found.experiment_id] = experiment
    query = "attributes.status = 'FINISHED'"
    if filter_string:
        query = f"{query} and {filter_string}"
    try:
        runs = client.search_runs(
            list(ids), filter_string=query, order_by=["attributes.start_time DESC"]
        )
    except MlflowException as err:  # a malformed filter
        raise ConfigError(
            "filter", f"MLflow could not search with {filter_string!r}: {err}"
        ) from err
    out: list[TrackedRun] = []
    seen: set[str] = set()
    for run in runs:
        data = run.data
        values = data.tags if source == "tags" else data.params
        key = values.get(name)
        if key is None or (latest_only and key in seen):
            continue
        seen.add(key)
        out.append(
            TrackedRun(
                key=key,
                run_id=run.info.run_id,
                run_name=run.info.run_name or "",
                experiment=ids[run.info.experiment_id],
                start_time_ms=int(run.info.start_time or 0),
                metrics=_means(data.metrics),
                tags=dict(data.tags),
                params=dict(data.params),
            )
        )
    if not out:
        raise ConfigError(
            "experiments",
            f"no finished run in {list(experiments)} has {group_by}"
            + (f" and matches {filter_string!r}" if filter_string else "")
            + "; run e.g. `python -m experiments.evaluate policy=hpa` first, or change "
            "experiments/group_by/filter",
        )
    return out


def _means(metrics: Mapping[str, float]) -> dict[str, float]:
    means = {k[len(MEAN_PREFIX) :]: v for k, v in metrics.items() if k.startswith(MEAN_PREFIX)}
    return means if means else dict(metrics)


def episode_metrics(values: Mapping[str, float]) -> EpisodeMetrics | None:
    """Rebuild :class:`EpisodeMetrics` from its :meth:`~EpisodeMetrics.as_dict` keys.

    Returns:
        The metrics, or None when a required key is missing (a run that logged other metrics).
    """
    slack_keys = [f"slack_{r.name.lower()}" for r in RESOURCES]
    if any(k not in values for k in slack_keys):
        return None
    kwargs: dict[str, Any] = {"relative_slack": tuple(float(values[k]) for k in slack_keys)}
    for f in fields(EpisodeMetrics):
        if f.name == "relative_slack":
            continue
        if f.name in values:
            value = float(values[f.name])
            kwargs[f.name] = round(value) if f.type in ("int", int) else value
        elif f.default is not MISSING:  # has a default (the regret fields)
            kwargs[f.name] = None
        else:
            return None
    for key in ("regret", "regret_relative"):
        if kwargs.get(key) is not None and math.isnan(kwargs[key]):
            kwargs[key] = None
    return EpisodeMetrics(**kwargs)
