"""Parsing delimited text traces fast, with errors that name the file, line and column.

:func:`read_delimited` parses a whole file with pandas' C parser. Only when that fails, or
the result has a hole where a value is required, does it scan the text line by line to find
the first bad cell and raise a :class:`~shadowsim.errors.TraceFormatError` naming its
1-based line (as a text editor shows it) and column. Trailing empty lines are ignored; an
empty line in the middle of the data is an error.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from shadowsim.errors import TraceFormatError

__all__ = [
    "CellKind",
    "Column",
    "Table",
    "first_true",
    "read_delimited",
    "read_header",
    "reject_negative",
    "text_of",
]


class CellKind(Enum):
    """What a column's cells must hold."""

    NUMBER = "number"
    """A finite number (plain or scientific notation)."""
    OPTIONAL_NUMBER = "optional_number"
    """A finite number, or empty (read as NaN)."""
    TEXT = "text"
    """Non-empty text (an id, an ISO 8601 time)."""
    IGNORED = "ignored"
    """Anything; the column is not read."""


@dataclass(frozen=True)
class Column:
    """One column of a delimited file: its name (for messages and the frame) and kind."""

    name: str
    kind: CellKind = CellKind.NUMBER


@dataclass(frozen=True, eq=False)
class Table:
    """A parsed file.

    Attributes:
        frame: One column per non-ignored :class:`Column`, float64 for numbers, str for text.
        line: ``(n_rows,)`` 1-based line of each row in the file.
    """

    frame: pd.DataFrame
    line: NDArray[np.int64]


def text_of(path: Path) -> str:
    """The text of ``path`` (UTF-8), with trailing empty lines removed.

    Raises:
        TraceFormatError: The file cannot be read, is not UTF-8 text, or is empty.
    """
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise TraceFormatError(path, f"cannot read the file: {err.strerror}") from err
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise TraceFormatError(
            path, "is not UTF-8 text (is it a compressed or binary file?)", line=line
        ) from err
    text = text.rstrip("\r\n\t ")
    if not text:
        raise TraceFormatError(path, "the file is empty; expected trace rows")
    return text


def read_header(path: Path, text: str, sep: str) -> list[str]:
    """The header fields of ``text`` (the first line), stripped of surrounding spaces."""
    first = text.split("\n", 1)[0].rstrip("\r")
    return [field.strip() for field in first.split(sep)]


def read_delimited(
    path: Path,
    text: str,
    columns: Sequence[Column],
    *,
    sep: str,
    has_header: bool,
    quoted: bool = False,
) -> Table:
    """Parse delimited ``text`` (from :func:`text_of`) whose rows have exactly ``columns``.

    Args:
        path: The file, for messages.
        text: Its text without trailing empty lines.
        columns: Every column of a row, in order.
        sep: The one-character field separator.
        has_header: Whether line 1 is a header (it is skipped, not checked).
        quoted: Whether fields may be quoted with ``"`` (then ``sep`` may occur inside quotes).

    Returns:
        The :class:`Table`.

    Raises:
        TraceFormatError: A header without data rows, a row with the wrong number of fields,
            an empty line, a missing value, or a cell that is not a finite number.
    """
    lines = text.split("\n")
    first = 2 if has_header else 1
    n_rows = len(lines) - (first - 1)
    if n_rows <= 0:
        raise TraceFormatError(path, "the file has a header but no data rows", line=1)
    used = [i for i, c in enumerate(columns) if c.kind is not CellKind.IGNORED]
    kinds = [columns[i].kind for i in used]
    dtype: dict[int, type] = {
        i: (str if columns[i].kind is CellKind.TEXT else np.float64) for i in used
    }
    frame: pd.DataFrame | None = None
    if quoted or text.count(sep) == (len(columns) - 1) * len(lines):
        try:
            frame = pd.read_csv(
                io.StringIO(text),
                sep=sep,
                header=None,
                names=list(range(len(columns))),
                usecols=used,
                dtype=dtype,
                skiprows=first - 1,
                skip_blank_lines=False,
                keep_default_na=False,
                na_values=[""],
                quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE,
                engine="c",
            )
        except (ValueError, pd.errors.ParserError) as err:
            _scan(path, lines, columns, sep, quoted, first)
            raise TraceFormatError(path, f"cannot parse the file: {err}") from err
    if frame is None or len(frame) != n_rows or not _complete(frame, used, kinds):
        _scan(path, lines, columns, sep, quoted, first)
        raise TraceFormatError(
            path,
            f"cannot parse the rows as {len(columns)} fields separated by {sep!r} although "
            "each line has them; look for NUL bytes or other control characters",
        )
    frame.columns = pd.Index([columns[i].name for i in used])
    return Table(frame=frame, line=np.arange(first, first + n_rows, dtype=np.int64))


