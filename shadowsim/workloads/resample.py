"""Resampling irregular per-application samples onto a regular grid, counting every repair.

Every real-trace reader turns its rows into :class:`Samples` (application, time, values,
whether the application was provisioned at that instant, and where each row came from) and
calls :func:`resample`. The rules, applied in this order:

1. **Order.** Rows are sorted by (application, time). A row whose time is earlier than a row
   before it in the file (same application) counts as ``rows_out_of_order_sorted``.
2. **Duplicates.** Rows with the same application and time are merged into one sample: the
   mean of the provisioned rows (rows of an unprovisioned VM only count when no provisioned
   row shares the time). Each row merged away counts as ``duplicate_rows_merged``.
3. **Binning.** Tick ``k`` covers ``[start_time_s + k * interval_s, start_time_s + (k + 1) *
   interval_s)``, where ``start_time_s`` is the earliest sample time rounded down to a whole
   multiple of ``interval_s``; all applications share this grid. A tick's value is the mean of
   the samples that fall in it (missing values ignored). Samples beyond the first in one tick
   count as ``samples_averaged_in_tick`` (jittered timestamps, or a finer native interval).
   A tick with both provisioned and unprovisioned samples is provisioned; the latter count
   as ``unprovisioned_samples_in_provisioned_tick``.
4. **Inactive ticks** (``Workload.active`` False) are ticks before an application's first or
   after its last sample (``ticks_before_first_sample``, ``ticks_after_last_sample``), ticks
   whose samples all say the VM was not provisioned (``ticks_unprovisioned``) and gaps that are
   not filled (``gap_ticks_inactive``, see 5). Their values are filled by
   :class:`InactiveFill`; forecasters and KPIs must ignore them through the mask.
5. **Gaps** are runs of ticks without samples inside an application's span. A gap is filled by
   the :class:`GapPolicy` (and stays active) when it lies between two provisioned ticks and
   ``n_empty_ticks * interval_s <= max_gap_s``; otherwise it is inactive. Filled ticks count
   as ``gap_ticks_interpolated``, ``gap_ticks_forward_filled`` or ``gap_ticks_zero_filled``.
   ``GapPolicy.ERROR`` raises on the first gap of any length instead.
6. **Missing values** (NaN in one resource of an active tick: an empty field, an abnormal
   marker the reader removed) are filled along the same resource by the same policy, using
   only ticks of the same active stretch, and count as ``missing_values_filled``; where the
   stretch has no known value of that resource at all they become 0 and count as
   ``missing_values_zero_filled``.

All steps are vectorised with numpy: one sort, ``reduceat`` group means, and running
maximum/minimum scans for the gap neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, TraceFormatError
from shadowsim.workloads.repairs import RepairReport
from shadowsim.workloads.tick_fill import GapPolicy, InactiveFill, fill_along_ticks
from shadowsim.workloads.workload import WorkloadError

__all__ = ["GapPolicy", "InactiveFill", "ResampledGrid", "Samples", "resample"]

MAX_GRID_CELLS = 200_000_000
"""Largest ``n_apps * n_ticks * n_values`` grid :func:`resample` builds (1.6 GB of float64)."""

_EMPTY, _ABSENT, _PRESENT = np.int8(0), np.int8(1), np.int8(2)


@dataclass(frozen=True, eq=False)
class Samples:
    """Irregular samples of several applications, in file order, as a reader produced them.

    Attributes:
        app: ``(n,)`` index into ``app_ids`` of each row.
        time_s: ``(n,)`` time of each row, s (Unix time, or s since trace start).
        values: ``(n, k)`` values in shadowsim units; NaN marks a missing value.
        present: ``(n,)`` False where the row says the VM was not provisioned (its values are
            ignored and the tick becomes inactive).
        file: ``(n,)`` index into ``files`` of the file each row came from.
        line: ``(n,)`` 1-based line (or row) of each row in its file, for error messages.
        app_ids: One id per application.
        files: The trace files.
        columns: One name per value column, as the trace calls it, for error messages.
    """

    app: NDArray[np.intp]
    time_s: NDArray[np.float64]
    values: NDArray[np.float64]
    present: NDArray[np.bool_]
    file: NDArray[np.intp]
    line: NDArray[np.int64]
    app_ids: tuple[str, ...]
    files: tuple[Path, ...]
    columns: tuple[str, ...]

    def __post_init__(self) -> None:
        n = self.time_s.shape[0]
        shapes = {
            "app": self.app.shape,
            "present": self.present.shape,
            "file": self.file.shape,
            "line": self.line.shape,
            "values": self.values.shape[:1],
        }
        for name, shape in shapes.items():
            if shape != (n,):
                raise WorkloadError(f"Samples.{name} must have {n} rows, got shape {shape}")
        if self.values.ndim != 2 or self.values.shape[1] != len(self.columns):
            raise WorkloadError(
                f"Samples.values must have shape (n, {len(self.columns)}), got {self.values.shape}"
            )


@dataclass(frozen=True, eq=False)
class ResampledGrid:
    """Samples on a regular grid.

    Attributes:
        values: ``(n_apps, n_ticks, k)`` values, finite everywhere.
        active: ``(n_apps, n_ticks)`` True where the application was provisioned and observed
            (or inside a filled short gap).
        start_time_s: Time of the start of tick 0, s.
        interval_s: Tick length, s.
        repairs: Every repair made, per application.
    """

    values: NDArray[np.float64]
    active: NDArray[np.bool_]
    start_time_s: float
    interval_s: float
    repairs: RepairReport = field(default_factory=RepairReport)


def resample(
    samples: Samples,
    *,
    interval_s: float,
    gap_policy: GapPolicy = GapPolicy.LINEAR,
    max_gap_s: float = 1800.0,
    inactive_fill: InactiveFill = InactiveFill.ZERO,
) -> ResampledGrid:
    """Put ``samples`` onto a regular grid of ``interval_s`` by the rules of this module.

    Args:
        samples: The rows of every application.
        interval_s: Tick length, s, > 0.
        gap_policy: How short gaps and missing values are filled.
        max_gap_s: Longest gap, s, that is filled; longer gaps become inactive.
        inactive_fill: What inactive ticks are filled with.

    Returns:
        The :class:`ResampledGrid`.

    Raises:
        TraceFormatError: A time is not finite, there are no samples, or ``GapPolicy.ERROR``
            met a gap or a missing value (the message names file, line and column).
        ConfigError: The grid would be too large for ``interval_s``.
    """
    if not np.isfinite(interval_s) or interval_s <= 0:
        raise ConfigError("interval_s", f"must be a finite time > 0 s, got {interval_s}")
    n_apps, k = len(samples.app_ids), len(samples.columns)
    report = RepairReport()
    if samples.time_s.size == 0:
        where = samples.files[0] if samples.files else Path(".")
        raise TraceFormatError(where, "the trace has no data rows; nothing to resample")
    bad = ~np.isfinite(samples.time_s)
    if bad.any():
        i = int(np.argmax(bad))
        raise TraceFormatError(
            samples.files[samples.file[i]],
            f"timestamp {samples.time_s[i]} is not a finite number of seconds",
            line=int(samples.line[i]),
        )
    _count_out_of_order(samples, report)
    u_app, u_time, u_vals, u_present, u_file, u_line = _merge_duplicates(samples, report)

    start_tick = int(np.floor(u_time.min() / interval_s))
    tick = np.floor(u_time / interval_s).astype(np.int64) - start_tick
    n_ticks = int(tick.max()) + 1
    if n_apps * n_ticks * max(k, 1) > MAX_GRID_CELLS:
        raise ConfigError(
            "interval_s",
            f"the trace spans {n_ticks} ticks of {interval_s} s for {n_apps} apps, more than "
            f"{MAX_GRID_CELLS} grid cells; use a larger interval_s or fewer apps (max_apps)",
        )
    starts = _group_starts(u_app, tick)
    present_per_bin = np.add.reduceat(u_present.astype(np.int64), starts)
    extra = np.maximum(present_per_bin - 1, 0)
    report.add_counts(samples.app_ids, u_app[starts], extra, "samples_averaged_in_tick")
    per_bin = np.diff(np.append(starts, u_app.size))
    overruled = np.where(present_per_bin > 0, per_bin - present_per_bin, 0)
    report.add_counts(
        samples.app_ids, u_app[starts], overruled, "unprovisioned_samples_in_provisioned_tick"
    )
    means = _group_mean(u_vals, u_present, starts)

    b_app, b_tick = u_app[starts], tick[starts]
    values = np.full((n_apps, n_ticks, k), np.nan)
    state = np.zeros((n_apps, n_ticks), dtype=np.int8)
    where_line = np.zeros((n_apps, n_ticks), dtype=np.int64)
    where_file = np.zeros((n_apps, n_ticks), dtype=np.intp)
    values[b_app, b_tick] = means
    state[b_app, b_tick] = np.where(present_per_bin > 0, _PRESENT, _ABSENT)
    # the first row of each tick locates it in the file (the earliest sample of the tick)
    where_line[b_app, b_tick] = u_line[starts]
    where_file[b_app, b_tick] = u_file[starts]

    active = _classify_ticks(
        state, interval_s, max_gap_s, gap_policy, report, samples, where_file, where_line
    )
    present_tick = state == _PRESENT
    values[~present_tick] = np.nan
    missing = active[..., None] & present_tick[..., None] & np.isnan(values)
    if gap_policy is GapPolicy.ERROR and missing.any():
        app, t, col = (int(x) for x in np.argwhere(missing)[0])
        raise TraceFormatError(
            samples.files[where_file[app, t]],
            f"missing value for app {samples.app_ids[app]!r}; gap_policy ERROR forbids "
            "missing values: fix the trace or choose LINEAR, FORWARD_FILL or ZERO",
            line=int(where_line[app, t]),
            column=samples.columns[col],
        )
    apps = np.arange(n_apps)
    report.add_counts(samples.app_ids, apps, missing.sum(axis=(1, 2)), "missing_values_filled")
    for col in range(k):
        zero_filled = fill_along_ticks(values[..., col], active, gap_policy, inactive_fill)
        report.add_counts(
            samples.app_ids, apps, zero_filled.sum(axis=1), "missing_values_zero_filled"
        )
    return ResampledGrid(
        values=values,
        active=active,
        start_time_s=float(start_tick * interval_s),
        interval_s=float(interval_s),
        repairs=report,
    )


def _count_out_of_order(samples: Samples, report: RepairReport) -> None:
    """Count rows earlier than a previous row of the same application, in file order."""
    times = pd.Series(samples.time_s)
    apps = pd.Series(samples.app)
    running_max = times.groupby(apps).cummax()
    previous_max = running_max.groupby(apps).shift(1)
    late = (times < previous_max).to_numpy()
    counts = np.bincount(samples.app[late], minlength=len(samples.app_ids))
    report.add_counts(
        samples.app_ids, np.arange(len(samples.app_ids)), counts, "rows_out_of_order_sorted"
    )


def _merge_duplicates(
    samples: Samples, report: RepairReport
) -> tuple[
    NDArray[np.intp],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.bool_],
    NDArray[np.intp],
    NDArray[np.int64],
]:
    """Sort rows by (app, time, line) and merge rows with equal (app, time)."""
    order = np.lexsort((samples.line, samples.time_s, samples.app))
    app, time_s = samples.app[order], samples.time_s[order]
    starts = _group_starts(app, time_s)
    merged = np.diff(np.append(starts, app.size)) - 1
    report.add_counts(samples.app_ids, app[starts], merged, "duplicate_rows_merged")
    present = samples.present[order]
    values = _group_mean(samples.values[order], present, starts)
    any_present = np.logical_or.reduceat(present, starts)
    return (
        app[starts],
        time_s[starts],
        values,
        any_present,
        samples.file[order][starts],
        samples.line[order][starts],
    )


def _group_starts(keys_a: NDArray[np.intp], keys_b: NDArray[np.generic]) -> NDArray[np.intp]:
    """Start index of each run of equal (a, b) in arrays sorted by (a, b)."""
    change = np.ones(keys_a.size, dtype=bool)
    change[1:] = (keys_a[1:] != keys_a[:-1]) | (keys_b[1:] != keys_b[:-1])
    return np.flatnonzero(change)


def _group_mean(
    values: NDArray[np.float64], present: NDArray[np.bool_], starts: NDArray[np.intp]
) -> NDArray[np.float64]:
    """Per group of rows, the mean of the known values of its provisioned rows, else NaN."""
    if starts.size == present.size:  # one row per group: nothing to average
        return np.where(present[:, None], values, np.nan)
    use = ~np.isnan(values) & present[:, None]
    total = np.add.reduceat(np.where(use, values, 0.0), starts, axis=0)
    count = np.add.reduceat(use.astype(np.int64), starts, axis=0)
    out = np.full(total.shape, np.nan)
    np.divide(total, count, out=out, where=count > 0)
    return out


def _classify_ticks(
    state: NDArray[np.int8],
    interval_s: float,
    max_gap_s: float,
    gap_policy: GapPolicy,
    report: RepairReport,
    samples: Samples,
    where_file: NDArray[np.intp],
    where_line: NDArray[np.int64],
) -> NDArray[np.bool_]:
    """Decide which ticks are active; count inactive and filled ticks (rules 4 and 5)."""
    n_apps, n_ticks = state.shape
    idx = np.broadcast_to(np.arange(n_ticks), state.shape)
    seen = state != _EMPTY
    prev = np.maximum.accumulate(np.where(seen, idx, -1), axis=1)
    nxt = np.flip(np.minimum.accumulate(np.flip(np.where(seen, idx, n_ticks), 1), axis=1), 1)
    before, after = prev < 0, nxt >= n_ticks
    gap = ~seen & ~before & ~after
    if gap_policy is GapPolicy.ERROR and gap.any():
        app, t = (int(x) for x in np.argwhere(gap)[0])
        p, q = int(prev[app, t]), int(nxt[app, t])
        raise TraceFormatError(
            samples.files[where_file[app, q]],
            f"app {samples.app_ids[app]!r} has no sample in {q - p - 1} tick(s) of {interval_s} s "
            f"before this line; gap_policy ERROR forbids gaps: choose LINEAR, FORWARD_FILL or "
            "ZERO (gaps longer than max_gap_s then become inactive)",
            line=int(where_line[app, q]),
        )
    rows = np.arange(n_apps)[:, None]
    p_ok = np.where(gap, state[rows, np.clip(prev, 0, None)] == _PRESENT, False)
    n_ok = np.where(gap, state[rows, np.clip(nxt, None, n_ticks - 1)] == _PRESENT, False)
    short = (nxt - prev - 1) * interval_s <= max_gap_s
    fillable = gap & p_ok & n_ok & short
    apps = np.arange(n_apps)
    ids = samples.app_ids
    report.add_counts(ids, apps, before.sum(axis=1), "ticks_before_first_sample")
    report.add_counts(ids, apps, after.sum(axis=1), "ticks_after_last_sample")
    report.add_counts(ids, apps, (state == _ABSENT).sum(axis=1), "ticks_unprovisioned")
    report.add_counts(ids, apps, (gap & ~fillable).sum(axis=1), "gap_ticks_inactive")
    report.add_counts(ids, apps, fillable.sum(axis=1), gap_policy.repair_kind)
    return np.asarray((state == _PRESENT) | fillable, dtype=np.bool_)
