"""Reader of Alibaba cluster-trace-v2018 machine usage (``machine_usage.csv``).

Each physical machine (``m_1932`` ...) is one application. The file is comma-separated with
no header: ``machine_id, time_stamp, cpu_util_percent, mem_util_percent, mem_gps, mkpi,
net_in, net_out, disk_io_percent``; ``time_stamp`` is seconds since the trace start (the
workload starts at 0). Rules (repairs counted under the names given):

- Empty fields are allowed in the value columns and read as missing (``mem_gps`` and
  ``mkpi`` are not used); the resampler fills missing values by the gap policy.
- Irregular sampling (10 s grid, median 60 s) is averaged per tick; multi-hour gaps longer
  than ``max_gap_s`` become inactive (see :mod:`shadowsim.workloads.resample`).
- ``disk_io_percent`` of -1 or 101 marks an abnormal value: it becomes missing
  (``abnormal_markers_replaced``). Other percentages above 100 are clipped
  (``percent_clipped_to_100``); negative values are an error.
- ``net_in`` / ``net_out`` are cumulative normalised counters: the rate of a row is the
  counter increase since the machine's previous row divided by the time between them, and
  the network demand is ``(rate_in + rate_out) * network_kb_per_unit`` KB/s. A row has no
  rate when it is the machine's first, repeats the previous time, or follows a counter that
  went back (``network_counter_resets``); such rows count as ``network_rate_undefined``.
- Units: CPU ``percent / 100 * cpu_num`` vCPU; memory ``percent / 100 * memory_mib *
  mem_size / 100`` MiB; disk ``percent / 100 * disk_kbps_at_100`` KB/s. ``cpu_num`` and
  ``mem_size`` come from the machine's latest row in ``machine_meta.csv`` beside the usage
  file when ``use_machine_meta`` and the file exists; otherwise from ``cores`` and 100
  (``machine_size_from_config``).
- Provisioned size: ``cpu_num`` vCPU, the memory at 100 %, ``disk_kbps_at_100``; network has
  no size in the trace and gets the machine's peak demand.

The absolute sizes (``memory_mib``, ``disk_kbps_at_100``, ``network_kb_per_unit``) are not
published with the trace; the defaults are assumptions to be set per study.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, TraceFormatError
from shadowsim.workloads.repairs import RepairReport
from shadowsim.workloads.resample import Samples
from shadowsim.workloads.trace_config import TraceConfig, positive_number
from shadowsim.workloads.trace_parsing import (
    CellKind,
    Column,
    read_delimited,
    reject_negative,
    text_of,
)
from shadowsim.workloads.trace_reader import TraceData, TraceReader, first_apps

__all__ = ["AlibabaConfig", "AlibabaReader"]

USAGE_FILE = "machine_usage.csv"
META_FILE = "machine_meta.csv"

_O = CellKind.OPTIONAL_NUMBER
_USAGE_COLUMNS = (
    Column("machine_id", CellKind.TEXT),
    Column("time_stamp"),
    Column("cpu_util_percent", _O),
    Column("mem_util_percent", _O),
    Column("mem_gps", CellKind.IGNORED),
    Column("mkpi", CellKind.IGNORED),
    Column("net_in", _O),
    Column("net_out", _O),
    Column("disk_io_percent", _O),
)
_META_COLUMNS = (
    Column("machine_id", CellKind.TEXT),
    Column("time_stamp"),
    Column("failure_domain_1", CellKind.IGNORED),
    Column("failure_domain_2", CellKind.IGNORED),
    Column("cpu_num", _O),
    Column("mem_size", _O),
    Column("status", CellKind.IGNORED),
)
_MARKERS = (-1.0, 101.0)


@dataclass(frozen=True)
class AlibabaConfig(TraceConfig):
    """Settings of :class:`AlibabaReader` (and the shared ones of :class:`TraceConfig`).

    ``path`` is the folder holding ``machine_usage.csv`` (and optionally
    ``machine_meta.csv``), or the usage file itself.

    Attributes:
        use_machine_meta: Read ``cpu_num``/``mem_size`` from ``machine_meta.csv`` if present.
        cores: Cores of a machine the meta file does not describe, vCPU.
        memory_mib: Memory of a machine with ``mem_size`` 100, MiB (assumed: 512 GiB).
        disk_kbps_at_100: Disk throughput at ``disk_io_percent`` 100, KB/s (assumed).
        network_kb_per_unit: KB per unit of the normalised network counters (assumed).
    """

    use_machine_meta: bool = True
    cores: float = 96.0
    memory_mib: float = 524_288.0
    disk_kbps_at_100: float = 500_000.0
    network_kb_per_unit: float = 1.0e8

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.use_machine_meta, bool):
            raise ConfigError(
                "use_machine_meta", f"must be true or false, got {self.use_machine_meta!r}"
            )
        for key in ("cores", "memory_mib", "disk_kbps_at_100", "network_kb_per_unit"):
            positive_number(self, key)


class AlibabaReader(TraceReader[AlibabaConfig]):
    """Reads Alibaba v2018 ``machine_usage`` into a :class:`Workload` (see module doc)."""

    def read(self) -> TraceData:
        """Parse the usage (and meta) file into samples in shadowsim units."""
        cfg = self.config
        root = cfg.trace_path
        usage_path = root / USAGE_FILE if root.is_dir() else root
        if not usage_path.is_file():
            raise TraceFormatError(
                root, f"the folder holds no {USAGE_FILE}; point path at the alibaba trace folder"
            )
        table = read_delimited(
            usage_path, text_of(usage_path), _USAGE_COLUMNS, sep=",", has_header=False
        )
        frame, line = table.frame, table.line
        machine = frame["machine_id"].str.strip().to_numpy(dtype=str)
        all_ids = np.unique(machine)
        ids = first_apps(list(all_ids), cfg.max_apps)
        app = pd.Index(ids).get_indexer(pd.Index(machine))
        keep = app >= 0
        frame, line, app = frame[keep].reset_index(drop=True), line[keep], app[keep]
        repairs = RepairReport()

        disk = frame["disk_io_percent"].to_numpy(dtype=np.float64)
        marker = np.asarray(np.isin(disk, _MARKERS), dtype=np.bool_)
        repairs.add_counts(ids, app, marker, "abnormal_markers_replaced")
        frame["disk_io_percent"] = np.where(marker, np.nan, disk)
        percent_names = ["cpu_util_percent", "mem_util_percent", "disk_io_percent"]
        value_names = ["time_stamp", *percent_names, "net_in", "net_out"]
        reject_negative(usage_path, frame, value_names, line)
        percent = frame[percent_names].to_numpy(dtype=np.float64)
        over = percent > 100.0
        repairs.add_counts(ids, app, over.sum(axis=1), "percent_clipped_to_100")
        percent = np.minimum(percent, 100.0)

        time_s = frame["time_stamp"].to_numpy(dtype=np.float64)
        counters = frame[["net_in", "net_out"]].to_numpy(dtype=np.float64)
        rate = _counter_rate(app, time_s, counters, ids, repairs).sum(axis=1)
        repairs.add_counts(ids, app, np.isnan(rate), "network_rate_undefined")

        cores, mem_share = self._machine_sizes(usage_path, ids, repairs)
        values = np.column_stack(
            [
                percent[:, 0] / 100.0 * cores[app],
                percent[:, 1] / 100.0 * cfg.memory_mib * mem_share[app],
                percent[:, 2] / 100.0 * cfg.disk_kbps_at_100,
                rate * cfg.network_kb_per_unit,
            ]
        )
        samples = Samples(
            app=app.astype(np.intp),
            time_s=time_s,
            values=values,
            present=np.ones(app.size, dtype=np.bool_),
            file=np.zeros(app.size, dtype=np.intp),
            line=line,
            app_ids=tuple(ids),
            files=(usage_path,),
            columns=("cpu_util_percent", "mem_util_percent", "disk_io_percent", "net_in/net_out"),
        )
        capacity = np.column_stack(
            [
                cores,
                cfg.memory_mib * mem_share,
                np.full(len(ids), cfg.disk_kbps_at_100),
                np.full(len(ids), np.nan),
            ]
        )
        return TraceData(
            samples=samples,
            capacity=capacity,
            repairs=repairs,
            description=f"alibaba:{usage_path} ({len(ids)} of {all_ids.size} machines)",
        )

    def _machine_sizes(
        self, usage_path: Path, ids: list[str], repairs: RepairReport
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Cores (vCPU) and memory share (``mem_size / 100``) of each machine."""
        cores = np.full(len(ids), float(self.config.cores))
        share = np.ones(len(ids))
        known = np.zeros(len(ids), dtype=bool)
        meta_path = usage_path.parent / META_FILE
        if self.config.use_machine_meta and meta_path.is_file():
            table = read_delimited(
                meta_path, text_of(meta_path), _META_COLUMNS, sep=",", has_header=False
            )
            meta = table.frame.assign(line=table.line)
            meta["machine_id"] = meta["machine_id"].str.strip()
            reject_negative(meta_path, meta, ["cpu_num", "mem_size"], table.line)
            meta = meta.dropna(subset=["cpu_num"]).sort_values(["time_stamp", "line"])
            latest = meta.groupby("machine_id").last()
            idx = latest.index.get_indexer(pd.Index(ids))
            known = idx >= 0
            cores[known] = latest["cpu_num"].to_numpy(dtype=np.float64)[idx[known]]
            mem = latest["mem_size"].to_numpy(dtype=np.float64)[idx[known]]
            share[known] = np.where(np.isnan(mem), 1.0, mem / 100.0)
        for i in np.flatnonzero(~known):
            repairs.add(ids[i], "machine_size_from_config")
        return cores, share


def _counter_rate(
    app: NDArray[np.intp],
    time_s: NDArray[np.float64],
    counters: NDArray[np.float64],
    ids: list[str],
    repairs: RepairReport,
) -> NDArray[np.float64]:
    """Per row and counter, the increase per second since the machine's previous row."""
    order = np.lexsort((time_s, app))
    a, t, c = app[order], time_s[order], counters[order]
    rate = np.full(c.shape, np.nan)
    same = np.zeros(a.size, dtype=bool)
    same[1:] = a[1:] == a[:-1]
    dt = np.zeros(a.size)
    dt[1:] = t[1:] - t[:-1]
    dc = np.zeros(c.shape)
    dc[1:] = c[1:] - c[:-1]
    reset = same[:, None] & (dt > 0)[:, None] & (dc < 0)
    repairs.add_counts(ids, a, reset.sum(axis=1), "network_counter_resets")
    ok = same[:, None] & (dt > 0)[:, None] & (dc >= 0)
    np.divide(dc, dt[:, None], out=rate, where=ok)
    out = np.empty_like(rate)
    out[order] = rate
    return out
