"""Where shadow models are tracked: the MLflow tracking store behind the registry.

The embedded default is a local SQLite store ``sqlite:///<root>/mlflow.db`` with artifacts
in ``<root>/artifacts``; a tracking-server URI (``http://host:5000``) works the same.
Open the default store with ``mlflow ui --backend-store-uri sqlite:///<root>/mlflow.db``.

Creating a fresh SQLite store runs MLflow's schema migrations, which takes seconds. A fresh
store is therefore copied from a template created once per process (the schema does not
depend on the path), which makes a new store take milliseconds, e.g. one per test module.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from mlflow.environment_variables import (
    MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR,
    MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT,
)
from mlflow.tracking import MlflowClient

from shadowsim.errors import ConfigError

_NOISY_LOGGERS = (
    "mlflow.store.db.utils",
    "mlflow.store.model_registry.abstract_store",
    "alembic",
    "alembic.runtime.migration",
)
_SERVER_SCHEMES = ("http://", "https://", "databricks")
"""URI prefixes of tracking servers, which choose the artifact location themselves."""
_TEMPLATE_LOCK = threading.Lock()
_template: Path | None = None


@dataclass(frozen=True)
class TrackingStore:
    """A resolved tracking store.

    Attributes:
        tracking_uri: MLflow tracking (and registry) URI.
        artifact_location: URI of the experiment's artifact folder, or None to let a
            tracking server choose.
    """

    tracking_uri: str
    artifact_location: str | None

    def client(self) -> MlflowClient:
        """An MLflow client for this store (tracking and model registry)."""
        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)


def open_store(tracking_uri: str | None, root: str | Path, *, quiet: bool = True) -> TrackingStore:
    """Resolve (and for the default, create) the tracking store.

    Args:
        tracking_uri: An MLflow URI (``sqlite:///...``, ``http://...``), or None for the
            embedded default ``sqlite:///<root>/mlflow.db``.
        root: Local folder for the default store and for artifacts of SQLite stores.
        quiet: Silence MLflow's migration logs, artifact progress bars and the run links it
            prints for tracking servers (only where the environment does not set them).

    Returns:
        The store, ready for a client.

    Raises:
        ConfigError: The root folder cannot be created.
    """
    if quiet:
        for name in _NOISY_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        os.environ.setdefault(MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR.name, "false")
        os.environ.setdefault(MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT.name, "true")
    root_path = Path(root).expanduser().resolve()
    if tracking_uri is None:
        try:
            root_path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ConfigError(
                "registry.root", f"cannot create the registry folder {root_path}: {err}"
            ) from err
        db = root_path / "mlflow.db"
        if not db.exists():
            shutil.copyfile(_schema_template(), db)
        tracking_uri = f"sqlite:///{db}"
    if tracking_uri.startswith(_SERVER_SCHEMES):
        return TrackingStore(tracking_uri, None)
    return TrackingStore(tracking_uri, (root_path / "artifacts").as_uri())


def _schema_template() -> Path:
    """An empty, fully migrated MLflow SQLite database, created once per process."""
    global _template
    with _TEMPLATE_LOCK:
        if _template is None or not _template.exists():
            folder = Path(tempfile.mkdtemp(prefix="shadowsim-mlflow-template-"))
            atexit.register(shutil.rmtree, folder, True)
            db = folder / "mlflow.db"
            uri = f"sqlite:///{db}"
            MlflowClient(tracking_uri=uri, registry_uri=uri).search_experiments(max_results=1)
            _template = db
        return _template
