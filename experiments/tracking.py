"""Logging an experiment run to MLflow: params, metrics and the run's outcome.

``experiments.evaluate`` and ``experiments.train`` log every run here, so runs are comparable
in ``mlflow ui``. The store is resolved by :func:`shadowsim.shadow.tracking_store.open_store`:
a tracking URI from the config, or the embedded default ``sqlite:///<root>/mlflow.db``
(``root`` = the Hydra output dir's parent ``mlflow/`` folder, shared by all runs of a day).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from mlflow.entities import Metric, Param, RunTag

from shadowsim.metrics.episode_metrics import EpisodeMetrics
from shadowsim.metrics.tracked_runs import MEAN_PREFIX
from shadowsim.shadow.tracking_store import open_store

_MAX_PARAM = 500
"""MLflow's longest param value (characters)."""


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested mappings as ``{"a.b": "value"}`` strings (for MLflow params)."""
    out: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = str(value)[:_MAX_PARAM]
    return out


class RunLogger:
    """One MLflow run; use as a context manager (FAILED if the block raises).

    Args:
        tracking_uri: MLflow URI, or None for the embedded SQLite store under ``root``.
        root: Folder of the embedded store.
        experiment: Experiment name (created if missing).
        run_name: Name of the run.
        tags: Tags of the run.
    """

    def __init__(
        self,
        tracking_uri: str | None,
        root: str | Path,
        experiment: str,
        run_name: str,
        tags: Mapping[str, str] | None = None,
    ) -> None:
        self.store = open_store(tracking_uri, root)
        self.client = self.store.client()
        found = self.client.get_experiment_by_name(experiment)
        if found is None:
            experiment_id = self.client.create_experiment(
                experiment, artifact_location=self.store.artifact_location
            )
        else:
            experiment_id = found.experiment_id
        run = self.client.create_run(experiment_id, run_name=run_name, tags=dict(tags or {}))
        self.run_id = run.info.run_id
        self.experiment_id = experiment_id

    @property
    def tracking_uri(self) -> str:
        """The store's URI (for ``mlflow ui --backend-store-uri``)."""
        return self.store.tracking_uri

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log (flattened) params once."""
        flat = flatten(params)
        items = [Param(k, v) for k, v in flat.items()]
        for i in range(0, len(items), 100):
            self.client.log_batch(self.run_id, params=items[i : i + 100])

    def log_metrics(self, metrics: Mapping[str, float | int | None], step: int = 0) -> None:
        """Log the finite numeric metrics at ``step`` (None and NaN are skipped)."""
        items = [
            Metric(k, float(v), 0, step)
            for k, v in metrics.items()
            if v is not None and isinstance(v, int | float) and math.isfinite(float(v))
        ]
        for i in range(0, len(items), 500):
            self.client.log_batch(self.run_id, metrics=items[i : i + 500])

    def log_seeds(self, per_seed: Sequence[EpisodeMetrics], mean: Mapping[str, Any]) -> None:
        """Each seed's metrics as a step, and their mean as ``mean_<key>`` (the numeric ones:
        what :mod:`shadowsim.metrics.tracked_runs` reads back)."""
        for i, metrics in enumerate(per_seed):
            self.log_metrics(metrics.as_dict(), step=i)
        self.log_metrics(
            {
                f"{MEAN_PREFIX}{k}": v
                for k, v in mean.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            }
        )

    def log_metric(self, name: str, value: float, step: int) -> None:
        """Log one metric (the training callbacks' signature)."""
        self.log_metrics({name: value}, step)

    def log_artifact(self, path: str | Path) -> None:
        """Copy a file (a plot, a report) into the run's artifacts."""
        self.client.log_artifact(self.run_id, str(path))

    def set_tags(self, tags: Mapping[str, str]) -> None:
        """Add tags to the run."""
        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def __enter__(self) -> RunLogger:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.client.set_terminated(self.run_id, "FAILED" if exc_type is not None else "FINISHED")
