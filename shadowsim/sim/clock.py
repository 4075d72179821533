"""The simulator's SimPy environment, with a cheap run to the next control tick.

``simpy.Environment.run(until=t)`` schedules an urgent stop event at ``t`` and leaves its
loop through an exception: a few microseconds per control tick. :meth:`ControlClock.run_to`
does the same thing directly: it processes every event scheduled before ``t`` (an event
at exactly ``t`` stays for the next run, as behind ``run``'s urgent stop event: events at
``t`` that would run before the stop can only be scheduled at time ``t`` itself), then sets
the clock to ``t``. Events are taken in the same order, so the simulation is the same.
:meth:`ControlClock.call_in` schedules a call the way a timeout with a callback does, in
the same queue and order, without the :class:`simpy.Timeout` object: the simulator schedules
its handlers (spares ready, moves, scaling landings: one per control tick) this way.
"""

from __future__ import annotations

from collections.abc import Callable
from heapq import heappush
from typing import Any, cast

import simpy
from simpy.events import NORMAL


class ScheduledCall:
    """An event that only carries a value to its callbacks (see :meth:`ControlClock.call_in`).

    It has what :meth:`simpy.Environment.step` reads of an event: ``callbacks`` and ``_ok``.

    Attributes:
        callbacks: Called with the event when it is processed.
        value: The value the callbacks read.
    """

    __slots__ = ("_ok", "callbacks", "value")

    def __init__(self, callback: Callable[[ScheduledCall], None], value: Any) -> None:
        self.callbacks: list[Callable[[ScheduledCall], None]] | None = [callback]
        self._ok = True
        self.value = value


class ControlClock(simpy.Environment):
    """A :class:`simpy.Environment` that also runs to a time cheaply (:meth:`run_to`)."""

    def run_to(self, at: float) -> None:
        """Process every event before ``at`` s, then set the clock to ``at``.

        The same as ``run(until=at)``.

        Raises:
            ValueError: When ``at`` is not after the current time.
        """
        if not at > self._now:
            raise ValueError(f"until ({at}) must be greater than the current simulation time")
        peek, step = self.peek, self.step
        while peek() < at:
            step()
        self._now = at

    def call_in(
        self, delay_s: float, callback: Callable[[ScheduledCall], None], value: Any
    ) -> None:
        """Call ``callback(event)`` (``event.value`` is ``value``) ``delay_s`` s from now.

        Scheduled and ordered exactly as ``timeout(delay_s, value)`` with ``callback``
        appended to its callbacks.

        Raises:
            ValueError: When ``delay_s`` is negative.
        """
        if delay_s < 0:
            raise ValueError(f"negative delay {delay_s}")
        # step() reads only what a ScheduledCall has of an event
        event = cast(simpy.Event, ScheduledCall(callback, value))
        heappush(self._queue, (self._now + delay_s, NORMAL, next(self._eid), event))
