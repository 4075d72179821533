"""Tests of the generic long-format CSV/Parquet reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, TraceFormatError
from shadowsim.resources import Resource
from shadowsim.workloads.metadata import MetadataConfig
from shadowsim.workloads.tabular import TabularConfig, TabularReader, TimeFormat
from shadowsim.workloads.workload import Priority, Workload

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
HEADER = "app,timestamp,cpu,memory,disk,network"


def _csv(tmp_path: Path, lines: list[str], name: str = "trace.csv", header: str = HEADER) -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *lines]) + "\n")
    return path


def _size(w: Workload) -> NDArray[np.float64]:
    """The workload's provisioned sizes (the readers always set them)."""
    assert w.provisioned is not None
    return w.provisioned


def _load(path: Path, **kw: object) -> Workload:
    return TabularReader(TabularConfig(path=str(path), **kw)).load()  # type: ignore[arg-type]


def test_epoch_seconds_any_row_order_and_units(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        [
            f"web,{T0 + 300},0.7,1100,12,180",
            f"web,{T0},0.5,1024,10,200",
            f"db,{T0},1.5,4096,50,20",
            f"db,{T0 + 300},2.5,4096,70,40",
        ],
    )
    w = _load(path)
    assert w.app_ids == ("db", "web")
    assert w.start_time_s == T0
    assert w.n_ticks == 2
    assert w.demand[1, :, Resource.CPU].tolist() == [0.5, 0.7]
    assert w.demand[0, :, Resource.DISK].tolist() == [50.0, 70.0]
    assert _size(w)[0].tolist() == [2.5, 4096.0, 70.0, 40.0]  # peaks
    assert w.repairs.totals == {"rows_out_of_order_sorted": 1}


def test_iso_times_with_and_without_zone(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        [
            "a,2024-01-01T00:00:00Z,1,1,1,1",
            "a,2024-01-01T01:05:00+01:00,2,2,2,2",
            "a,2024-01-01 00:10:00,3,3,3,3",
        ],
    )
    w = _load(path)
    assert w.start_time_s == T0
    assert w.demand[0, :, Resource.CPU].tolist() == [1.0, 2.0, 3.0]


def test_configurable_names_separator_quotes_and_absent_resource(tmp_path: Path) -> None:
    path = _csv(
        tmp_path,
        ['"vm, one";100;0.25;512;3', '"vm, one";400;0.5;512;4'],
        header="id;t;vcpu;mib;io",
    )
    w = _load(
        path,
        sep=";",
        app_column="id",
        time_column="t",
        cpu_column="vcpu",
        memory_column="mib",
        disk_column="io",
        network_column="",
        interval_s=300.0,
    )
    assert w.app_ids == ("vm, one",)
    assert w.start_time_s == 0.0
    assert w.demand[0, :, Resource.CPU].tolist() == [0.25, 0.5]
    assert (w.demand[0, :, Resource.NETWORK] == 0).all()
    assert w.repairs.totals == {"network_not_in_trace": 2}


def test_priority_and_sla_columns_override_the_metadata_rule(tmp_path: Path) -> None:
    header = HEADER + ",prio,rt"
    path = _csv(
        tmp_path,
        [
            f"a,{T0},1,1,1,1,high,0.05",
            f"a,{T0 + 300},1,1,1,1,HIGH,0.05",
            f"b,{T0},1,1,1,1,0,1.5",
            f"c,{T0},1,1,1,1,Medium,0.3",
        ],
        header=header,
    )
    meta = MetadataConfig(response_s_low=9.0)
    w = _load(path, priority_column="prio", sla_response_column="rt", metadata=meta)
    assert w.priority.tolist() == [Priority.HIGH, Priority.LOW, Priority.MEDIUM]
    assert w.sla_response_s.tolist() == [0.05, 1.5, 0.3]
    assert w.sla_max_error_rate[0] == meta.max_error_rate_high
    w = _load(path, priority_column="prio", metadata=meta)
    assert w.sla_response_s[1] == 9.0  # SLA of the class given in the trace


def test_priority_must_be_the_same_on_every_row_of_an_app(tmp_path: Path) -> None:
    path = _csv(
        tmp_path, [f"a,{T0},1,1,1,1,high", f"a,{T0 + 300},1,1,1,1,low"], header=HEADER + ",prio"
    )
    with pytest.raises(
        TraceFormatError, match=r"line 3, column 'prio': value LOW differs from HIGH"
    ):
        _load(path, priority_column="prio")


def test_unknown_priority_suggests_a_name(tmp_path: Path) -> None:
    path = _csv(tmp_path, [f"a,{T0},1,1,1,1,hihg"], header=HEADER + ",prio")
    with pytest.raises(TraceFormatError, match=r"line 2, column 'prio':.*Did you mean 'HIGH'"):
        _load(path, priority_column="prio")


