"""Tests of the Alibaba cluster-trace-v2018 machine_usage reader."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, TraceFormatError
from shadowsim.resources import Resource
from shadowsim.workloads.alibaba import AlibabaConfig, AlibabaReader
from shadowsim.workloads.workload import Workload

TRACES = Path(__file__).resolve().parents[2] / ".." / "shared" / "traces"
REAL = TRACES / "alibaba_v2018"


def _row(
    m: str, t: int, cpu: object = 40, mem: object = 90, net: float = 0.0, disk: object = 5
) -> str:
    """One machine_usage row; net_in = net, net_out = 2 * net; mem_gps and mkpi empty."""
    return f"{m},{t},{cpu},{mem},,,{net:.2f},{2 * net:.2f},{disk}"


def _usage(folder: Path, rows: list[str], meta: list[str] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "machine_usage.csv").write_text("\n".join(rows) + "\n")
    if meta is not None:
        (folder / "machine_meta.csv").write_text("\n".join(meta) + "\n")
    return folder


def _mask(w: Workload) -> NDArray[np.bool_]:
    """The workload's activity mask (the readers always set one)."""
    assert w.active is not None
    return w.active


def _size(w: Workload) -> NDArray[np.float64]:
    """The workload's provisioned sizes (the readers always set them)."""
    assert w.provisioned is not None
    return w.provisioned


def _load(path: Path, **kw: object) -> Workload:
    return AlibabaReader(AlibabaConfig(path=str(path), **kw)).load()  # type: ignore[arg-type]


def test_units_resampling_and_network_counters(tmp_path: Path) -> None:
    # 60 s sampling over 10 minutes; counters grow 0.01 per minute
    rows = [_row("m_2", 60 * k, cpu=30 + k, net=1.0 + 0.01 * k) for k in range(10)]
    rows += [_row("m_10", 60 * k, cpu=50, mem=50, disk=10) for k in range(10)]
    meta = ["m_2,0,91,18,64,50,USING", "m_2,100,91,18,32,100,USING"]
    w = _load(_usage(tmp_path, rows, meta), network_kb_per_unit=6000.0)
    assert w.app_ids == ("m_2", "m_10")
    assert w.start_time_s == 0.0
    assert w.n_ticks == 2
    # m_2: the latest meta row says 32 cores and mem_size 100
    assert np.allclose(w.demand[0, :, Resource.CPU], [0.32 * 32, 0.37 * 32])
    assert np.allclose(w.demand[0, :, Resource.MEMORY], 0.9 * 524288.0)
    # in + out grow 0.03 units per 60 s, at 6000 KB per unit: 3 KB/s
    assert np.allclose(w.demand[0, :, Resource.NETWORK], 3.0)
    assert np.allclose(w.demand[1, :, Resource.CPU], 0.5 * 96)  # no meta row: config cores
    assert np.allclose(w.demand[1, :, Resource.DISK], 0.1 * 500000.0)
    assert _size(w)[0, :3].tolist() == [32.0, 524288.0, 500000.0]
    assert w.repairs.per_app["m_10"]["machine_size_from_config"] == 1
    assert w.repairs.totals["network_rate_undefined"] == 2  # the first row of each machine
    assert w.repairs.totals["samples_averaged_in_tick"] == 16
    assert _size(_load(tmp_path, use_machine_meta=False))[0, 0] == 96.0


def test_abnormal_disk_markers_become_missing_values(tmp_path: Path) -> None:
    disks = [5, -1, 101, 7]
    rows = [_row("m_1", 300 * k, disk=d) for k, d in enumerate(disks)]
    w = _load(_usage(tmp_path, rows))
    assert np.allclose(w.demand[0, :, Resource.DISK] / 5000.0, [5, 17 / 3, 19 / 3, 7])
    assert w.repairs.totals["abnormal_markers_replaced"] == 2
    # the two markers, and the network rate of the first row (alone in its tick)
    assert w.repairs.totals["missing_values_filled"] == 3


def test_empty_value_fields_are_missing_values(tmp_path: Path) -> None:
    rows = [_row("m_1", 0, cpu=10), _row("m_1", 300, cpu=""), _row("m_1", 600, cpu=30)]
    w = _load(_usage(tmp_path, rows))
    assert np.allclose(w.demand[0, :, Resource.CPU], [9.6, 19.2, 28.8])


