"""Tests of the resampler, the gap policies and the shared trace config."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shadowsim.errors import ConfigError, TraceFormatError
from shadowsim.workloads.resample import GapPolicy, InactiveFill, Samples, resample
from shadowsim.workloads.trace_config import TraceConfig
from shadowsim.workloads.trace_reader import first_apps, list_trace_files, natural_key

I = 300.0  # noqa: E741 - the tick length of every test, s


def _samples(
    rows: list[tuple[int, float, float, bool]] | list[tuple[int, float, float]],
    n_apps: int = 1,
) -> Samples:
    """Samples of one value column from (app, time_s, value[, present]) rows, in that order."""
    app = np.array([r[0] for r in rows], dtype=np.intp)
    present = np.array([r[3] if len(r) > 3 else True for r in rows], dtype=bool)
    return Samples(
        app=app,
        time_s=np.array([r[1] for r in rows], dtype=np.float64),
        values=np.array([r[2] for r in rows], dtype=np.float64).reshape(-1, 1),
        present=present,
        file=np.zeros(len(rows), dtype=np.intp),
        line=np.arange(2, len(rows) + 2, dtype=np.int64),
        app_ids=tuple(f"a{i}" for i in range(n_apps)),
        files=(Path("trace.csv"),),
        columns=("usage",),
    )


def _series(
    values: list[float | None], t0: float = 3000.0, app: int = 0
) -> list[tuple[int, float, float]]:
    """Rows at t0 + k*I for the values that are not None (None: no row, a gap)."""
    return [(app, t0 + k * I, v) for k, v in enumerate(values) if v is not None]


def test_regular_samples_are_copied_without_repairs() -> None:
    grid = resample(_samples(_series([1.0, 2.0, 3.0])), interval_s=I)
    assert grid.values[0, :, 0].tolist() == [1.0, 2.0, 3.0]
    assert grid.active.all()
    assert grid.start_time_s == 3000.0
    assert not grid.repairs


def test_jitter_lands_in_the_right_tick_and_close_samples_are_averaged() -> None:
    rows = [(0, 3001.0, 1.0), (0, 3299.0, 3.0), (0, 3302.0, 5.0), (0, 3601.0, 7.0)]
    grid = resample(_samples(rows), interval_s=I)
    # 3001 -> tick 0; 3299 -> tick 0 too (same 300 s bin); 3302 -> tick 1; 3601 -> tick 2
    assert grid.values[0, :, 0].tolist() == [2.0, 5.0, 7.0]
    assert grid.repairs.totals == {"samples_averaged_in_tick": 1}


def test_unordered_and_duplicated_rows_are_sorted_and_merged_and_counted() -> None:
    rows = [(0, 3600.0, 3.0), (0, 3000.0, 1.0), (0, 3300.0, 2.0), (0, 3300.0, 4.0)]
    grid = resample(_samples(rows), interval_s=I)
    assert grid.values[0, :, 0].tolist() == [1.0, 3.0, 3.0]
    # the last three rows are each earlier than the first
    assert grid.repairs.totals == {"rows_out_of_order_sorted": 3, "duplicate_rows_merged": 1}


@pytest.mark.parametrize(
    ("policy", "expected", "kind"),
    [
        (GapPolicy.LINEAR, [1.0, 2.0, 3.0, 4.0], "gap_ticks_interpolated"),
        (GapPolicy.FORWARD_FILL, [1.0, 1.0, 1.0, 4.0], "gap_ticks_forward_filled"),
        (GapPolicy.ZERO, [1.0, 0.0, 0.0, 4.0], "gap_ticks_zero_filled"),
    ],
)
def test_short_gap_is_filled_by_the_policy(
    policy: GapPolicy, expected: list[float], kind: str
) -> None:
    grid = resample(
        _samples(_series([1.0, None, None, 4.0])), interval_s=I, gap_policy=policy, max_gap_s=600
    )
    assert grid.values[0, :, 0].tolist() == expected
    assert grid.active.all()
    assert grid.repairs.totals == {kind: 2}


@pytest.mark.parametrize(
    ("fill", "expected"),
    [
        (InactiveFill.ZERO, [1.0, 0.0, 0.0, 0.0, 5.0]),
        (InactiveFill.HOLD, [1.0, 1.0, 1.0, 1.0, 5.0]),
    ],
)
def test_long_gap_is_inactive_and_filled_by_the_inactive_rule(
    fill: InactiveFill, expected: list[float]
) -> None:
    samples = _samples(_series([1.0, None, None, None, 5.0]))
    grid = resample(samples, interval_s=I, max_gap_s=600, inactive_fill=fill)
    assert grid.active[0].tolist() == [True, False, False, False, True]
    assert grid.values[0, :, 0].tolist() == expected
    assert grid.repairs.totals == {"gap_ticks_inactive": 3}


def test_unprovisioned_rows_make_inactive_ticks_and_their_values_are_not_used() -> None:
    rows = [
        (0, 3000.0, 9.0, False),
        (0, 3300.0, 9.0, False),
        (0, 3600.0, 2.0, True),
        (0, 3600.0, 50.0, False),  # same time as a provisioned row: ignored
        (0, 3900.0, 4.0, True),
    ]
    grid = resample(_samples(rows), interval_s=I, inactive_fill=InactiveFill.HOLD)
    assert grid.active[0].tolist() == [False, False, True, True]
    assert grid.values[0, :, 0].tolist() == [2.0, 2.0, 2.0, 4.0]  # held from the first active
    assert grid.repairs.totals == {"duplicate_rows_merged": 1, "ticks_unprovisioned": 2}


def test_unprovisioned_sample_in_a_provisioned_tick_is_overruled_and_counted() -> None:
    rows = [(0, 3000.0, 1.0, True), (0, 3100.0, 7.0, False), (0, 3300.0, 2.0, True)]
    grid = resample(_samples(rows), interval_s=I)
    assert grid.values[0, :, 0].tolist() == [1.0, 2.0]
    assert grid.active.all()
    assert grid.repairs.totals == {"unprovisioned_samples_in_provisioned_tick": 1}


def test_gap_next_to_an_unprovisioned_stretch_is_not_interpolated() -> None:
    rows = [(0, 3000.0, 1.0, True), (0, 3600.0, 0.0, False), (0, 3900.0, 4.0, True)]
    grid = resample(_samples(rows), interval_s=I, max_gap_s=1e9)
    assert grid.active[0].tolist() == [True, False, False, True]
    assert grid.repairs.totals == {"gap_ticks_inactive": 1, "ticks_unprovisioned": 1}


def test_apps_share_one_grid_and_late_or_early_apps_are_inactive_outside_their_span() -> None:
    rows = _series([1.0, 2.0, 3.0, 4.0]) + _series([7.0, 8.0], t0=3600.0, app=1)
    grid = resample(_samples(rows, n_apps=2), interval_s=I)
    assert grid.values.shape == (2, 4, 1)
    assert grid.active[1].tolist() == [False, False, True, True]
    assert grid.values[1, :, 0].tolist() == [0.0, 0.0, 7.0, 8.0]
    assert grid.repairs.per_app["a1"] == {"ticks_before_first_sample": 2}
    rows = _series([1.0, 2.0, 3.0]) + _series([7.0], t0=3000.0, app=1)
    grid = resample(_samples(rows, n_apps=2), interval_s=I)
    assert grid.repairs.per_app["a1"] == {"ticks_after_last_sample": 2}


def test_missing_values_are_filled_within_their_active_stretch_and_counted() -> None:
    grid = resample(_samples(_series([1.0, np.nan, 3.0, np.nan])), interval_s=I)
    assert grid.values[0, :, 0].tolist() == [1.0, 2.0, 3.0, 3.0]
    assert grid.repairs.totals == {"missing_values_filled": 2}
    grid = resample(_samples(_series([np.nan, np.nan])), interval_s=I)
    assert grid.values[0, :, 0].tolist() == [0.0, 0.0]
    assert grid.repairs.totals == {"missing_values_filled": 2, "missing_values_zero_filled": 2}


def test_missing_values_do_not_borrow_across_an_inactive_stretch() -> None:
    rows = [(0, 3000.0, 5.0, True), (0, 3300.0, 0.0, False), (0, 3600.0, np.nan, True)]
    grid = resample(_samples(rows), interval_s=I)
    assert grid.values[0, :, 0].tolist() == [5.0, 0.0, 0.0]
    assert grid.repairs.per_app["a0"]["missing_values_zero_filled"] == 1


def test_error_policy_names_file_and_line_after_the_gap() -> None:
    with pytest.raises(TraceFormatError) as info:
        resample(_samples(_series([1.0, None, 3.0])), interval_s=I, gap_policy=GapPolicy.ERROR)
    message = str(info.value)
    assert "trace.csv, line 3" in message  # the second row (the first line is a header)
    assert "1 tick(s) of 300.0 s" in message
    assert "LINEAR" in message


def test_error_policy_names_the_column_of_a_missing_value() -> None:
    with pytest.raises(TraceFormatError, match=r"line 3, column 'usage': missing value"):
        resample(_samples(_series([1.0, np.nan])), interval_s=I, gap_policy=GapPolicy.ERROR)


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(ConfigError, match="interval_s"):
        resample(_samples(_series([1.0])), interval_s=0.0)
    with pytest.raises(TraceFormatError, match="no data rows"):
        resample(_samples([]), interval_s=I)
    with pytest.raises(TraceFormatError, match=r"line 3: timestamp nan is not a finite"):
        resample(_samples([(0, 0.0, 1.0), (0, np.nan, 1.0)]), interval_s=I)
    with pytest.raises(ConfigError, match="larger interval_s"):
        resample(_samples([(0, 0.0, 1.0), (0, 1e12, 1.0)]), interval_s=1.0)


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(st.floats(0.0, 1e6), min_size=2, max_size=40),
    drop=st.lists(st.booleans(), min_size=40, max_size=40),
    jitter=st.lists(st.floats(-100.0, 100.0), min_size=40, max_size=40),
)
def test_linear_fill_keeps_observed_ticks_and_stays_between_neighbours(
    values: list[float], drop: list[bool], jitter: list[float]
) -> None:
    drop = [False, *drop[1 : len(values) - 1], False]  # keep the first and last sample
    rows = [(0, 3150.0 + k * I + jitter[k], v) for k, v in enumerate(values) if not drop[k]]
    grid = resample(_samples(rows), interval_s=I, max_gap_s=np.inf)
    got = grid.values[0, :, 0]
    assert got.shape == (len(values),)
    assert grid.active.all()
    assert np.isfinite(got).all()
    for k, v in enumerate(values):
        if not drop[k]:
            assert got[k] == v
    assert (got >= min(values) - 1e-6).all()
    assert (got <= max(values) + 1e-6).all()
    filled = sum(drop)
    assert grid.repairs.totals.get("gap_ticks_interpolated", 0) == filled


def test_resampling_is_deterministic_and_does_not_modify_the_samples() -> None:
    samples = _samples([(0, 3000.0, 1.0), (0, 3900.0, np.nan), (0, 3300.0, 2.0)])
    before = samples.values.copy()
    a = resample(samples, interval_s=I)
    b = resample(samples, interval_s=I)
    assert np.array_equal(a.values, b.values)
    assert a.repairs.per_app == b.repairs.per_app
    assert np.array_equal(samples.values, before, equal_nan=True)


def test_trace_config_validates_and_converts_names() -> None:
    cfg = TraceConfig(path="x", gap_policy="forward_fill", inactive_fill="HOLD")  # type: ignore[arg-type]
    assert cfg.gap_policy is GapPolicy.FORWARD_FILL
    assert cfg.inactive_fill is InactiveFill.HOLD
    with pytest.raises(ConfigError, match=r"gap_policy.*Did you mean 'linear'"):
        TraceConfig(gap_policy="linaer")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="interval_s"):
        TraceConfig(interval_s=-5)
    with pytest.raises(ConfigError, match="max_gap_s"):
        TraceConfig(max_gap_s=float("nan"))
    with pytest.raises(ConfigError, match="max_apps"):
        TraceConfig(max_apps=0)
    assert TraceConfig(metadata={"seed": 3}).metadata.seed == 3  # type: ignore[arg-type]


def test_trace_path_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no trace given"):
        _ = TraceConfig().trace_path
    with pytest.raises(ConfigError, match="does not exist"):
        _ = TraceConfig(path=str(tmp_path / "nope")).trace_path


def test_file_listing_orders_naturally_and_rejects_empty_folders(tmp_path: Path) -> None:
    for name in ("10.csv", "2.csv", "1.csv", ".hidden.csv", "notes.txt"):
        (tmp_path / name).write_text("x\n")
    files = list_trace_files(
        tmp_path, accept=lambda p: p.suffix == ".csv", recursive=False, what="*.csv"
    )
    assert [p.name for p in files] == ["1.csv", "2.csv", "10.csv"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(
        TraceFormatError, match=r"empty: the folder holds no trace files \(\*\.csv\)"
    ):
        list_trace_files(empty, accept=lambda p: True, recursive=False, what="*.csv")
    assert sorted(["b10", "b9", "a"], key=natural_key) == ["a", "b9", "b10"]
    assert first_apps(["m_10", "m_2", "m_2", "m_1"], 2) == ["m_1", "m_2"]
