"""Tick-major demand made once and shared by every simulator replaying the same demand.

The kernels read demand tick by tick, ``(T, C, 4)``; a workload keeps it application by
application, ``(A, T, 4)``. The demand feed (:mod:`shadowsim.sim.demand`) converts one into
the other. When the workload's demand lies in a read-only array (a :class:`~shadowsim.
workloads.workload.Workload` makes the arrays it takes read-only, and its windows are views
of them) and the tick-major copy of that whole array takes at most
:data:`SHARED_LIMIT_BYTES`, the copy is made once and every feed over the array, or over a
window of it, hands out slices of it: a benchmark's repeated replays, an environment's
episodes and a sweep's runs convert the demand once instead of once per replay. Otherwise
(a writable array, which could change under a copy; a copy over the limit) each feed
converts its own chunks as it replays. A copy lives as long as the array it was made from,
and is read-only (as are the feed's blocks, shared or not).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

SHARED_LIMIT_BYTES = 256 * 2**20
"""Largest tick-major copy kept, bytes (applications x components per application x ticks
x 4 resources x 8 bytes): 256 MiB holds 1,000 single-component applications for 29 days of
5-minute ticks."""

Transpose = Callable[[F64, int, int], F64]
"""``(source (A, T, 4), start, stop) -> (stop - start, C, 4)`` component demand."""

_copies: dict[int, dict[tuple[str, bytes], F64]] = {}


def source_of(demand: F64) -> tuple[F64, int] | None:
    """The read-only array ``demand`` is (a window of), and the tick at which it starts.

    None when the array is writable, or when ``demand`` is not a window of whole
    applications of it (another selection of applications, another layout).
    """
    owner = demand
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    if (
        owner.flags.writeable
        or owner.dtype != np.float64
        or owner.ndim != 3
        or not owner.flags.c_contiguous
        or owner.shape[0] != demand.shape[0]
        or owner.shape[2] != demand.shape[2]
        or demand.strides != owner.strides
    ):
        return None
    gap = demand.__array_interface__["data"][0] - owner.__array_interface__["data"][0]
    step = owner.strides[1]
    start = gap // step
    if gap % step or not 0 <= start <= owner.shape[1] - demand.shape[1]:
        return None
    return owner, start


def shared_tick_major(
    demand: F64, shares: F64, kind: str, transpose: Transpose
) -> tuple[F64, int] | None:
    """The shared tick-major copy of the array under ``demand`` and where ``demand`` starts.

    Args:
        demand: ``(A, T, 4)`` application demand (a workload's, or a window of it).
        shares: ``(k,)`` share of each of an application's components.
        kind: Names the conversion (copies made by different conversions are kept apart).
        transpose: Makes the copy (called once per array, shares and kind).

    Returns:
        ``(copy, start)``: ``copy[start + t]`` is tick ``t`` of ``demand``, ``(C, 4)``
        (read-only); None when the copy cannot be shared (see the module docstring).
    """
    found = source_of(demand)
    if found is None:
        return None
    owner, start = found
    size = owner.shape[0] * shares.shape[0] * owner.shape[1] * owner.shape[2] * 8
    if size > SHARED_LIMIT_BYTES:
        return None
    copies = _copies.get(id(owner))
    if copies is None:
        copies = _copies[id(owner)] = {}
        weakref.finalize(owner, _copies.pop, id(owner), None)  # forget it with the array
    key = (kind, shares.tobytes())
    copy = copies.get(key)
    if copy is None:
        copy = copies[key] = transpose(owner, 0, owner.shape[1])
        copy.setflags(write=False)  # shared: nobody writes to it
    return copy, start
