"""The simulator's SimPy environment, with a cheap run to the next control tick.

``simpy.Environment.run(until=t)`` schedules an urgent stop event at ``t`` and leaves its
loop through an exception: a few microseconds per control tick. :meth:`ControlClock.run_to`
does the same thing directly: it processes every event scheduled before ``t`` (an event
at exactly ``t`` stays for the next run, as behind ``run``'s urgent stop event: events at
``t`` that would run before the stop can only be scheduled at time ``t`` itself), then sets
the clock to ``t``. Events are taken in the same order, so the simulation is the same.
"""

from __future__ import annotations

import simpy


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
