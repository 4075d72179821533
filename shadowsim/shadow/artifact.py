"""The saved format of a shadow model: JSON metadata plus safetensors tensors.

An artifact is a directory holding two files:

``meta.json``
    Format name and version, forecaster name, its JSON hyper-parameters (what
    :meth:`Forecaster.state` returned), application ids, tick interval (s), quantiles,
    training window, creation time, the sha256 of ``tensors.safetensors`` and a sha256 of
    the metadata itself.
``tensors.safetensors``
    The forecaster's numeric arrays.

Loading never unpickles anything: JSON is parsed, the tensors are read with
:mod:`safetensors` and the forecaster is rebuilt with :meth:`Forecaster.from_state`. A
corrupt, truncated, tampered (checksum mismatch) or unknown-version artifact raises
:class:`~shadowsim.errors.ArtifactError` naming the file and the fix.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy
from numpy.typing import NDArray

from shadowsim.errors import ArtifactError, ShadowSimError
from shadowsim.shadow.forecaster import FORECASTERS, Forecaster

FORMAT_NAME = "shadowsim-forecaster"
"""Value of the ``format`` field of every artifact."""
FORMAT_VERSION = 1
"""Version of the artifact layout written by :func:`save_forecaster`."""
SUPPORTED_VERSIONS: tuple[int, ...] = (1,)
"""Format versions :func:`load_forecaster` can read."""
META_FILE = "meta.json"
"""Name of the metadata file inside an artifact directory."""
TENSORS_FILE = "tensors.safetensors"
"""Name of the tensor file inside an artifact directory."""


@dataclass(frozen=True)
class TrainingWindow:
    """The stretch of simulated (or wall-clock) time a model was fitted on.

    Attributes:
        start_s: Time of the first training tick, s.
        end_s: Time just after the last training tick, s.
        n_ticks: Number of training ticks.
    """

    start_s: float
    end_s: float
    n_ticks: int

    def to_json(self) -> dict[str, Any]:
        """A JSON-able dict of the window."""
        return {"start_s": self.start_s, "end_s": self.end_s, "n_ticks": self.n_ticks}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainingWindow:
        """Rebuild from :meth:`to_json` output."""
        return cls(float(data["start_s"]), float(data["end_s"]), int(data["n_ticks"]))


@dataclass(frozen=True)
class ArtifactMeta:
    """Everything ``meta.json`` says about a saved forecaster.

    Attributes:
        format_version: Layout version, one of :data:`SUPPORTED_VERSIONS`.
        forecaster: Name of the forecaster class in :data:`FORECASTERS`.
        hyper_params: JSON part of :meth:`Forecaster.state`.
        app_ids: Applications the model serves, in the order of its rows.
        interval_s: Tick length the model was fitted at, s.
        quantiles: Quantile levels it predicts, increasing.
        training_window: Training window, or None when not recorded.
        created_at: ISO 8601 UTC time the artifact was written (wall clock).
        tensors_sha256: Hex sha256 of the tensor file.
        extra: Free JSON-able metadata given by the caller (horizon, scores, cause...).
    """

    format_version: int
    forecaster: str
    hyper_params: dict[str, Any]
    app_ids: tuple[str, ...]
    interval_s: float
    quantiles: tuple[float, ...]
    training_window: TrainingWindow | None
    created_at: str
    tensors_sha256: str
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The JSON object stored in ``meta.json`` (without its own checksum)."""
        return {
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "forecaster": self.forecaster,
            "hyper_params": self.hyper_params,
            "app_ids": list(self.app_ids),
            "interval_s": self.interval_s,
            "quantiles": list(self.quantiles),
            "training_window": None if self.training_window is None
            else self.training_window.to_json(),
            "created_at": self.created_at,
            "tensors_sha256": self.tensors_sha256,
            "extra": self.extra,
        }