def _complete(frame: pd.DataFrame, used: list[int], kinds: list[CellKind]) -> bool:
    """True when no required cell is empty and no number is infinite."""
    for i, kind in zip(used, kinds, strict=True):
        col = frame[i]
        if kind is CellKind.TEXT:
            if col.isna().any():
                return False
            continue
        values = col.to_numpy(dtype=np.float64)
        if np.isinf(values).any():
            return False
        if kind is CellKind.NUMBER and np.isnan(values).any():
            return False
    return True


def _scan(
    path: Path,
    lines: list[str],
    columns: Sequence[Column],
    sep: str,
    quoted: bool,
    first: int,
) -> None:
    """Raise a :class:`TraceFormatError` at the first bad line or cell, if there is one."""
    n = len(columns)
    quoting: Literal[0, 3] = csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
    for offset, raw in enumerate(lines[first - 1 :]):
        line_no = first + offset
        text = raw.rstrip("\r")
        if not text.strip():
            raise TraceFormatError(path, "empty line inside the data; remove it", line=line_no)
        try:
            fields = next(csv.reader([text], delimiter=sep, quoting=quoting))
        except csv.Error as err:
            raise TraceFormatError(
                path,
                f"cannot split the line into fields: {err}; look for a stray carriage return "
                "or quote character inside the line",
                line=line_no,
            ) from err
        if len(fields) != n:
            names = ", ".join(c.name for c in columns)
            raise TraceFormatError(
                path,
                f"has {len(fields)} fields separated by {sep!r}, expected {n} ({names})",
                line=line_no,
            )
        for column, cell in zip(columns, fields, strict=True):
            _check_cell(path, line_no, column, cell.strip())


def _check_cell(path: Path, line_no: int, column: Column, cell: str) -> None:
    """Raise if ``cell`` does not fit ``column.kind``."""
    if column.kind is CellKind.IGNORED:
        return
    if not cell:
        if column.kind is CellKind.OPTIONAL_NUMBER:
            return
        raise TraceFormatError(
            path,
            "missing value (empty field); every row needs one",
            line=line_no,
            column=column.name,
        )
    if column.kind is CellKind.TEXT:
        return
    if "_" in cell or not cell.isascii():  # float() takes "1_000" and other digits; readers do not
        raise TraceFormatError(
            path,
            f"{cell!r} is not a plain decimal number (digits 0-9, '.', 'e', a sign)",
            line=line_no,
            column=column.name,
        )
    try:
        number = float(cell)
    except ValueError:
        raise TraceFormatError(
            path, f"{cell!r} is not a number", line=line_no, column=column.name
        ) from None
    if not math.isfinite(number):
        raise TraceFormatError(
            path, f"{cell!r} is not a finite number", line=line_no, column=column.name
        )


def first_true(mask: NDArray[np.bool_]) -> int | None:
    """Index of the first True in ``mask``, or None."""
    hits = np.flatnonzero(mask)
    return int(hits[0]) if hits.size else None


def reject_negative(
    path: Path, frame: pd.DataFrame, columns: Sequence[str], line: NDArray[np.int64]
) -> None:
    """Raise at the first row (smallest line) with a negative value in one of ``columns``.

    Raises:
        TraceFormatError: Naming the file, line and column of the negative value.
    """
    hits = [(first_true(frame[c].to_numpy(dtype=np.float64) < 0), c) for c in columns]
    found = [(row, c) for row, c in hits if row is not None]
    if found:
        row, name = min(found)
        raise TraceFormatError(
            path,
            f"negative value {frame[name].iloc[row]}; resource usage cannot be negative",
            line=int(line[row]),
            column=name,
        )
