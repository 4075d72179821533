"""Reader of a generic long-format trace: one row per (application, time), CSV or Parquet.

Each row holds an application id, a time and the four resources already in shadowsim units
(CPU vCPU, memory MiB, disk KB/s, network KB/s); column names are configurable and other
columns are ignored. Example (``sep=","``, the default names)::

    app,timestamp,cpu,memory,disk,network
    web-1,2024-01-01T00:00:00Z,0.5,1024,10,200
    web-1,1704067500,0.7,1100,12,180

- **Times** are Unix seconds or ISO 8601 strings (``time_format`` AUTO: Unix seconds if the
  first row holds a number, else ISO 8601; ISO times without a zone are UTC); Parquet
  timestamp columns are accepted as they are.
- Rows may come in any order; duplicates and gaps are handled by the resampler
  (:mod:`shadowsim.workloads.resample`). Values must be finite and >= 0.
- A resource column set to ``""`` is not in the trace: that resource is 0 and each row
  counts as ``<resource>_not_in_trace`` (e.g. ``network_not_in_trace``).
- **Optional metadata columns**: ``priority_column`` (``LOW``/``MEDIUM``/``HIGH`` in any case,
  or 0/1/2; the SLA targets then follow the class from ``metadata``), ``sla_response_column``
  (s, > 0) and ``sla_error_column`` (share in [0, 1)). A value must be the same on every row
  of an application; applications without these columns get the ``metadata`` rule.
- ``path`` is one ``.csv``/``.parquet`` file or a folder of them (rows are pooled; an
  application may span files). ``provisioned`` is each application's peak demand.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, fields
from enum import Enum
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, TraceFormatError, UnknownNameError
from shadowsim.resources import RESOURCES, Resource
from shadowsim.workloads.repairs import RepairReport
from shadowsim.workloads.resample import Samples
from shadowsim.workloads.tabular_columns import (
    RowLocator,
    TimeFormat,
    constant_per_app,
    numbers,
    priorities,
    seconds,
)
from shadowsim.workloads.trace_config import TraceConfig, enum_member
from shadowsim.workloads.trace_parsing import CellKind, Column, read_delimited, text_of
from shadowsim.workloads.trace_reader import TraceData, TraceReader, first_apps, list_trace_files
from shadowsim.workloads.workload import Priority

__all__ = ["TabularConfig", "TabularFormat", "TabularReader", "TimeFormat"]


class TabularFormat(Enum):
    """File format of a tabular trace."""

    AUTO = "auto"
    """By file extension: ``.parquet``/``.pq`` is Parquet, anything else CSV."""
    CSV = "csv"
    """Delimited text with a header line."""
    PARQUET = "parquet"
    """Apache Parquet (read with pyarrow)."""


_SUFFIXES = {
    ".csv": TabularFormat.CSV,
    ".parquet": TabularFormat.PARQUET,
    ".pq": TabularFormat.PARQUET,
}


@dataclass(frozen=True)
class TabularConfig(TraceConfig):
    """Settings of :class:`TabularReader` (and the shared ones of :class:`TraceConfig`).

    Attributes:
        file_format: :class:`TabularFormat` of the file(s).
        sep: Field separator of CSV files, one character.
        app_column: Column of application ids.
        time_column: Column of times.
        time_format: :class:`TimeFormat` of ``time_column``.
        cpu_column: CPU demand column, vCPU (``""``: not in the trace).
        memory_column: Memory demand column, MiB (``""``: not in the trace).
        disk_column: Disk I/O column, KB/s (``""``: not in the trace).
        network_column: Network I/O column, KB/s (``""``: not in the trace).
        priority_column: Optional priority class column (``""``: none).
        sla_response_column: Optional SLA response-time target column, s (``""``: none).
        sla_error_column: Optional SLA highest-error-rate column (``""``: none).
    """

    file_format: TabularFormat = TabularFormat.AUTO
    sep: str = ","
    app_column: str = "app"
    time_column: str = "timestamp"
    time_format: TimeFormat = TimeFormat.AUTO
    cpu_column: str = "cpu"
    memory_column: str = "memory"
    disk_column: str = "disk"
    network_column: str = "network"
    priority_column: str = ""
    sla_response_column: str = ""
    sla_error_column: str = ""

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(
            self, "file_format", enum_member(TabularFormat, self.file_format, "file_format")
        )
        object.__setattr__(
            self, "time_format", enum_member(TimeFormat, self.time_format, "time_format")
        )
        if not isinstance(self.sep, str) or len(self.sep) != 1 or self.sep in '"\r\n':
            raise ConfigError("sep", f"must be one character (not a quote), got {self.sep!r}")
        keys = [f.name for f in fields(self) if f.name.endswith("_column")]
        for key in keys:
            if not isinstance(getattr(self, key), str):
                raise ConfigError(key, f"must be a column name, got {getattr(self, key)!r}")
        for key in ("app_column", "time_column"):
            if not getattr(self, key):
                raise ConfigError(key, "must name a column; it is required")
        named = [(getattr(self, k), k) for k in keys if getattr(self, k)]
        for i, (name, key) in enumerate(named):
            for other, other_key in named[:i]:
                if name == other:
                    raise ConfigError(
                        key, f"column {name!r} is also {other_key}; use distinct ones"
                    )

    @property
    def resource_columns(self) -> tuple[str, str, str, str]:
        """The column of each resource, in :class:`Resource` order (``""``: absent)."""
        return (self.cpu_column, self.memory_column, self.disk_column, self.network_column)


@dataclass(frozen=True, eq=False)
class _Rows:
    """The rows of one file, converted; metadata arrays are None when not configured."""

    app: NDArray[np.str_]
    time_s: NDArray[np.float64]
    values: NDArray[np.float64]
    meta: dict[str, NDArray[np.float64]]
    where: RowLocator


class TabularReader(TraceReader[TabularConfig]):
    """Reads a long-format CSV/Parquet trace into a :class:`Workload` (see module doc)."""

    def read(self) -> TraceData:
        """Parse the file(s) into samples; metadata columns override the metadata rule."""
        cfg = self.config
        root = cfg.trace_path
        files = list_trace_files(
            root,
            accept=lambda p: p.suffix.lower() in _SUFFIXES,
            recursive=False,
            what="*.csv or *.parquet",
        )
        parts = [self._read_file(path) for path in files]
        all_apps = np.concatenate([p.app for p in parts])
        n_all = np.unique(all_apps).size
        ids = first_apps(list(np.unique(all_apps)), cfg.max_apps)
        keep = pd.Index(ids).get_indexer(pd.Index(all_apps)) >= 0
        app = pd.Index(ids).get_indexer(pd.Index(all_apps[keep])).astype(np.intp)
        file = np.repeat(np.arange(len(parts), dtype=np.intp), [p.app.size for p in parts])[keep]
        row = np.concatenate([np.arange(p.app.size) for p in parts])[keep]
        repairs = RepairReport()
        for res, name in zip(RESOURCES, cfg.resource_columns, strict=True):
            if not name:
                repairs.add_counts(
                    ids, app, np.ones(app.size, dtype=np.int64), f"{res.name.lower()}_not_in_trace"
                )
        columns = zip(RESOURCES, cfg.resource_columns, strict=True)
        samples = Samples(
            app=app,
            time_s=np.concatenate([p.time_s for p in parts])[keep],
            values=np.concatenate([p.values for p in parts])[keep],
            present=np.ones(app.size, dtype=np.bool_),
            file=file,
            line=np.concatenate([p.where.lines for p in parts])[keep],
            app_ids=tuple(ids),
            files=tuple(files),
            columns=tuple(name or res.name.lower() for res, name in columns),
        )
        meta: dict[str, NDArray[np.float64]] = {}
        for key, column in self._meta_columns().items():
            values = np.concatenate([p.meta[key] for p in parts])[keep]

            def fail(i: int, message: str, column: str = column) -> NoReturn:
                parts[int(file[i])].where.fail(int(row[i]), column, message)

            show = _priority_name if key == "priority" else (lambda v: f"{v:g}")
            meta[key] = constant_per_app(values, app, len(ids), np.nan, fail, show)
        priority = meta.get("priority")
        return TraceData(
            samples=samples,
            capacity=np.full((len(ids), len(RESOURCES)), np.nan),
            repairs=repairs,
            description=f"tabular:{root} ({len(ids)} of {n_all} apps from {len(files)} file(s))",
            priority=None if priority is None else np.nan_to_num(priority, nan=-1).astype(np.int8),
            sla_response_s=meta.get("sla_response_s"),
            sla_max_error_rate=meta.get("sla_max_error_rate"),
        )

    def _meta_columns(self) -> dict[str, str]:
        """Configured metadata columns: key in :class:`TraceData` -> column name."""
        cfg = self.config
        named = {
            "priority": cfg.priority_column,
            "sla_response_s": cfg.sla_response_column,
            "sla_max_error_rate": cfg.sla_error_column,
        }
        return {key: name for key, name in named.items() if name}

    def _read_file(self, path: Path) -> _Rows:
        """Read and convert one file."""
        cfg = self.config
        fmt = cfg.file_format
        if fmt is TabularFormat.AUTO:
            fmt = _SUFFIXES.get(path.suffix.lower(), TabularFormat.CSV)
        wanted = self._wanted()
        if fmt is TabularFormat.PARQUET:
            frame, where = _parquet(path, wanted)
        else:
            frame, where = _csv(path, wanted, cfg.sep)
        app = frame[cfg.app_column].astype(str).str.strip().to_numpy(dtype=str)
        empty = app == ""
        if empty.any():
            where.fail(int(np.argmax(empty)), cfg.app_column, "empty application id")
        time_s = seconds(frame[cfg.time_column], cfg.time_column, cfg.time_format, where)
        values = np.zeros((len(frame), len(RESOURCES)))
        for res in Resource:
            name = cfg.resource_columns[res]
            if name:
                values[:, res] = numbers(frame[name], name, where)
        meta: dict[str, NDArray[np.float64]] = {}
        for key, name in self._meta_columns().items():
            if key == "priority":
                meta[key] = priorities(frame[name], name, where).astype(np.float64)
            elif key == "sla_response_s":
                meta[key] = numbers(frame[name], name, where, low_open=True)
            else:
                meta[key] = numbers(frame[name], name, where, high=1.0)
        return _Rows(app=app, time_s=time_s, values=values, meta=meta, where=where)

    def _wanted(self) -> dict[str, tuple[CellKind, str]]:
        """Used column name -> (how a CSV cell of it is read, the config key naming it)."""
        cfg = self.config
        wanted: dict[str, tuple[CellKind, str]] = {}
        for f in fields(cfg):
            name = getattr(cfg, f.name)
            if f.name.endswith("_column") and name:
                text = f.name in ("app_column", "time_column", "priority_column")
                wanted[name] = (CellKind.TEXT if text else CellKind.NUMBER, f.name)
        return wanted


def _priority_name(value: float) -> str:
    """The name of a priority class from its number."""
    return Priority(int(value)).name


def _missing_column(
    path: Path, header: list[str], wanted: dict[str, tuple[CellKind, str]], line: int | None
) -> None:
    """Raise if a configured column is not in ``header``."""
    for name, (_, key) in wanted.items():
        if name not in header:
            unknown = UnknownNameError("column", name, header)
            raise TraceFormatError(
                path, f"{unknown} Set {key} to the right column name.", line=line, column=name
            )


def _csv(
    path: Path, wanted: dict[str, tuple[CellKind, str]], sep: str
) -> tuple[pd.DataFrame, RowLocator]:
    """The used columns of a CSV file (text columns as str, numbers as float)."""
    text = text_of(path)
    first = text.split("\n", 1)[0].rstrip("\r")
    header = [h.strip() for h in next(csv.reader([first], delimiter=sep))]
    _missing_column(path, header, wanted, 1)
    for name in wanted:
        if header.count(name) > 1:
            raise TraceFormatError(
                path, "column name appears twice in the header", line=1, column=name
            )
    columns = [
        Column(h, wanted[h][0]) if h in wanted else Column(f"#{i + 1}", CellKind.IGNORED)
        for i, h in enumerate(header)
    ]
    table = read_delimited(path, text, columns, sep=sep, has_header=True, quoted=True)
    return table.frame, RowLocator(path=path, lines=table.line, is_text=True)


def _parquet(
    path: Path, wanted: dict[str, tuple[CellKind, str]]
) -> tuple[pd.DataFrame, RowLocator]:
    """The used columns of a Parquet file."""
    try:
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as err:
        raise TraceFormatError(path, f"cannot read it as Parquet: {err}") from err
    _missing_column(path, [str(c) for c in frame.columns], wanted, None)
    if frame.empty:
        raise TraceFormatError(path, "the Parquet file has no rows")
    frame = frame[list(wanted)].reset_index(drop=True)
    where = RowLocator(path=path, lines=np.arange(1, len(frame) + 1, dtype=np.int64), is_text=False)
    for name, (kind, _) in wanted.items():
        if kind is CellKind.TEXT:
            null = frame[name].isna().to_numpy()
            if null.any():
                where.fail(int(np.argmax(null)), name, "missing value")
    return frame, where
