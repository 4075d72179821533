"""ControlClock: run_to and call_in keep SimPy's order of events."""

from __future__ import annotations

import pytest

from shadowsim.sim.clock import ControlClock, ScheduledCall


def _schedule(env: ControlClock, light: bool, seen: list[tuple[float, str]]) -> None:
    """Timeouts with callbacks, some of them (when ``light``) as call_in, same delays."""

    def record(event: object) -> None:
        value = event.value  # type: ignore[attr-defined]
        seen.append((env.now, value))
        if value == "b":  # a callback that schedules more, at the same time and later
            env.timeout(0.0, "b0").callbacks.append(record)
            if light:
                env.call_in(5.0, record, "b5")
            else:
                env.timeout(5.0, "b5").callbacks.append(record)

    for delay, name in [(10.0, "a"), (5.0, "b"), (10.0, "c"), (0.0, "d"), (10.0, "e")]:
        if light and name in "ace":
            env.call_in(delay, record, name)
        else:
            env.timeout(delay, name).callbacks.append(record)


def test_call_in_is_ordered_as_a_timeout_with_a_callback() -> None:
    orders = []
    for light in (False, True):
        env = ControlClock()
        seen: list[tuple[float, str]] = []
        _schedule(env, light, seen)
        env.run_to(10.0)  # events at exactly 10 s stay for the next run
        before = list(seen)
        env.run_to(20.0)
        orders.append((before, seen))
    assert orders[0] == orders[1]
    before, seen = orders[1]
    assert [name for _, name in before] == ["d", "b", "b0"]
    assert [name for _, name in seen] == ["d", "b", "b0", "a", "c", "e", "b5"]


def test_call_in_rejects_a_negative_delay() -> None:
    with pytest.raises(ValueError, match="negative delay"):
        ControlClock().call_in(-1.0, lambda event: None, None)


def test_scheduled_call_carries_its_value() -> None:
    env = ControlClock()
    got: list[object] = []

    def keep(event: ScheduledCall) -> None:
        got.append(event.value)

    env.call_in(3.0, keep, {"batch": 1})
    env.run_to(4.0)
    assert got == [{"batch": 1}]
    assert env.now == 4.0