def save_forecaster(
    forecaster: Forecaster,
    path: str | Path,
    extra_meta: Mapping[str, Any] | None = None,
    *,
    app_ids: Sequence[str] = (),
    training_window: TrainingWindow | None = None,
) -> ArtifactMeta:
    """Write ``forecaster`` as an artifact directory at ``path``.

    Args:
        forecaster: A fitted forecaster registered in :data:`FORECASTERS`.
        path: Directory to create (must not hold another artifact's files).
        extra_meta: Extra JSON-able metadata stored under ``extra``.
        app_ids: Applications the model serves, in row order.
        training_window: Window the model was fitted on.

    Returns:
        The metadata written.

    Raises:
        ArtifactError: The state is not JSON-able or holds non-array tensors, or the
            directory already contains an artifact.
    """
    directory = Path(path)
    if (directory / META_FILE).exists() or (directory / TENSORS_FILE).exists():
        raise ArtifactError(
            f"{directory}: already contains an artifact; save to an empty or new directory"
        )
    hyper_params, arrays = forecaster.state()
    tensors = _tensor_bytes(forecaster, arrays)
    meta = ArtifactMeta(
        format_version=FORMAT_VERSION,
        forecaster=forecaster.name,
        hyper_params=dict(hyper_params),
        app_ids=tuple(str(a) for a in app_ids),
        interval_s=float(forecaster.interval_s),
        quantiles=tuple(float(q) for q in forecaster.quantiles),
        training_window=training_window,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        tensors_sha256=hashlib.sha256(tensors).hexdigest(),
        extra=dict(extra_meta or {}),
    )
    document = meta.to_json()
    try:
        document["meta_sha256"] = _meta_digest(document)
        text = json.dumps(document, indent=2, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise ArtifactError(
            f"{directory}: metadata of forecaster {forecaster.name!r} is not JSON-able "
            f"({err}); state() hyper-parameters and extra_meta must be plain JSON values"
        ) from err
    directory.mkdir(parents=True, exist_ok=True)
    (directory / TENSORS_FILE).write_bytes(tensors)
    (directory / META_FILE).write_text(text, encoding="utf-8")
    return meta


def load_forecaster(path: str | Path) -> tuple[Forecaster, ArtifactMeta]:
    """Read an artifact directory written by :func:`save_forecaster`.

    Args:
        path: The artifact directory.

    Returns:
        The rebuilt forecaster and its metadata.

    Raises:
        ArtifactError: A file is missing, unreadable, truncated or tampered with (checksum
            mismatch), the format version is unknown, or the forecaster is not registered.
    """
    directory = Path(path)
    meta_path = directory / META_FILE
    tensor_path = directory / TENSORS_FILE
    document = _read_meta(meta_path)
    meta = _parse_meta(meta_path, document)
    try:
        tensors = tensor_path.read_bytes()
    except OSError as err:
        raise ArtifactError(
            f"{tensor_path}: cannot read the tensor file ({err}); the artifact is incomplete, "
            "re-save the model or roll back to an earlier version"
        ) from err
    digest = hashlib.sha256(tensors).hexdigest()
    if digest != meta.tensors_sha256:
        raise ArtifactError(
            f"{tensor_path}: sha256 {digest[:12]}... does not match {meta.tensors_sha256[:12]}... "
            f"recorded in {META_FILE}; the tensors are corrupt, truncated or were modified. "
            "Re-save the model or roll back to an earlier version"
        )
    try:
        arrays = safetensors.numpy.load(tensors)
    except Exception as err:  # safetensors raises its own untyped errors
        raise ArtifactError(f"{tensor_path}: not a valid safetensors file ({err})") from err
    import shadowsim.shadow.forecasters  # noqa: F401  (registers the built-in forecasters)

    try:
        cls = FORECASTERS.get(meta.forecaster)
    except ShadowSimError as err:
        raise ArtifactError(
            f"{meta_path}: forecaster {meta.forecaster!r} is not available ({err}); import the "
            "module that registers it before loading"
        ) from err
    try:
        forecaster = cls.from_state(dict(meta.hyper_params), dict(arrays))
    except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as err:
        raise ArtifactError(
            f"{directory}: the stored state does not rebuild a {meta.forecaster!r} forecaster "
            f"({type(err).__name__}: {err}); the artifact was written by an incompatible "
            "version of that forecaster"
        ) from err
    if tuple(forecaster.quantiles) != meta.quantiles or forecaster.interval_s != meta.interval_s:
        raise ArtifactError(
            f"{meta_path}: the rebuilt forecaster has quantiles {forecaster.quantiles} and "
            f"interval {forecaster.interval_s} s but the metadata says {meta.quantiles} and "
            f"{meta.interval_s} s; the artifact is inconsistent"
        )
    return forecaster, meta


def _tensor_bytes(forecaster: Forecaster, arrays: Mapping[str, Any]) -> bytes:
    """Serialise ``arrays`` with safetensors (contiguous copies, names checked)."""
    clean: dict[str, NDArray[Any]] = {}
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):
            raise ArtifactError(
                f"state() of forecaster {forecaster.name!r} returned {type(value).__name__} "
                f"for tensor {key!r}; every tensor must be a numpy array"
            )
        clean[str(key)] = np.ascontiguousarray(value)
    try:
        return safetensors.numpy.save(clean, metadata={"format": FORMAT_NAME})
    except Exception as err:  # safetensors raises its own untyped errors
        raise ArtifactError(
            f"cannot serialise the tensors of forecaster {forecaster.name!r}: {err}"
        ) from err


