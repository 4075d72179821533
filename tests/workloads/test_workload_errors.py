"""Every bad-input error of shadowsim/workloads names the file, line, field or config key.

Each test reaches its error the way a user would: building a config or a Workload, or
loading a trace file written here in the real format.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shadowsim.errors import ConfigError, TraceFormatError
from shadowsim.workloads.bitbrains import BITBRAINS_HEADER, BitbrainsConfig, BitbrainsReader
from shadowsim.workloads.loading import load_workload
from shadowsim.workloads.resample import Samples
from shadowsim.workloads.synthetic import SyntheticConfig
from shadowsim.workloads.tabular import TabularConfig, TabularReader
from shadowsim.workloads.workload import Workload, WorkloadError

T0 = 1375308176  # a Bitbrains timestamp (Unix s)
BB_HEADER = ";\t".join(BITBRAINS_HEADER)
TAB_HEADER = "app,timestamp,cpu,memory,disk,network"


def _bb_row(t: float, mhz: str = "1000.0") -> str:
    fields = [t, 2, 5851.9989, mhz, 17.1, 8388608.0, 1048576.0, 1.0, 2.0, 10.0, 20.0]
    return ";\t".join(str(f) for f in fields)


def _bb_write(folder: Path, name: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([BB_HEADER, *rows]) + "\n")
    return path


def _bb_load(path: Path, **kw: object) -> Workload:
    return BitbrainsReader(BitbrainsConfig(path=str(path), **kw)).load()  # type: ignore[arg-type]


def _tab_load(path: Path, **kw: object) -> Workload:
    return TabularReader(TabularConfig(path=str(path), **kw)).load()  # type: ignore[arg-type]


def _workload(**kw: object) -> Workload:
    """A valid 2-app, 3-tick workload with the given fields replaced."""
    fields: dict[str, object] = {
        "demand": np.ones((2, 3, 4)),
        "interval_s": 300.0,
        "app_ids": ("a", "b"),
        "priority": np.zeros(2, dtype=np.int8),
        "sla_response_s": np.full(2, 0.5),
        "sla_max_error_rate": np.full(2, 0.01),
    }
    fields.update(kw)
    return Workload(**fields)  # type: ignore[arg-type]


# --- Workload -----------------------------------------------------------------------------


def test_valid_workload_builds() -> None:
    assert _workload().demand.shape == (2, 3, 4)  # the base of the cases below is valid


def test_demand_must_be_apps_by_ticks_by_resources() -> None:
    with pytest.raises(WorkloadError, match=r"demand must have shape \(n_apps, n_ticks, 4\)"):
        _workload(demand=np.ones((2, 3)))
    with pytest.raises(WorkloadError, match=r"got \(2, 3, 3\)"):
        _workload(demand=np.ones((2, 3, 3)))


def test_empty_workload_names_its_source() -> None:
    with pytest.raises(WorkloadError, match=r"workload from my-trace is empty: shape \(0, 3, 4\)"):
        _workload(demand=np.ones((0, 3, 4)), app_ids=(), source="my-trace")


def test_non_finite_demand_names_app_tick_and_resource() -> None:
    demand = np.ones((2, 3, 4))
    demand[1, 2, 1] = np.nan
    with pytest.raises(
        WorkloadError, match=r"demand of app 'b' at tick 2 for MEMORY is not finite; fill gaps"
    ):
        _workload(demand=demand)


def test_negative_demand_names_app_tick_and_resource() -> None:
    demand = np.ones((2, 3, 4))
    demand[0, 1, 3] = -5.0
    with pytest.raises(
        WorkloadError, match=r"demand of app 'a' at tick 1 for NETWORK is negative \(-5\.0\)"
    ):
        _workload(demand=demand)


@pytest.mark.parametrize("interval_s", [0.0, -300.0, float("nan")])
def test_interval_must_be_positive(interval_s: float) -> None:
    with pytest.raises(WorkloadError, match=r"interval_s must be > 0"):
        _workload(interval_s=interval_s)


@pytest.mark.parametrize("app_ids", [("a",), ("a", "a"), ("a", "b", "c")])
def test_app_ids_must_be_one_distinct_id_per_app(app_ids: tuple[str, ...]) -> None:
    with pytest.raises(WorkloadError, match=rf"need 2 distinct app_ids, got {len(app_ids)}"):
        _workload(app_ids=app_ids)


@pytest.mark.parametrize("name", ["priority", "sla_response_s", "sla_max_error_rate"])
def test_per_app_arrays_must_have_one_entry_per_app(name: str) -> None:
    with pytest.raises(WorkloadError, match=rf"{name} must have shape \(2,\), got \(3,\)"):
        _workload(**{name: np.zeros(3)})


def test_active_and_provisioned_shapes() -> None:
    with pytest.raises(WorkloadError, match=r"active must have shape \(2, 3\), got \(2, 4\)"):
        _workload(active=np.ones((2, 4), dtype=bool))
    with pytest.raises(WorkloadError, match=r"provisioned must have shape \(2, 4\), got \(2, 3\)"):
        _workload(provisioned=np.ones((2, 3)))


@pytest.mark.parametrize(("start", "stop"), [(0, 4), (-1, 2), (2, 2), (3, 1)])
def test_window_outside_the_ticks(start: int, stop: int) -> None:
    with pytest.raises(
        WorkloadError, match=rf"window \[{start}, {stop}\) is outside the workload's 3 ticks"
    ):
        _workload().window(start, stop)


# --- Samples (the readers' input to resample) ---------------------------------------------


def _samples(**kw: object) -> Samples:
    fields: dict[str, object] = {
        "app": np.zeros(3, dtype=np.intp),
        "time_s": np.array([0.0, 300.0, 600.0]),
        "values": np.ones((3, 2)),
        "present": np.ones(3, dtype=bool),
        "file": np.zeros(3, dtype=np.intp),
        "line": np.arange(2, 5, dtype=np.int64),
        "app_ids": ("a",),
        "files": (Path("t.csv"),),
        "columns": ("cpu", "memory"),
    }
    fields.update(kw)
    return Samples(**fields)  # type: ignore[arg-type]


def test_samples_rows_must_match() -> None:
    assert _samples().values.shape == (3, 2)
    with pytest.raises(WorkloadError, match=r"Samples\.line must have 3 rows, got shape \(2,\)"):
        _samples(line=np.arange(2, dtype=np.int64))
    with pytest.raises(WorkloadError, match=r"Samples\.values must have 3 rows, got shape \(4,\)"):
        _samples(values=np.ones((4, 2)))


def test_samples_values_need_one_column_per_name() -> None:
    with pytest.raises(
        WorkloadError, match=r"Samples\.values must have shape \(n, 2\), got \(3, 3\)"
    ):
        _samples(values=np.ones((3, 3)))
    with pytest.raises(
        WorkloadError, match=r"Samples\.values must have shape \(n, 2\), got \(3,\)"
    ):
        _samples(values=np.ones(3))


# --- configs --------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["clip_to_capacity", "memory_zero_is_missing"])
def test_bitbrains_flags_must_be_booleans(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"config key '{key}': must be true or false, got 'yes'"):
        BitbrainsConfig(path="x", **{key: "yes"})  # type: ignore[arg-type]


def test_trace_path_must_be_a_string() -> None:
    with pytest.raises(ConfigError, match=r"config key 'path': must be a folder or file path"):
        BitbrainsConfig(path=42)  # type: ignore[arg-type]
    assert BitbrainsConfig(path=Path("some/dir")).path == "some/dir"  # PathLike is accepted


def test_trace_metadata_must_be_a_metadata_config() -> None:
    with pytest.raises(
        ConfigError, match=r"config key 'metadata': must be a MetadataConfig, got 'high'"
    ):
        BitbrainsConfig(path="x", metadata="high")  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["interval_s", "max_gap_s"])
def test_trace_numbers_must_be_numbers(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"config key '{key}': must be a number, got '300'"):
        TabularConfig(path="x", **{key: "300"})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=rf"config key '{key}': must be a number, got True"):
        TabularConfig(path="x", **{key: True})  # type: ignore[arg-type]


@pytest.mark.parametrize("key", ["app_column", "cpu_column", "sla_error_column"])
def test_tabular_columns_must_be_names(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"config key '{key}': must be a column name, got 3"):
        TabularConfig(path="x", **{key: 3})  # type: ignore[arg-type]


def test_synthetic_start_time_must_be_finite() -> None:
    with pytest.raises(
        ConfigError, match=r"config key 'start_time_s': must be a finite Unix time, got inf"
    ):
        SyntheticConfig(start_time_s=float("inf"))


@pytest.mark.parametrize("key", ["interval_s", "start_time_s", "noise_scale"])
def test_synthetic_numbers_must_be_numbers(key: str) -> None:
    with pytest.raises(ConfigError, match=rf"config key '{key}': must be a number, got '1'"):
        SyntheticConfig(**{key: "1"})  # type: ignore[arg-type]


@pytest.mark.parametrize("config", [{"path": "x"}, "bitbrains", None])
def test_load_workload_needs_a_source_config(config: object) -> None:
    with pytest.raises(
        ConfigError,
        match=r"config key 'workload': expected the config of a workload source "
        r"\(alibaba, bitbrains, csv, planetlab, synthetic\), got \w+; choose one with workload=",
    ):
        load_workload(config)


# --- trace files ----------------------------------------------------------------------------


def test_bitbrains_vm_id_used_by_two_files(tmp_path: Path) -> None:
    _bb_write(tmp_path, "7.csv", [_bb_row(T0)])
    _bb_write(tmp_path, "7.CSV", [_bb_row(T0)])
    if len(list(tmp_path.iterdir())) < 2:
        pytest.skip("the file system ignores case: 7.CSV replaced 7.csv")
    with pytest.raises(TraceFormatError, match=r"7\.(csv|CSV): VM id '7' also used by .*7\."):
        _bb_load(tmp_path)


def test_file_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "1.csv"
    path.write_bytes(f"{BB_HEADER}\n{_bb_row(T0)}\n".encode() + b"\x1f\x8b\xff\x00\n")
    with pytest.raises(
        TraceFormatError, match=r"1\.csv, line 3: is not UTF-8 text \(is it a compressed"
    ):
        _bb_load(path)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads unreadable files"
)
def test_unreadable_file(tmp_path: Path) -> None:
    path = _bb_write(tmp_path, "1.csv", [_bb_row(T0)])
    path.chmod(0)
    try:
        with pytest.raises(TraceFormatError, match=r"1\.csv: cannot read the file: Permission"):
            _bb_load(path)
    finally:
        path.chmod(0o600)


@pytest.mark.skipif(not Path("/proc/self/mem").is_file(), reason="needs Linux /proc")
def test_file_whose_read_fails() -> None:
    # a regular file that exists but cannot be read from its start (works as root too)
    with pytest.raises(
        TraceFormatError, match=r"/proc/self/mem: cannot read the file: Input/output error"
    ):
        _bb_load(Path("/proc/self/mem"))


def test_infinite_number_names_line_and_column(tmp_path: Path) -> None:
    path = _bb_write(tmp_path, "1.csv", [_bb_row(T0), _bb_row(T0 + 300, mhz="inf")])
    with pytest.raises(
        TraceFormatError,
        match=r"1\.csv, line 3, column 'CPU usage \[MHZ\]': 'inf' is not a finite number",
    ):
        _bb_load(path)


@pytest.mark.parametrize("cell", ["1_000", "\u0661\u0662"])  # float() reads both
def test_number_python_reads_but_the_parser_does_not(tmp_path: Path, cell: str) -> None:
    path = _bb_write(tmp_path, "1.csv", [_bb_row(T0), _bb_row(T0 + 300, mhz=cell)])
    with pytest.raises(
        TraceFormatError,
        match=r"1\.csv, line 3, column 'CPU usage \[MHZ\]': .* is not a plain decimal number",
    ):
        _bb_load(path)


def test_stray_carriage_return_inside_a_line(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_bytes(f"{TAB_HEADER}\na,{T0},1,1,1,1\nb,{T0 + 300},1\r,1,1,1\n".encode())
    with pytest.raises(
        TraceFormatError,
        match=r"trace\.csv, line 3: cannot split the line into fields: .*stray carriage return",
    ):
        _tab_load(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
def test_path_that_is_neither_file_nor_folder(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(TraceFormatError, match=r"pipe: is neither a regular file nor a folder"):
        _bb_load(fifo)


def test_nul_byte_in_a_row(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text(f"{TAB_HEADER}\na,{T0},1,1,1,1\n\x00b,{T0 + 300},1,1,1,1\n")
    with pytest.raises(
        TraceFormatError,
        match=r"trace\.csv: cannot parse the rows as 6 fields separated by ',' .*NUL bytes",
    ):
        _tab_load(path)


def test_tabular_column_named_twice_in_the_header(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text(f"{TAB_HEADER},cpu\na,{T0},1,1,1,1,2\n")
    with pytest.raises(
        TraceFormatError,
        match=r"trace\.csv, line 1, column 'cpu': column name appears twice in the header",
    ):
        _tab_load(path)


def test_parquet_file_that_is_not_parquet(tmp_path: Path) -> None:
    path = tmp_path / "trace.parquet"
    path.write_text(f"{TAB_HEADER}\na,{T0},1,1,1,1\n")
    with pytest.raises(TraceFormatError, match=r"trace\.parquet: cannot read it as Parquet: "):
        _tab_load(path)


def test_parquet_file_without_rows(tmp_path: Path) -> None:
    path = tmp_path / "trace.parquet"
    frame = pd.DataFrame({name: pd.Series([], dtype=float) for name in TAB_HEADER.split(",")})
    frame["app"] = frame["app"].astype(str)
    frame.to_parquet(path)
    with pytest.raises(TraceFormatError, match=r"trace\.parquet: the Parquet file has no rows"):
        _tab_load(path)
