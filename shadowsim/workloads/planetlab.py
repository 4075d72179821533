"""Reader of the PlanetLab (CoMon) CPU traces as shipped with CloudSim.

One extensionless file per VM and day, in day folders named ``YYYYMMDD``; each file has
``samples_per_file`` (288) lines, one integer CPU utilisation in percent (0-100) per 5-minute
interval (line ``k`` covers minutes ``[5k, 5k + 5)`` of the day). The file name is an opaque
VM id. Rules (repairs counted under the names given):

- **Days.** By default (:attr:`DayLayout.BACK_TO_BACK`) the same VM name on several days is
  one application whose days are concatenated in date order: the dates found in the folder
  are placed back to back (a 3 March and a 6 March folder become days 0 and 1), and a VM
  missing on one of those days is inactive on it. :attr:`DayLayout.CALENDAR` places days on
  their calendar dates instead (days with no folder are inactive for everyone);
  :attr:`DayLayout.SEPARATE` makes every VM-day its own application ``<name>@<YYYYMMDD>``, all
  starting at the first date. Files not inside a ``YYYYMMDD`` folder are allowed only when
  they all sit in one folder (one day, starting at Unix time 0).
- **CPU**: ``percent / 100 * vcpus_per_vm`` vCPU; values above 100 are clipped to 100
  (``cpu_percent_clipped_to_100``); negative values are an error.
- **Memory, disk, network** are not in the trace. They are synthesised per tick by an affine
  rule of the CPU demand, ``base + per_vcpu * cpu_vcpu`` (set ``per_vcpu`` to 0 for a constant
  baseline), and reported as ``memory_synthesised``, ``disk_synthesised`` and
  ``network_synthesised`` (one count per sample).
- **Provisioned size**: ``vcpus_per_vm`` and each synthesised resource at full CPU.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, TraceFormatError
from shadowsim.workloads.repairs import RepairReport
from shadowsim.workloads.resample import Samples
from shadowsim.workloads.trace_config import TraceConfig, enum_member, positive_number
from shadowsim.workloads.trace_parsing import text_of
from shadowsim.workloads.trace_reader import TraceData, TraceReader, first_apps, list_trace_files

__all__ = ["DayLayout", "PlanetLabConfig", "PlanetLabReader"]

_DATE = re.compile(r"^\d{8}$")
_DAY_S = 86_400.0


class DayLayout(Enum):
    """How the day files of one VM name are laid out in time."""

    BACK_TO_BACK = "back_to_back"
    """One application per VM name; the dates found are placed one after another."""
    CALENDAR = "calendar"
    """One application per VM name; every day on its calendar date."""
    SEPARATE = "separate"
    """One application per VM-day (``<name>@<YYYYMMDD>``), all starting at the first date."""


@dataclass(frozen=True)
class PlanetLabConfig(TraceConfig):
    """Settings of :class:`PlanetLabReader` (and the shared ones of :class:`TraceConfig`).

    ``path`` is the ``planetlab`` folder (day sub-folders are searched recursively), one day
    folder, or one file.

    Attributes:
        vcpus_per_vm: Size of every VM, vCPU; 100 % CPU is this many busy vCPU.
        samples_per_file: Lines each file must have.
        sample_interval_s: Interval each line covers, s.
        day_layout: How days of the same VM are laid out (:class:`DayLayout`).
        memory_mib_base: Synthesised memory of an idle VM, MiB.
        memory_mib_per_vcpu: Synthesised memory added per busy vCPU, MiB.
        disk_kbps_base: Synthesised disk I/O of an idle VM, KB/s.
        disk_kbps_per_vcpu: Synthesised disk I/O added per busy vCPU, KB/s.
        network_kbps_base: Synthesised network traffic of an idle VM, KB/s.
        network_kbps_per_vcpu: Synthesised network traffic added per busy vCPU, KB/s.
    """

    vcpus_per_vm: float = 1.0
    samples_per_file: int = 288
    sample_interval_s: float = 300.0
    day_layout: DayLayout = DayLayout.BACK_TO_BACK
    memory_mib_base: float = 512.0
    memory_mib_per_vcpu: float = 1024.0
    disk_kbps_base: float = 20.0
    disk_kbps_per_vcpu: float = 200.0
    network_kbps_base: float = 10.0
    network_kbps_per_vcpu: float = 500.0

    def __post_init__(self) -> None:
        super().__post_init__()
        positive_number(self, "vcpus_per_vm")
        positive_number(self, "sample_interval_s")
        for key in ("memory", "disk", "network"):
            unit = "mib" if key == "memory" else "kbps"
            positive_number(self, f"{key}_{unit}_base", allow_zero=True)
            positive_number(self, f"{key}_{unit}_per_vcpu", allow_zero=True)
        n = self.samples_per_file
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError("samples_per_file", f"must be an integer >= 1, got {n!r}")
        object.__setattr__(
            self, "day_layout", enum_member(DayLayout, self.day_layout, "day_layout")
        )

    @property
    def synthesis(self) -> NDArray[np.float64]:
        """``(3, 2)`` (base, per vCPU) rows for memory (MiB), disk and network (KB/s)."""
        return np.array(
            [
                [self.memory_mib_base, self.memory_mib_per_vcpu],
                [self.disk_kbps_base, self.disk_kbps_per_vcpu],
                [self.network_kbps_base, self.network_kbps_per_vcpu],
            ]
        )


@dataclass(frozen=True)
class _DayFile:
    """One trace file: its VM name, application id, date (Unix s of midnight) and day rank."""

    path: Path
    vm: str
    day_s: float | None


class PlanetLabReader(TraceReader[PlanetLabConfig]):
    """Reads PlanetLab/CloudSim CPU files into a :class:`Workload` (see module doc)."""

    def read(self) -> TraceData:
        """Parse the day files into samples; memory, disk and network are synthesised."""
        cfg = self.config
        root = cfg.trace_path
        paths = list_trace_files(
            root, accept=lambda p: not p.suffix, recursive=True, what="files without extension"
        )
        files = _dated(root, paths)
        days = sorted({f.day_s for f in files if f.day_s is not None})
        first_day = days[0] if days else 0.0
        layout = cfg.day_layout

        def app_of(f: _DayFile) -> str:
            if layout is DayLayout.SEPARATE and f.day_s is not None:
                return f"{f.vm}@{datetime.fromtimestamp(f.day_s, UTC):%Y%m%d}"
            return f.vm

        def offset_of(f: _DayFile) -> float:
            if f.day_s is None or layout is DayLayout.SEPARATE:
                return first_day
            if layout is DayLayout.CALENDAR:
                return f.day_s
            day_length = cfg.samples_per_file * cfg.sample_interval_s
            return first_day + days.index(f.day_s) * max(day_length, _DAY_S)

        seen: dict[tuple[str, float | None], Path] = {}
        for f in files:
            key = (app_of(f), f.day_s)
            if key in seen:
                raise TraceFormatError(
                    f.path, f"VM {f.vm!r} has a second file for the same day: {seen[key]}"
                )
            seen[key] = f.path
        all_ids = {app_of(f) for f in files}
        ids = first_apps(list(all_ids), cfg.max_apps)
        index = {app: i for i, app in enumerate(ids)}
        chosen = [f for f in files if app_of(f) in index]
        n = cfg.samples_per_file
        percent = np.empty((len(chosen), n))
        for i, f in enumerate(chosen):
            percent[i] = _read_percent(f.path, n)
        repairs = RepairReport()
        app = np.array([index[app_of(f)] for f in chosen], dtype=np.intp)
        over = (percent > 100.0).sum(axis=1)
        repairs.add_counts(ids, app, over, "cpu_percent_clipped_to_100")
        cpu = np.minimum(percent, 100.0).ravel() / 100.0 * cfg.vcpus_per_vm
        synth = cfg.synthesis
        other = synth[:, 0] + cpu[:, None] * synth[:, 1]
        for name in ("memory_synthesised", "disk_synthesised", "network_synthesised"):
            repairs.add_counts(ids, app, np.full(app.size, n), name)
        offsets = np.array([offset_of(f) for f in chosen])
        time_s = (offsets[:, None] + np.arange(n) * cfg.sample_interval_s).ravel()
        capacity = np.tile(
            np.concatenate([[cfg.vcpus_per_vm], synth[:, 0] + cfg.vcpus_per_vm * synth[:, 1]]),
            (len(ids), 1),
        )
        samples = Samples(
            app=np.repeat(app, n),
            time_s=time_s,
            values=np.column_stack([cpu, other]),
            present=np.ones(time_s.size, dtype=np.bool_),
            file=np.repeat(np.arange(len(chosen), dtype=np.intp), n),
            line=np.tile(np.arange(1, n + 1, dtype=np.int64), len(chosen)),
            app_ids=tuple(ids),
            files=tuple(f.path for f in chosen),
            columns=("CPU %", "memory", "disk", "network"),
        )
        description = (
            f"planetlab:{root} ({len(ids)} of {len(all_ids)} apps from {len(chosen)} VM-day files, "
            f"{len(days) or 1} day(s), layout {layout.name}; memory/disk/network synthesised "
            f"from CPU)"
        )
        return TraceData(
            samples=samples, capacity=capacity, repairs=repairs, description=description
        )


def _dated(root: Path, paths: list[Path]) -> list[_DayFile]:
    """Attach to each file its date from the nearest ``YYYYMMDD`` folder (root included)."""
    out: list[_DayFile] = []
    for path in paths:
        inner = path.relative_to(root).parts[:-1]
        folders = [*reversed(inner), root.name] if path != root else [path.parent.name]
        day = next((d for d in map(_date_of, folders) if d is not None), None)
        out.append(_DayFile(path=path, vm=path.name, day_s=day))
    undated = [f for f in out if f.day_s is None]
    if undated and (len(undated) < len(out) or len({f.path.parent for f in undated}) > 1):
        raise TraceFormatError(
            undated[0].path,
            "cannot tell which day this file covers: put each day's files in a folder named "
            "YYYYMMDD (e.g. 20110303), or read a single folder",
        )
    return out


def _date_of(folder: str) -> float | None:
    """Unix time (s) of midnight UTC of a folder named ``YYYYMMDD``, else None."""
    if not _DATE.match(folder):
        return None
    try:
        return datetime.strptime(folder, "%Y%m%d").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _read_percent(path: Path, n: int) -> NDArray[np.float64]:
    """The ``n`` CPU percentages of one file.

    Raises:
        TraceFormatError: The file is empty, has another number of lines, or a line that is
            not one number >= 0.
    """
    lines = text_of(path).split("\n")
    if len(lines) != n:
        raise TraceFormatError(
            path,
            f"has {len(lines)} lines, expected {n} (one CPU % per interval); set "
            "samples_per_file if your files cover another length",
            line=min(len(lines), n + 1),
        )
    try:
        values = np.array(lines).astype(np.float64)
    except ValueError:
        values = np.full(n, np.nan)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        for k, text in enumerate(lines):
            try:
                value = float(text)
            except ValueError:
                value = float("nan")
            if not np.isfinite(value) or value < 0:
                what = "negative" if value < 0 else "not a number"
                raise TraceFormatError(
                    path,
                    f"{text.strip()!r} is {what}; each line must be one CPU utilisation in % "
                    "(0-100)",
                    line=k + 1,
                    column="CPU %",
                )
    return values