def test_parquet_with_datetime_column_and_folder_of_files(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "app": ["a", "a", "b"],
            "timestamp": pd.to_datetime([T0, T0 + 300, T0], unit="s"),
            "cpu": [1.0, 2.0, 3.0],
            "memory": [10.0, 20.0, 30.0],
            "disk": [0.0, 0.0, 0.0],
            "network": [5.0, 5.0, 5.0],
        }
    )
    frame.to_parquet(tmp_path / "part1.parquet")
    _csv(tmp_path, [f"a,{T0 + 600},3,30,0,5"], name="part2.csv")
    w = _load(tmp_path)
    assert w.app_ids == ("a", "b")
    assert w.demand[0, :, Resource.CPU].tolist() == [1.0, 2.0, 3.0]
    assert w.source.endswith("(2 of 2 apps from 2 file(s))")


def test_parquet_errors_name_the_row(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "app": ["a", "a"],
            "timestamp": [T0, T0 + 300],
            "cpu": [1.0, -2.0],
            "memory": [1.0, 1.0],
            "disk": [1.0, 1.0],
            "network": [1.0, 1.0],
        }
    )
    frame.to_parquet(tmp_path / "t.parquet")
    with pytest.raises(TraceFormatError, match=r"t.parquet, column 'cpu': row 2: negative value"):
        _load(tmp_path / "t.parquet")
    frame.drop(columns="disk").to_parquet(tmp_path / "t.parquet")
    with pytest.raises(TraceFormatError, match=r"column 'disk': unknown column 'disk'"):
        _load(tmp_path / "t.parquet")


def _error(tmp_path: Path, lines: list[str], header: str = HEADER, **kw: object) -> str:
    path = _csv(tmp_path, lines, header=header)
    with pytest.raises(TraceFormatError) as info:
        _load(path, **kw)
    return str(info.value)


def test_missing_column_suggests_the_close_name(tmp_path: Path) -> None:
    msg = _error(tmp_path, [f"a,{T0},1,1,1,1"], header="app,timestamp,cpus,memory,disk,network")
    assert "trace.csv, line 1, column 'cpu': unknown column 'cpu'. Did you mean 'cpus'?" in msg
    assert "Set cpu_column" in msg


def test_unparsable_number(tmp_path: Path) -> None:
    msg = _error(tmp_path, [f"a,{T0},1,1,1,1", f"a,{T0 + 300},1,lots,1,1"])
    assert "line 3, column 'memory': 'lots' is not a number" in msg


def test_negative_value(tmp_path: Path) -> None:
    msg = _error(tmp_path, [f"a,{T0},1,1,1,1", f"a,{T0 + 300},1,1,1,-7"])
    assert "line 3, column 'network': negative value -7.0" in msg


def test_bad_time(tmp_path: Path) -> None:
    msg = _error(tmp_path, [f"a,{T0},1,1,1,1", "a,yesterday,1,1,1,1"])
    assert "line 3, column 'timestamp': 'yesterday' is not a finite number" in msg
    msg = _error(tmp_path, ["a,2024-01-01T00:00:00Z,1,1,1,1", f"a,{T0}x,1,1,1,1"])
    assert f"line 3, column 'timestamp': '{T0}x' is not an ISO 8601 time" in msg
    msg = _error(tmp_path, ["a,2024-01-01,1,1,1,1"], time_format=TimeFormat.EPOCH_S)
    assert "line 2, column 'timestamp': '2024-01-01' is not a finite number" in msg


def test_wrong_field_count_and_empty_files(tmp_path: Path) -> None:
    msg = _error(tmp_path, [f"a,{T0},1,1,1,1", f"a,{T0 + 300},1,1,1"])
    assert "line 3: has 5 fields separated by ',', expected 6" in msg
    assert "line 1: the file has a header but no data rows" in _error(tmp_path, [])
    (tmp_path / "trace.csv").write_text("")
    with pytest.raises(TraceFormatError, match=r"trace.csv: the file is empty"):
        _load(tmp_path / "trace.csv")


def test_folder_without_trace_files(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(TraceFormatError, match=r"no trace files \(\*\.csv or \*\.parquet\)"):
        _load(tmp_path)


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="sep"):
        TabularConfig(sep=";;")
    with pytest.raises(ConfigError, match=r"memory_column.*also cpu_column"):
        TabularConfig(memory_column="cpu")
    with pytest.raises(ConfigError, match="app_column"):
        TabularConfig(app_column="")
    with pytest.raises(ConfigError, match=r"time_format.*Did you mean 'iso8601'"):
        TabularConfig(time_format="iso")  # type: ignore[arg-type]


def test_max_apps_keeps_the_first_ids(tmp_path: Path) -> None:
    path = _csv(tmp_path, [f"app{n},{T0},1,1,1,1" for n in (12, 3, 7)])
    w = _load(path, max_apps=2)
    assert w.app_ids == ("app3", "app7")
    assert np.array_equal(w.demand, _load(path, max_apps=2).demand)