def test_multi_hour_gap_is_inactive(tmp_path: Path) -> None:
    rows = [_row("m_1", 300 * k) for k in range(3)] + [_row("m_1", 300 * k) for k in range(40, 42)]
    w = _load(_usage(tmp_path, rows))
    assert _mask(w)[0].sum() == 5
    assert w.repairs.totals["gap_ticks_inactive"] == 37


def test_counter_reset_is_counted(tmp_path: Path) -> None:
    nets = [1.0, 1.1, 0.2, 0.3]
    rows = [_row("m_1", 300 * k, net=n) for k, n in enumerate(nets)]
    w = _load(_usage(tmp_path, rows))
    assert w.repairs.totals["network_counter_resets"] == 2  # net_in and net_out
    assert w.repairs.totals["network_rate_undefined"] == 2
    assert (w.demand[0, :, Resource.NETWORK] >= 0).all()


def test_percent_above_100_is_clipped(tmp_path: Path) -> None:
    w = _load(_usage(tmp_path, [_row("m_1", 0, cpu=120), _row("m_1", 300)]))
    assert w.demand[0, 0, Resource.CPU] == 96.0
    assert w.repairs.totals["percent_clipped_to_100"] == 1


def _error(tmp_path: Path, rows: list[str]) -> str:
    with pytest.raises(TraceFormatError) as info:
        _load(_usage(tmp_path, rows))
    return str(info.value)


def test_wrong_number_of_fields(tmp_path: Path) -> None:
    msg = _error(tmp_path, [_row("m_1", 0), "m_1,60,40,90,,,1.0,2.0"])
    assert "machine_usage.csv, line 2: has 8 fields separated by ',', expected 9" in msg


def test_unparsable_number(tmp_path: Path) -> None:
    msg = _error(tmp_path, [_row("m_1", 0), _row("m_1", 60, mem="9O")])
    assert "line 2, column 'mem_util_percent': '9O' is not a number" in msg


def test_negative_value(tmp_path: Path) -> None:
    msg = _error(tmp_path, [_row("m_1", 0), _row("m_1", 60, disk=-3)])
    assert "line 2, column 'disk_io_percent': negative value -3.0" in msg


def test_missing_machine_id(tmp_path: Path) -> None:
    msg = _error(tmp_path, [_row("m_1", 0), _row("", 60)])
    assert "line 2, column 'machine_id': missing value" in msg


def test_empty_file_and_missing_usage_file(tmp_path: Path) -> None:
    (tmp_path / "machine_usage.csv").write_text("\n")
    with pytest.raises(TraceFormatError, match=r"machine_usage.csv: the file is empty"):
        _load(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    with pytest.raises(TraceFormatError, match=r"holds no machine_usage.csv"):
        _load(other)


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match="memory_mib"):
        AlibabaConfig(memory_mib=0)
    with pytest.raises(ConfigError, match="use_machine_meta"):
        AlibabaConfig(use_machine_meta="yes")  # type: ignore[arg-type]


@pytest.mark.traces
def test_real_alibaba_machines() -> None:
    if not REAL.is_dir():
        pytest.skip(f"real traces not found at {REAL} (shared/traces beside the repo checkout)")
    w = _load(REAL)
    assert w.app_ids == tuple(f"m_{n}" for n in range(1932, 1940))
    assert w.start_time_s == 0.0
    assert w.n_ticks == 691_200 // 300
    first = int(np.argmax(_mask(w)[0]))
    assert first == 386_640 // 300  # m_1932 starts late
    assert w.repairs.totals["abnormal_markers_replaced"] == 11
    assert w.repairs.totals["gap_ticks_inactive"] > 0  # the multi-hour gaps
    assert 0.8 < _mask(w)[1:].mean() < 1.0
    cpu = w.demand[:, :, Resource.CPU] / 96.0
    active_cpu = cpu[_mask(w)]
    assert active_cpu.min() >= 0.03 - 1e-9
    assert active_cpu.max() <= 0.93 + 1e-9
    assert np.isfinite(w.demand).all()
    assert (w.demand >= 0).all()