def _meta_digest(document: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``document`` without its ``meta_sha256`` field."""
    body = {k: v for k, v in document.items() if k != "meta_sha256"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _read_meta(meta_path: Path) -> dict[str, Any]:
    """Parse ``meta.json`` into a dict, with clear errors."""
    try:
        text = meta_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ArtifactError(
            f"{meta_path}: cannot read the artifact metadata ({err}); is this a directory "
            "written by save_forecaster?"
        ) from err
    try:
        document = json.loads(text)
    except json.JSONDecodeError as err:
        raise ArtifactError(
            f"{meta_path}, line {err.lineno}, column {err.colno}: invalid JSON ({err.msg}); "
            "the metadata is corrupt or truncated"
        ) from err
    if not isinstance(document, dict):
        raise ArtifactError(f"{meta_path}: expected a JSON object, got {type(document).__name__}")
    return document


def _parse_meta(meta_path: Path, document: dict[str, Any]) -> ArtifactMeta:
    """Check format, version and checksum of a parsed ``meta.json``."""
    if document.get("format") != FORMAT_NAME:
        raise ArtifactError(
            f"{meta_path}: field 'format' is {document.get('format')!r}, expected "
            f"{FORMAT_NAME!r}; this is not a shadowsim forecaster artifact"
        )
    version = document.get("format_version")
    if version not in SUPPORTED_VERSIONS:
        raise ArtifactError(
            f"{meta_path}: unknown format_version {version!r}; this shadowsim reads versions "
            f"{list(SUPPORTED_VERSIONS)}. Upgrade shadowsim or re-save the model"
        )
    recorded = document.get("meta_sha256")
    try:
        actual = _meta_digest(document)
    except (TypeError, ValueError) as err:
        raise ArtifactError(f"{meta_path}: metadata is not canonical JSON ({err})") from err
    if recorded != actual:
        raise ArtifactError(
            f"{meta_path}: metadata checksum mismatch (field 'meta_sha256'); the metadata was "
            "modified after saving. Re-save the model or roll back to an earlier version"
        )
    try:
        window = document["training_window"]
        return ArtifactMeta(
            format_version=int(version),
            forecaster=str(document["forecaster"]),
            hyper_params=dict(document["hyper_params"]),
            app_ids=tuple(str(a) for a in document["app_ids"]),
            interval_s=float(document["interval_s"]),
            quantiles=tuple(float(q) for q in document["quantiles"]),
            training_window=None if window is None else TrainingWindow.from_json(window),
            created_at=str(document["created_at"]),
            tensors_sha256=str(document["tensors_sha256"]),
            extra=dict(document["extra"]),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ArtifactError(
            f"{meta_path}: missing or malformed field ({type(err).__name__}: {err}); expected "
            f"the fields written by format version {version}"
        ) from err
