"""Reader of the Bitbrains GWA-T-12 per-VM traces (``fastStorage`` / ``Rnd``).

One ``<n>.csv`` file per VM; each VM is one application with id ``<n>`` (the file stem).
The format and its quirks are documented in ``shared/traces/README.md``; this reader handles
them as follows (each repair is counted in ``Workload.repairs`` under the name given):

- fields separated by ``;\\t``; numbers plain or in scientific notation;
- the ``Timestamp [ms]`` column holds Unix **seconds**, whatever the header says (a value
  after the year 2100 is rejected as milliseconds);
- duplicated or unordered timestamps (82.csv): sorted and merged by the resampler
  (``rows_out_of_order_sorted``, ``duplicate_rows_merged``);
- rows with ``CPU cores`` or ``CPU capacity provisioned`` equal to 0 mean the VM was not
  provisioned (54.csv's first days, 82.csv's second half): their ticks are **inactive**, not
  demand 0 (``ticks_unprovisioned``); any usage such a row still reports is not used
  (``usage_in_unprovisioned_rows_ignored``);
- a VM that starts late (446.csv) is inactive before its first row;
- CPU: ``usage MHz / (capacity MHz / cores)`` vCPU, computed per row, so capacity jitter in
  the last digits does not matter; usage above capacity (``CPU usage [%]`` > 100) is clipped
  to the cores when ``clip_to_capacity`` (``cpu_clipped_to_capacity``);
- memory: KB / 1024 = MiB; a usage of 0 in a running VM is a missing measurement, filled by
  the gap policy when ``memory_zero_is_missing`` (``memory_zero_treated_missing``); usage
  above the provisioned memory is clipped when ``clip_to_capacity``
  (``memory_clipped_to_capacity``);
- disk = read + write KB/s; network = received + transmitted KB/s;
- provisioned size: the largest ``CPU cores`` and ``Memory capacity provisioned`` (MiB) of the
  VM's provisioned rows (memory may be resized within a month); disk and network have no
  provisioned size in the trace and get the VM's peak demand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, TraceFormatError
from shadowsim.workloads.repairs import RepairReport
from shadowsim.workloads.resample import Samples
from shadowsim.workloads.trace_config import TraceConfig
from shadowsim.workloads.trace_parsing import (
    Column,
    read_delimited,
    read_header,
    reject_negative,
    text_of,
)
from shadowsim.workloads.trace_reader import TraceData, TraceReader, list_trace_files, natural_key

__all__ = ["BITBRAINS_HEADER", "BitbrainsConfig", "BitbrainsReader"]

BITBRAINS_HEADER: tuple[str, ...] = (
    "Timestamp [ms]",
    "CPU cores",
    "CPU capacity provisioned [MHZ]",
    "CPU usage [MHZ]",
    "CPU usage [%]",
    "Memory capacity provisioned [KB]",
    "Memory usage [KB]",
    "Disk read throughput [KB/s]",
    "Disk write throughput [KB/s]",
    "Network received throughput [KB/s]",
    "Network transmitted throughput [KB/s]",
)
"""The header fields of every Bitbrains file (compared ignoring case and spacing)."""

_SEP = ";"
_VALUE_COLUMNS = (
    "CPU usage [MHZ]",
    "Memory usage [KB]",
    "Disk read + write throughput [KB/s]",
    "Network received + transmitted throughput [KB/s]",
)
_KB_PER_MIB = 1024.0
_LATEST_UNIX_S = 4_102_444_800.0  # 2100-01-01: later "seconds" are milliseconds


@dataclass(frozen=True)
class BitbrainsConfig(TraceConfig):
    """Settings of :class:`BitbrainsReader` (and the shared ones of :class:`TraceConfig`).

    ``path`` is a folder of ``*.csv`` files (e.g. ``bitbrains_rnd/2013-8``) or one file.

    Attributes:
        clip_to_capacity: Clip CPU and memory usage above the provisioned size to it.
        memory_zero_is_missing: Treat a memory usage of 0 KB in a running VM as missing.
    """

    clip_to_capacity: bool = True
    memory_zero_is_missing: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("clip_to_capacity", "memory_zero_is_missing"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(key, f"must be true or false, got {getattr(self, key)!r}")


class BitbrainsReader(TraceReader[BitbrainsConfig]):
    """Reads a folder of Bitbrains GWA-T-12 files into a :class:`Workload` (see module doc)."""

    def read(self) -> TraceData:
        """Parse the files into samples in shadowsim units; one application per file."""
        root = self.config.trace_path
        files = list_trace_files(
            root, accept=lambda p: p.suffix.lower() == ".csv", recursive=False, what="*.csv"
        )
        by_id: dict[str, Path] = {}
        for path in files:
            if path.stem in by_id:
                raise TraceFormatError(path, f"VM id {path.stem!r} also used by {by_id[path.stem]}")
            by_id[path.stem] = path
        ids = sorted(by_id, key=natural_key)
        if self.config.max_apps is not None:
            ids = ids[: self.config.max_apps]
        repairs = RepairReport()
        parts = [self._read_file(by_id[app], app, repairs) for app in ids]
        n_rows = [p[0].size for p in parts]
        samples = Samples(
            app=np.repeat(np.arange(len(ids), dtype=np.intp), n_rows),
            time_s=np.concatenate([p[0] for p in parts]),
            values=np.concatenate([p[1] for p in parts]),
            present=np.concatenate([p[2] for p in parts]),
            file=np.repeat(np.arange(len(ids), dtype=np.intp), n_rows),
            line=np.concatenate([p[3] for p in parts]),
            app_ids=tuple(ids),
            files=tuple(by_id[app] for app in ids),
            columns=_VALUE_COLUMNS,
        )
        capacity = np.stack([p[4] for p in parts])
        return TraceData(
            samples=samples,
            capacity=capacity,
            repairs=repairs,
            description=f"bitbrains:{root} ({len(ids)} of {len(by_id)} VMs)",
        )

    def _read_file(
        self, path: Path, app: str, repairs: RepairReport
    ) -> tuple[
        NDArray[np.float64],
        NDArray[np.float64],
        NDArray[np.bool_],
        NDArray[np.int64],
        NDArray[np.float64],
    ]:
        """Time (s), values (n, 4), provisioned flags, lines and capacity (4,) of one file."""
        text = text_of(path).replace(";\t", _SEP)
        _check_header(path, read_header(path, text, _SEP))
        table = read_delimited(
            path, text, [Column(name) for name in BITBRAINS_HEADER], sep=_SEP, has_header=True
        )
        frame = table.frame
        reject_negative(path, frame, BITBRAINS_HEADER, table.line)
        col = {name: frame[name].to_numpy(dtype=np.float64) for name in BITBRAINS_HEADER}
        stamp = col["Timestamp [ms]"]
        if stamp.max() > _LATEST_UNIX_S:
            row = int(np.argmax(stamp > _LATEST_UNIX_S))
            raise TraceFormatError(
                path,
                f"timestamp {stamp[row]:.0f} is not Unix seconds (after year 2100); GWA-T-12 "
                "files hold seconds despite the '[ms]' header: convert the column to seconds",
                line=int(table.line[row]),
                column="Timestamp [ms]",
            )
        cores, cap_mhz = col["CPU cores"], col["CPU capacity provisioned [MHZ]"]
        used_mhz = col["CPU usage [MHZ]"]
        mem_cap = col["Memory capacity provisioned [KB]"] / _KB_PER_MIB
        mem = col["Memory usage [KB]"] / _KB_PER_MIB
        disk = col["Disk read throughput [KB/s]"] + col["Disk write throughput [KB/s]"]
        net = (
            col["Network received throughput [KB/s]"] + col["Network transmitted throughput [KB/s]"]
        )
        present = (cores > 0) & (cap_mhz > 0)
        ghost = ~present & ((used_mhz > 0) | (mem > 0) | (disk > 0) | (net > 0))
        repairs.add(app, "usage_in_unprovisioned_rows_ignored", int(ghost.sum()))

        cpu = np.divide(used_mhz * cores, cap_mhz, out=np.zeros_like(used_mhz), where=present)
        if self.config.clip_to_capacity:
            over = present & (cpu > cores)
            repairs.add(app, "cpu_clipped_to_capacity", int(over.sum()))
            cpu = np.where(over, cores, cpu)
            over = present & (mem_cap > 0) & (mem > mem_cap)
            repairs.add(app, "memory_clipped_to_capacity", int(over.sum()))
            mem = np.where(over, mem_cap, mem)
        if self.config.memory_zero_is_missing:
            zero = present & (mem == 0)
            repairs.add(app, "memory_zero_treated_missing", int(zero.sum()))
            mem = np.where(zero, np.nan, mem)
        values = np.column_stack([cpu, mem, disk, net])
        if present.any():
            capacity = np.array([cores[present].max(), mem_cap[present].max(), np.nan, np.nan])
        else:
            capacity = np.array([0.0, 0.0, np.nan, np.nan])
        return col["Timestamp [ms]"], values, present, table.line, capacity


def _normal(field: str) -> str:
    """A header field compared ignoring case and spacing."""
    return re.sub(r"\s+", " ", field).strip().lower()


def _check_header(path: Path, header: list[str]) -> None:
    """Raise unless ``header`` is the Bitbrains header."""
    try:
        float(header[0])
    except ValueError:
        pass
    else:
        raise TraceFormatError(
            path,
            "line 1 holds numbers, but a Bitbrains file starts with the header line "
            f"{';'.join(BITBRAINS_HEADER)!r}",
            line=1,
        )
    if len(header) != len(BITBRAINS_HEADER):
        raise TraceFormatError(
            path,
            f"the header has {len(header)} fields separated by ';\\t', expected "
            f"{len(BITBRAINS_HEADER)}: {', '.join(BITBRAINS_HEADER)}",
            line=1,
        )
    for i, (found, expected) in enumerate(zip(header, BITBRAINS_HEADER, strict=True)):
        if _normal(found) != _normal(expected):
            raise TraceFormatError(
                path,
                f"header field {i + 1} is {found!r}, expected {expected!r}; is this a "
                "Bitbrains GWA-T-12 file?",
                line=1,
                column=i + 1,
            )
