"""The shadow model registry: versioned forecasters in the MLflow Model Registry.

One registered model per application (or per application group, for a global model
serving many applications). Every version is an MLflow run holding the artifact of
:mod:`shadowsim.shadow.artifact` as plain files (no pyfunc pickles), its parameters and its
validation metrics, so versions are visible and comparable in ``mlflow ui``. Each version
is tagged with its application ids, training window, training time, horizon, and its
MAE/RMSE on the held-back window.

Promotion: :meth:`ShadowRegistry.register` scores the new version *and* the serving
champion on the same :class:`~shadowsim.shadow.validation.ValidationWindow`; the new
version takes the ``champion`` alias only when its score (mean WAPE) is lower, otherwise it
becomes ``challenger``. Each champion records the one it replaced (tag
``previous_champion``), so :meth:`ShadowRegistry.rollback` returns to the last good
version in one call. When the champion's artifact cannot be loaded (corrupt, deleted) the
error is logged, the version is tagged ``corrupt`` and the previous good version takes the
alias back and keeps serving.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum

from mlflow.entities.model_registry import RegisteredModel
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST, ErrorCode
from sqlalchemy.exc import SQLAlchemyError

from shadowsim.errors import ArtifactError, ConfigError, ForecastError, RegistryError
from shadowsim.shadow.artifact import ArtifactMeta, TrainingWindow, load_forecaster
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.model_naming import check_model_name
from shadowsim.shadow.registry_records import Registration, ServedModel
from shadowsim.shadow.tracking_store import open_store
from shadowsim.shadow.training_run import ARTIFACT_PATH, log_training_run, version_tags
from shadowsim.shadow.validation import ValidationScore, ValidationWindow, validate
from shadowsim.shadow.verified_cache import VerifiedStates

logger = logging.getLogger(__name__)
_MISSING = ErrorCode.Name(RESOURCE_DOES_NOT_EXIST)

CHAMPION = "champion"
"""Alias of the serving version."""
CHALLENGER = "challenger"
"""Alias of the latest version that did not beat the champion."""


class VersionStatus(Enum):
    """Lifecycle of a version, stored in its ``status`` tag."""

    CHAMPION = "champion"
    CHALLENGER = "challenger"
    RETIRED = "retired"
    """Replaced by a better champion; still a valid rollback target."""
    ROLLED_BACK = "rolled_back"
    """Removed from service by a rollback; never served again automatically."""
    CORRUPT = "corrupt"
    """Its artifact failed to load."""


_NOT_SERVABLE = {VersionStatus.ROLLED_BACK.value, VersionStatus.CORRUPT.value}


@dataclass(frozen=True)
class RegistryConfig:
    """Config of :class:`ShadowRegistry` (Hydra node ``registry``).

    Attributes:
        tracking_uri: MLflow tracking URI; None for ``sqlite:///<root>/mlflow.db``.
        root: Folder of the embedded store and of local artifacts.
        experiment: MLflow experiment that holds the training runs.
        min_improvement: Relative score improvement a new version needs to become
            champion (0 = any strict improvement).
        quiet: Silence MLflow's migration logs and progress bars.
        cache_size: Verified versions kept in memory (0 = always download).
    """

    tracking_uri: str | None = None
    root: str = "mlruns"
    experiment: str = "shadow-models"
    min_improvement: float = 0.0
    quiet: bool = True
    cache_size: int = 128

    def __post_init__(self) -> None:
        if self.cache_size < 0:
            raise ConfigError("registry.cache_size", f"must be >= 0, got {self.cache_size}")
        if not 0.0 <= self.min_improvement < 1.0:
            raise ConfigError(
                "registry.min_improvement",
                f"must be in [0, 1), got {self.min_improvement}; 0.05 asks for 5% better",
            )
        if not self.experiment:
            raise ConfigError("registry.experiment", "must be a non-empty experiment name")


class ShadowRegistry:
    """Stores, promotes, serves and rolls back shadow forecasters in MLflow.

    Args:
        tracking_uri: MLflow tracking URI (overrides ``config.tracking_uri``); None with
            no config gives ``sqlite:///mlruns/mlflow.db``.
        config: Registry settings.
    """

    def __init__(self, tracking_uri: str | None = None, config: RegistryConfig | None = None):
        self.config = config or RegistryConfig()
        uri = tracking_uri if tracking_uri is not None else self.config.tracking_uri
        store = open_store(uri, self.config.root, quiet=self.config.quiet)
        self.tracking_uri = store.tracking_uri
        self._verified = VerifiedStates(self.config.cache_size)
        try:
            self.client = store.client()
            found = self.client.get_experiment_by_name(self.config.experiment)
            self.experiment_id = (
                found.experiment_id if found is not None else self.client.create_experiment(
                    self.config.experiment, artifact_location=store.artifact_location
                )
            )
        except MlflowException as err:
            raise RegistryError(
                f"cannot open experiment {self.config.experiment!r} at {self.tracking_uri}: {err}"
            ) from err
        except SQLAlchemyError as err:  # e.g. a file that is not an MLflow SQLite database
            raise RegistryError(
                f"cannot read the tracking store {self.tracking_uri}: {err.__class__.__name__}: "
                f"{getattr(err, 'orig', err)}; is it an MLflow database? Point registry.root or "
                "registry.tracking_uri at another store"
            ) from err

    # -- writing ---------------------------------------------------------------------------

    def register(
        self,
        forecaster: Forecaster,
        *,
        name: str,
        app_ids: Sequence[str],
        validation: ValidationWindow,
        training_window: TrainingWindow,
        trained_at_s: float,
        tags: Mapping[str, str] | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> Registration:
        """Log ``forecaster`` as a new version of ``name`` and promote it if it is better.

        Args:
            forecaster: A fitted forecaster for ``app_ids`` (in that order).
            name: Registered model name (see :func:`~shadowsim.shadow.model_naming.model_name`).
            app_ids: Applications it serves.
            validation: Held-back window; the champion is scored on the same one.
            training_window: Window it was fitted on.
            trained_at_s: When it was trained (simulated or Unix time), s.
            tags: Extra tags for the run and version (e.g. ``cause``).
            metrics: Extra metrics for the run (e.g. ``train_s``).

        Returns:
            The registration, saying whether it became champion.
        """
        check_model_name(name)
        score = validate(forecaster, validation)
        try:
            serving = self._serving_or_none(name)
        except RegistryError as err:
            logger.error("%s: no loadable champion (%s); the new version is promoted", name, err)
            serving = None
        champ_score: ValidationScore | None = None
        if serving is not None:
            try:
                champ_score = validate(serving.forecaster, validation)
            except ForecastError as err:
                logger.warning(
                    "%s v%d cannot be scored on the new validation window (%s); the new "
                    "version is promoted without comparison", name, serving.version, err,
                )
        threshold = 1.0 - self.config.min_improvement
        promoted = champ_score is None or score.score < champ_score.score * threshold
        champ_version = None if serving is None else serving.version
        run_id, source = log_training_run(
            self.client, self.experiment_id, name=name, forecaster=forecaster, app_ids=app_ids,
            validation=validation, training_window=training_window, score=score,
            champion_score=champ_score, tags=dict(tags or {}), metrics=dict(metrics or {}),
        )
        v_tags = version_tags(forecaster, app_ids, validation, training_window, trained_at_s,
                              score) | dict(tags or {})
        try:
            self._ensure_model(name)
            mv = self.client.create_model_version(name, source=source, run_id=run_id, tags=v_tags)
        except MlflowException as err:
            raise RegistryError(f"cannot create a version of {name!r}: {err}") from err
        version = int(mv.version)
        if promoted:
            self._make_champion(name, version, champ_version)
        else:
            self.client.set_registered_model_alias(name, CHALLENGER, str(version))
            self._set_status(name, version, VersionStatus.CHALLENGER)
        logger.info("%s v%d: score %.4f vs champion v%s %s -> %s", name, version, score.score,
                    champ_version, None if champ_score is None else f"{champ_score.score:.4f}",
                    CHAMPION if promoted else CHALLENGER)
        return Registration(name, version, promoted, score, champ_version, champ_score, run_id)

    def promote(self, name: str, version: int) -> None:
        """Make ``version`` champion by hand (the current champion stays a rollback target)."""
        current = self.champion_version(name)
        if current == version:
            return
        self._make_champion(name, version, current)

    def rollback(self, name: str) -> int:
        """Move ``champion`` back to the last good version before the current one.

        The current champion is tagged ``rolled_back`` (``corrupt`` tags are kept).

        Returns:
            The version now serving.

        Raises:
            RegistryError: ``name`` has no champion, or no earlier good version.
        """
        current = self.champion_version(name)
        if current is None:
            raise RegistryError(f"{name!r} has no champion to roll back from; register one first")
        target = self._previous_good(name, current)
        if target is None:
            raise RegistryError(
                f"{name!r} v{current} has no earlier good version to roll back to; register "
                "and promote a new version instead"
            )
        if self._tags(name, current).get("status") != VersionStatus.CORRUPT.value:
            self._set_status(name, current, VersionStatus.ROLLED_BACK)
        self.client.set_registered_model_alias(name, CHAMPION, str(target))
        self._set_status(name, target, VersionStatus.CHAMPION)
        logger.warning("%s: rolled back champion from v%d to v%d", name, current, target)
        return target

    # -- reading ---------------------------------------------------------------------------

    def champion_version(self, name: str) -> int | None:
        """The version holding the ``champion`` alias, or None (also for unknown models)."""
        return self._alias(name, CHAMPION)

    def challenger_version(self, name: str) -> int | None:
        """The version holding the ``challenger`` alias, or None."""
        return self._alias(name, CHALLENGER)

    def version_tags(self, name: str, version: int) -> dict[str, str]:
        """All tags of one version."""
        return self._tags(name, version)

    def versions(self, name: str) -> list[int]:
        """All version numbers of ``name``, increasing."""
        try:
            found = self.client.search_model_versions(f"name = '{check_model_name(name)}'")
        except MlflowException as err:
            raise RegistryError(f"cannot list versions of {name!r}: {err}") from err
        return sorted(int(mv.version) for mv in found)

    def load_version(self, name: str, version: int) -> tuple[Forecaster, ArtifactMeta]:
        """Download, verify and rebuild one version.

        Verified states are kept in a small LRU cache (``config.cache_size`` versions), so
        comparing a new version with the champion does not download the champion again;
        every call returns a fresh forecaster.

        Raises:
            ArtifactError: The artifact is missing, corrupt or of an unknown format.
            RegistryError: The version does not exist.
        """
        try:
            mv = self.client.get_model_version(name, str(version))
        except MlflowException as err:
            raise RegistryError(f"{name!r} has no version {version}: {err}") from err
        if mv.run_id is None:
            raise ArtifactError(f"{name!r} v{version} has no run; it was not made by shadowsim")
        key = (name, version, str(mv.run_id))
        cached = self._verified.get(key)
        if cached is not None:
            return cached
        with tempfile.TemporaryDirectory(prefix="shadowsim-load-") as tmp:
            try:
                local = self.client.download_artifacts(mv.run_id, ARTIFACT_PATH, tmp)
            except (MlflowException, OSError) as err:
                raise ArtifactError(
                    f"{name!r} v{version}: cannot download {mv.source}: {err}"
                ) from err
            forecaster, meta = load_forecaster(local)
        self._verified.put(key, forecaster, meta)
        return forecaster, meta

    def load_champion(self, name: str) -> ServedModel:
        """Load the champion; if it is broken, log it, roll back and load the previous one.

        Raises:
            RegistryError: No champion, or no version in the champion chain loads.
        """
        served = self._serving_or_none(name)
        if served is None:
            raise RegistryError(f"{name!r} has no champion; register a version first")
        return served

    # -- internals -------------------------------------------------------------------------

    def _serving_or_none(self, name: str) -> ServedModel | None:
        version = self.champion_version(name)
        failed: list[int] = []
        while version is not None:
            try:
                forecaster, meta = self.load_version(name, version)
                return ServedModel(name, version, forecaster, meta, tuple(failed))
            except ArtifactError as err:
                logger.error(
                    "%s v%d cannot be loaded and is marked corrupt: %s", name, version, err
                )
                failed.append(version)
                self._set_status(name, version, VersionStatus.CORRUPT)
                target = self._previous_good(name, version)
                if target is None:
                    raise RegistryError(
                        f"{name!r}: champion v{version} is corrupt and no earlier good version "
                        f"exists (failed: {failed}); retrain and register a new version"
                    ) from err
                self.client.set_registered_model_alias(name, CHAMPION, str(target))
                self._set_status(name, target, VersionStatus.CHAMPION)
                logger.error("%s: v%d keeps serving in place of v%d", name, target, version)
                version = target
        return None

    def _previous_good(self, name: str, version: int) -> int | None:
        seen = {version}
        tag = self._tags(name, version).get("previous_champion")
        while tag:
            prev = int(tag)
            if prev in seen:
                break
            seen.add(prev)
            tags = self._tags(name, prev)
            if tags.get("status") not in _NOT_SERVABLE:
                return prev
            tag = tags.get("previous_champion")
        return None

    def _make_champion(self, name: str, version: int, previous: int | None) -> None:
        if previous is not None:
            self.client.set_model_version_tag(
                name, str(version), "previous_champion", str(previous)
            )
            self._set_status(name, previous, VersionStatus.RETIRED)
        self.client.set_registered_model_alias(name, CHAMPION, str(version))
        self._set_status(name, version, VersionStatus.CHAMPION)
        if self.challenger_version(name) == version:
            self.client.delete_registered_model_alias(name, CHALLENGER)

    def _set_status(self, name: str, version: int, status: VersionStatus) -> None:
        self.client.set_model_version_tag(name, str(version), "status", status.value)

    def _tags(self, name: str, version: int) -> dict[str, str]:
        try:
            return dict(self.client.get_model_version(name, str(version)).tags)
        except MlflowException as err:
            raise RegistryError(f"{name!r} has no version {version}: {err}") from err

    def _alias(self, name: str, alias: str) -> int | None:
        model = self._model_or_none(name)
        value = None if model is None else model.aliases.get(alias)
        return None if value is None else int(value)

    def _model_or_none(self, name: str) -> RegisteredModel | None:
        try:
            return self.client.get_registered_model(name)
        except MlflowException as err:
            if err.error_code == _MISSING:
                return None
            raise RegistryError(f"cannot read registered model {name!r}: {err}") from err

    def _ensure_model(self, name: str) -> None:
        if self._model_or_none(name) is None:
            self.client.create_registered_model(
                name, tags={"kind": "shadowsim-shadow"},
                description="Shadow forecaster of shadowsim; champion alias = serving version.",
            )
