"""The MLflow record of one trained shadow version: run, parameters, metrics, tags.

Every version in the registry points at a run that holds the forecaster's artifact as plain
files (``shadow_model/meta.json`` and ``shadow_model/tensors.safetensors``), its
hyper-parameters (``hp.*``), its held-back scores (``val_*``) and, when it was compared,
the champion's scores on the same window (``champion_val_*``), so versions can be compared
side by side in ``mlflow ui``.
"""

from __future__ import annotations

import json
import math
import tempfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from shadowsim.errors import RegistryError
from shadowsim.resources import RESOURCES
from shadowsim.shadow.artifact import TrainingWindow, save_forecaster
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.model_naming import tag_list
from shadowsim.shadow.validation import ValidationScore, ValidationWindow

ARTIFACT_PATH = "shadow_model"
"""Folder of the artifact inside each run."""
MAX_PARAM_CHARS = 6000
"""MLflow's limit on a parameter value."""
MAX_PARAMS_PER_BATCH = 100
"""MLflow's limit on parameters per ``log_batch`` call."""
_RES = tuple(r.name.lower() for r in RESOURCES)


def log_training_run(
    client: MlflowClient,
    experiment_id: str,
    *,
    name: str,
    forecaster: Forecaster,
    app_ids: Sequence[str],
    validation: ValidationWindow,
    training_window: TrainingWindow,
    score: ValidationScore,
    champion_score: ValidationScore | None,
    tags: Mapping[str, str],
    metrics: Mapping[str, float],
) -> tuple[str, str]:
    """Create a finished run holding the forecaster's artifact, params and metrics.

    Args:
        client: MLflow client.
        experiment_id: Experiment of the run.
        name: Registered model name (run name and tag ``shadow_model``).
        forecaster: The fitted forecaster.
        app_ids: Applications it serves.
        validation: Window it was scored on.
        training_window: Window it was fitted on.
        score: Its validation score.
        champion_score: The champion's score on the same window, or None.
        tags: Extra run tags (e.g. ``cause``), also stored in the artifact metadata.
        metrics: Extra metrics (e.g. ``train_s``).

    Returns:
        ``(run_id, artifact_uri)`` where ``artifact_uri`` is the artifact folder.

    Raises:
        RegistryError: MLflow refused the run.
    """
    hyper, _ = forecaster.state()
    params = {f"hp.{k}": json.dumps(v, sort_keys=True) for k, v in hyper.items()}
    params |= {
        "forecaster": forecaster.name,
        "horizon_steps": str(validation.horizon),
        "validation_stride": str(validation.stride),
        "validation_ticks": str(validation.held_back_ticks),
        "training_ticks": str(training_window.n_ticks),
        "n_apps": str(len(app_ids)),
    }
    values = score.metrics("val_") | dict(metrics)
    if champion_score is not None:
        values |= champion_score.metrics("champion_val_")
    try:
        run_tags = {"shadow_model": name} | dict(tags)
        run = client.create_run(experiment_id, run_name=name, tags=run_tags)
        run_id = str(run.info.run_id)
        items = [Param(k, _param_value(v)) for k, v in params.items()]
        client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), 0, 0) for k, v in values.items() if math.isfinite(v)],
            params=items[:MAX_PARAMS_PER_BATCH],
        )
        for i in range(MAX_PARAMS_PER_BATCH, len(items), MAX_PARAMS_PER_BATCH):
            client.log_batch(run_id, params=items[i : i + MAX_PARAMS_PER_BATCH])
        with tempfile.TemporaryDirectory(prefix="shadowsim-save-") as tmp:
            folder = Path(tmp) / ARTIFACT_PATH
            save_forecaster(
                forecaster, folder,
                {"registered_model": name, "horizon_steps": validation.horizon} | dict(tags),
                app_ids=app_ids, training_window=training_window,
            )
            client.log_artifacts(run_id, str(folder), ARTIFACT_PATH)
        client.set_terminated(run_id)
    except MlflowException as err:
        raise RegistryError(f"cannot log the training run of {name!r}: {err}") from err
    return run_id, f"{run.info.artifact_uri}/{ARTIFACT_PATH}"


def version_tags(
    forecaster: Forecaster,
    app_ids: Sequence[str],
    validation: ValidationWindow,
    training_window: TrainingWindow,
    trained_at_s: float,
    score: ValidationScore,
) -> dict[str, str]:
    """Tags of a model version: applications, windows (s), training time, horizon, scores.

    Times are in s of the workload clock (Unix time for real traces); ``trained_at`` is the
    same instant as ISO 8601 UTC.
    """
    interval = forecaster.interval_s
    val_start = validation.start_s + validation.first_origin * interval
    val_end = validation.start_s + validation.demand.shape[1] * interval
    tags = {
        "app_ids": tag_list(app_ids),
        "n_apps": str(len(app_ids)),
        "forecaster": forecaster.name,
        "training_start_s": f"{training_window.start_s:.0f}",
        "training_end_s": f"{training_window.end_s:.0f}",
        "training_ticks": str(training_window.n_ticks),
        "trained_at_s": f"{trained_at_s:.0f}",
        "trained_at": datetime.fromtimestamp(trained_at_s, UTC).isoformat(timespec="seconds"),
        "horizon_steps": str(validation.horizon),
        "horizon_s": f"{validation.horizon * interval:.0f}",
        "validation_start_s": f"{val_start:.0f}",
        "validation_end_s": f"{val_end:.0f}",
        "val_score": f"{score.score:.6g}",
        "val_mae": f"{float(score.mae.mean()):.6g}",
        "val_rmse": f"{float(score.rmse.mean()):.6g}",
    }
    for r, mae, rmse in zip(_RES, score.mae, score.rmse, strict=True):
        tags[f"val_mae_{r}"] = f"{mae:.6g}"
        tags[f"val_rmse_{r}"] = f"{rmse:.6g}"
    return tags


def _param_value(value: str) -> str:
    """Values over MLflow's limit point to the artifact, which always holds them in full."""
    if len(value) <= MAX_PARAM_CHARS:
        return value
    return f"<{len(value)} chars, see {ARTIFACT_PATH}/meta.json>"
