"""The part every real-trace reader shares: finding files, resampling, building the Workload.

A reader implements :meth:`TraceReader.read`, which parses its format into :class:`TraceData`
(irregular :class:`~shadowsim.workloads.resample.Samples` in shadowsim units, the VM sizes the
trace reports, and the repairs it made while parsing). :meth:`TraceReader.load` then does the
same for every format:

1. resample onto the grid of ``config.interval_s`` (:func:`~shadowsim.workloads.resample.resample`);
2. ``provisioned`` is the size the trace reports; a resource the trace gives no size for gets
   the application's peak demand over its active ticks;
3. priorities and SLA targets come from :func:`~shadowsim.workloads.metadata.assign_metadata`
   applied to the mean demand over active ticks; a reader may override them per application
   from the trace itself (the tabular format's optional columns);
4. all repairs, the reader's and the resampler's, go into ``Workload.repairs``.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import TraceFormatError
from shadowsim.resources import N_RESOURCES
from shadowsim.workloads.metadata import assign_metadata
from shadowsim.workloads.repairs import RepairReport
from shadowsim.workloads.resample import Samples, resample
from shadowsim.workloads.trace_config import TraceConfig
from shadowsim.workloads.workload import Priority, Workload

__all__ = ["TraceData", "TraceReader", "first_apps", "list_trace_files", "natural_key"]

C = TypeVar("C", bound=TraceConfig)


@dataclass(frozen=True, eq=False)
class TraceData:
    """What a reader parsed, before resampling.

    Attributes:
        samples: The rows, values in shadowsim units (vCPU, MiB, KB/s, KB/s).
        capacity: ``(n_apps, 4)`` VM size the trace reports, NaN where it reports none.
        repairs: Repairs made while parsing (clipping, markers, ...).
        description: Where the data came from, for ``Workload.source``.
        priority: ``(n_apps,)`` priority from the trace, -1 where it has none; None: no column.
        sla_response_s: ``(n_apps,)`` SLA response target from the trace, s, NaN where none.
        sla_max_error_rate: ``(n_apps,)`` SLA error-rate target from the trace, NaN where none.
    """

    samples: Samples
    capacity: NDArray[np.float64]
    repairs: RepairReport
    description: str
    priority: NDArray[np.int8] | None = None
    sla_response_s: NDArray[np.float64] | None = None
    sla_max_error_rate: NDArray[np.float64] | None = None


class TraceReader(ABC, Generic[C]):
    """Base of the real-trace readers: ``Reader(config).load() -> Workload``.

    Args:
        config: The reader's config dataclass.
    """

    def __init__(self, config: C) -> None:
        self.config = config

    @abstractmethod
    def read(self) -> TraceData:
        """Parse the trace named by ``config.path`` into irregular samples."""

    def load(self) -> Workload:
        """Read, resample and describe the trace as a :class:`Workload`.

        Raises:
            ConfigError: A config value is missing or wrong.
            TraceFormatError: The trace is malformed (message names file, line, column).
        """
        data = self.read()
        cfg = self.config
        grid = resample(
            data.samples,
            interval_s=cfg.interval_s,
            gap_policy=cfg.gap_policy,
            max_gap_s=cfg.max_gap_s,
            inactive_fill=cfg.inactive_fill,
        )
        demand, active = grid.values, grid.active
        if demand.shape[2] != N_RESOURCES:
            raise TypeError(f"{type(self).__name__} must produce {N_RESOURCES} resources")
        n_active = active.sum(axis=1)
        masked = np.where(active[..., None], demand, 0.0)
        mean = masked.sum(axis=1) / np.maximum(n_active, 1)[:, None]
        peak = masked.max(axis=1)
        provisioned = np.where(np.isnan(data.capacity), peak, data.capacity)
        ids = data.samples.app_ids
        meta = assign_metadata(ids, mean, cfg.metadata)
        priority, response, error = meta.priority, meta.sla_response_s, meta.sla_max_error_rate
        if data.priority is not None:
            given = data.priority >= 0
            priority = np.where(given, data.priority, priority).astype(np.int8)
            by_class = cfg.metadata
            response = np.where(
                given, [by_class.response_s[Priority(p)] for p in priority], response
            )
            error = np.where(given, [by_class.max_error_rate[Priority(p)] for p in priority], error)
        if data.sla_response_s is not None:
            response = np.where(np.isnan(data.sla_response_s), response, data.sla_response_s)
        if data.sla_max_error_rate is not None:
            error = np.where(np.isnan(data.sla_max_error_rate), error, data.sla_max_error_rate)
        return Workload(
            demand=demand,
            interval_s=grid.interval_s,
            app_ids=ids,
            priority=priority,
            sla_response_s=np.asarray(response, dtype=np.float64),
            sla_max_error_rate=np.asarray(error, dtype=np.float64),
            active=active,
            provisioned=provisioned,
            start_time_s=grid.start_time_s,
            source=data.description,
            repairs=RepairReport().merge(data.repairs).merge(grid.repairs),
        )


def list_trace_files(
    path: Path, *, accept: Callable[[Path], bool], recursive: bool, what: str
) -> list[Path]:
    """The trace files at ``path``: the file itself, or the accepted files in the folder.

    Args:
        path: A file or folder.
        accept: Which files of the folder are trace files.
        recursive: Whether to look into sub-folders too.
        what: Description of an accepted file for the error message, e.g. ``"*.csv files"``.

    Returns:
        The files, sorted in natural order of their paths (hidden files are skipped).

    Raises:
        TraceFormatError: ``path`` is neither a file nor a folder (a FIFO, a device), or the
            folder holds no accepted file.
    """
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise TraceFormatError(
            path,
            f"is neither a regular file nor a folder; point path at a trace file or a folder of "
            f"{what}",
        )
    found = path.rglob("*") if recursive else path.iterdir()
    files = [
        p
        for p in found
        if p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
        and accept(p)
    ]
    if not files:
        where = "folder or its sub-folders" if recursive else "folder"
        raise TraceFormatError(
            path, f"the {where} holds no trace files ({what}); point path at the trace folder"
        )
    return sorted(files, key=lambda p: natural_key(str(p.relative_to(path))))


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders digit runs by value: ``"2.csv"`` before ``"10.csv"``."""
    parts = re.split(r"(\d+)", text)
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts if p)


def first_apps(app_ids: Sequence[str], max_apps: int | None) -> list[str]:
    """The distinct ``app_ids`` in natural order, cut to the first ``max_apps``."""
    ordered = sorted({str(app) for app in app_ids}, key=natural_key)
    return ordered if max_apps is None else ordered[:max_apps]
