"""Converting the columns of a tabular trace (CSV or Parquet) with located errors.

Every converter takes a pandas column and a :class:`RowLocator` that turns a row index into
an error message naming the file and the line (CSV, 1-based as an editor shows it) or the
row (Parquet, 1-based).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import NoReturn

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from shadowsim.errors import TraceFormatError, UnknownNameError
from shadowsim.workloads.workload import Priority

_ZONE = r"(?:Z|[+-]\d{2}(?::?\d{2})?)$"

__all__ = ["RowLocator", "TimeFormat", "constant_per_app", "numbers", "priorities", "seconds"]


class TimeFormat(Enum):
    """How the time column of a tabular trace is written."""

    AUTO = "auto"
    """Unix seconds if the first value is a number, else ISO 8601."""
    EPOCH_S = "epoch_s"
    """Unix seconds."""
    ISO8601 = "iso8601"
    """ISO 8601 date-times; without a zone they are UTC."""


@dataclass(frozen=True, eq=False)
class RowLocator:
    """Where the rows of one table are in its file.

    Attributes:
        path: The file.
        lines: ``(n_rows,)`` 1-based line (text) or row (Parquet) of each row.
        is_text: True for text files (the error names a line), False for Parquet (a row).
    """

    path: Path
    lines: NDArray[np.int64]
    is_text: bool

    def fail(self, row: int, column: str, message: str) -> NoReturn:
        """Raise a :class:`TraceFormatError` at ``row`` (0-based) and ``column``."""
        if self.is_text:
            raise TraceFormatError(self.path, message, line=int(self.lines[row]), column=column)
        raise TraceFormatError(self.path, f"row {int(self.lines[row])}: {message}", column=column)


def numbers(
    column: pd.Series,
    name: str,
    where: RowLocator,
    *,
    low: float = 0.0,
    low_open: bool = False,
    high: float | None = None,
) -> NDArray[np.float64]:
    """The column as finite floats in ``[low, high)`` (``(low, high)`` when ``low_open``).

    Raises:
        TraceFormatError: At the first empty, unparsable, infinite or out-of-range value.
    """
    values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i = int(np.argmax(bad))
        raw = column.iloc[i]
        what = "missing value" if pd.isna(raw) else f"{raw!r} is not a finite number"
        where.fail(i, name, what)
    below = values <= low if low_open else values < low
    if below.any():
        i = int(np.argmax(below))
        if low == 0.0 and not low_open:
            where.fail(i, name, f"negative value {values[i]}; usage cannot be negative")
        where.fail(i, name, f"value {values[i]} must be {'>' if low_open else '>='} {low}")
    if high is not None:
        above = values >= high
        if above.any():
            i = int(np.argmax(above))
            where.fail(i, name, f"value {values[i]} must be < {high}")
    return values


def seconds(
    column: pd.Series, name: str, fmt: TimeFormat, where: RowLocator
) -> NDArray[np.float64]:
    """The time column as Unix seconds (datetime, Unix-second numbers or ISO 8601 text).

    Raises:
        TraceFormatError: At the first time that does not parse in ``fmt``.
    """
    if pd.api.types.is_datetime64_any_dtype(column):
        stamps = pd.to_datetime(column, utc=True)
    elif fmt is not TimeFormat.ISO8601 and pd.api.types.is_numeric_dtype(column):
        return numbers(column, name, where, low=-np.inf)
    else:
        text = column.astype(str).str.strip()
        first_is_number = pd.notna(pd.to_numeric(text.iloc[:1], errors="coerce")).all()
        if fmt is TimeFormat.EPOCH_S or (fmt is TimeFormat.AUTO and first_is_number):
            return numbers(text, name, where, low=-np.inf)
        stamps = _iso8601(text)
    bad = stamps.isna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        where.fail(i, name, f"{column.iloc[i]!r} is not an ISO 8601 time (as the first row)")
    epoch = pd.Timestamp(0, tz="UTC")
    elapsed = (stamps - epoch) / pd.Timedelta(seconds=1)
    return np.asarray(elapsed.to_numpy(dtype=np.float64), dtype=np.float64)


def _iso8601(text: pd.Series) -> pd.Series:
    """ISO 8601 strings as UTC timestamps (NaT where unparsable); no zone means UTC.

    Strings with and without a zone are parsed apart: pandas would otherwise give the naive
    ones the offset of the zoned ones.
    """
    zoned = text.str.contains(_ZONE, regex=True).to_numpy()
    stamps = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, UTC]")
    for part in (zoned, ~zoned):
        if part.any():
            parsed = pd.to_datetime(text[part], format="ISO8601", utc=True, errors="coerce")
            stamps[part] = parsed
    return stamps


def priorities(column: pd.Series, name: str, where: RowLocator) -> NDArray[np.int8]:
    """The column as :class:`Priority` values: names in any case or their numbers.

    Raises:
        TraceFormatError: At the first value that names no priority class (with suggestions).
    """
    text = column.astype(str).str.strip()
    codes, uniques = pd.factorize(text)
    known = {p.name: p for p in Priority} | {str(int(p)): p for p in Priority}
    mapped = np.empty(len(uniques), dtype=np.int8)
    for k, value in enumerate(uniques):
        member = known.get(str(value).upper())
        if member is None:
            names = [p.name for p in Priority]
            unknown = UnknownNameError("priority class", str(value).upper(), names)
            where.fail(int(np.argmax(codes == k)), name, str(unknown))
        mapped[k] = member
    return mapped[codes]


def constant_per_app(
    values: NDArray[np.generic],
    app: NDArray[np.intp],
    n_apps: int,
    missing: float,
    fail: Callable[[int, str], NoReturn],
    show: Callable[[float], str] = lambda v: f"{v:g}",
) -> NDArray[np.float64]:
    """One value per application from per-row ``values`` that must agree within each app.

    Args:
        values: ``(n_rows,)`` values.
        app: ``(n_rows,)`` application index of each row.
        n_apps: Number of applications.
        missing: Value of an application without rows.
        fail: Called with (row, message) at the first row that disagrees with the first row
            of its application; must raise.
        show: How a value is written in the message.

    Returns:
        ``(n_apps,)`` the value of each application's first row.
    """
    out = np.full(n_apps, missing, dtype=np.float64)
    if app.size == 0:
        return out
    order = np.argsort(app, kind="stable")
    first_of_run = np.ones(order.size, dtype=bool)
    first_of_run[1:] = app[order][1:] != app[order][:-1]
    first_row = np.full(n_apps, -1, dtype=np.intp)
    first_row[app[order][first_of_run]] = order[first_of_run]
    reference = values[first_row[app]]
    differ = values != reference
    if differ.any():
        i = int(np.argmax(differ))
        fail(
            i,
            f"value {show(float(values[i]))} differs from {show(float(reference[i]))} on an "
            "earlier row of the same application; it must be the same on every row of an app",
        )
    has = first_row >= 0
    out[has] = values[first_row[has]].astype(np.float64)
    return out
