"""Durations and horizons: parsing, conversion to ticks, clear errors."""

from __future__ import annotations

import pytest

from shadowsim.errors import ConfigError
from shadowsim.shadow.horizon import format_duration, horizon_steps, parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5min", 300),
        ("1h", 3600),
        ("12h", 43200),
        ("1d", 86400),
        ("90s", 90),
        ("1w", 604800),
        (3600, 3600),
        (1.5, 1.5),
        ("600", 600),
        (" 2 H ", 7200),
        ("0.5h", 1800),
    ],
)
def test_parse_duration(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "interval", "steps"),
    [
        ("5min", 300, 1),
        ("1h", 300, 12),
        ("12h", 300, 144),
        ("1d", 300, 288),
        ("90s", 30, 3),
        (3600, 60, 60),
        ("1h", 3600.0, 1),
    ],
)
def test_horizon_steps(value: object, interval: float, steps: int) -> None:
    assert horizon_steps(value, interval) == steps


@pytest.mark.parametrize("value", ["", "abc", "1 fortnight", "-1h", "0", 0, -5, None, True, "1h30"])
def test_bad_duration_names_key_and_forms(value: object) -> None:
    with pytest.raises(ConfigError, match=r"config key 'forecast.horizon'.*(expected|> 0)"):
        parse_duration(value, key="forecast.horizon")


def test_horizon_not_whole_number_of_ticks() -> None:
    with pytest.raises(ConfigError, match="not a whole number"):
        horizon_steps("90s", 300, key="bench.horizons")
    with pytest.raises(ConfigError, match="interval"):
        horizon_steps("1h", 0)


def test_format_duration() -> None:
    assert [format_duration(s) for s in (300, 3600, 43200, 86400, 90)] == [
        "5min",
        "1h",
        "12h",
        "1d",
        "90s",
    ]
