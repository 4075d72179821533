"""Clocks the live adapter waits on between control ticks.

Backend time starts at 0 when the backend is built. :class:`WallClock` follows real time
(``time.monotonic``) and sleeps; :class:`ManualClock` jumps to the requested time at once,
for tests and dry runs. Usage rates are always measured over the real time between two
readings of libvirt's counters (see :mod:`shadowsim.live.usage_meter`), whatever the clock.
"""

from __future__ import annotations

import time
from typing import Protocol

from shadowsim.live.config import ClockKind


class Clock(Protocol):
    """Backend time since start, s, and a way to wait for a later time."""

    def now_s(self) -> float:
        """Time since the backend started, s."""
        ...

    def sleep_until(self, time_s: float) -> None:
        """Return once :meth:`now_s` has reached ``time_s`` (at once if it has already)."""
        ...


class WallClock:
    """Real time since construction; :meth:`sleep_until` sleeps."""

    def __init__(self) -> None:
        self._origin = time.monotonic()

    def now_s(self) -> float:
        """Seconds since construction (monotonic)."""
        return time.monotonic() - self._origin

    def sleep_until(self, time_s: float) -> None:
        """Sleep until ``time_s`` (no-op when it is past)."""
        while (left := time_s - self.now_s()) > 0:
            time.sleep(left)


class ManualClock:
    """A clock that only moves when asked: :meth:`sleep_until` jumps to the time at once.

    Args:
        start_s: Initial time, s.
    """

    def __init__(self, start_s: float = 0.0) -> None:
        self._now = float(start_s)

    def now_s(self) -> float:
        """The current manual time, s."""
        return self._now

    def sleep_until(self, time_s: float) -> None:
        """Jump to ``time_s`` when it is later than now."""
        self._now = max(self._now, float(time_s))


def make_clock(kind: ClockKind) -> Clock:
    """A fresh clock of ``kind``."""
    match kind:
        case ClockKind.WALL:
            return WallClock()
        case ClockKind.MANUAL:
            return ManualClock()
