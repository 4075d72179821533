"""Tests of the Bitbrains GWA-T-12 reader on written fixtures and on the real traces."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, TraceFormatError
from shadowsim.resources import Resource
from shadowsim.workloads.bitbrains import BITBRAINS_HEADER, BitbrainsConfig, BitbrainsReader
from shadowsim.workloads.resample import GapPolicy
from shadowsim.workloads.workload import Workload

TRACES = Path(__file__).resolve().parents[2] / ".." / "shared" / "traces"
REAL = TRACES / "bitbrains_rnd" / "2013-8"
T0 = 1375308176  # 2013-07-31 22:02:56 UTC, the first row of the real 1.csv
HEADER = ";\t".join(BITBRAINS_HEADER)


def _row(
    t: float,
    cores: int = 2,
    cap: float = 5851.9989,
    mhz: float = 1000.0,
    mem_cap_kb: float = 8388608.0,
    mem_kb: float = 1048576.0,
    disk: tuple[float, float] = (1.0, 2.0),
    net: tuple[float, float] = (10.0, 20.0),
) -> str:
    pct = 100.0 * mhz / cap if cap else 0.0
    fields = [t, cores, cap, mhz, pct, mem_cap_kb, mem_kb, *disk, *net]
    return ";\t".join(str(f) for f in fields)


def _write(folder: Path, name: str, rows: list[str], header: str = HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def _mask(w: Workload) -> NDArray[np.bool_]:
    """The workload's activity mask (the readers always set one)."""
    assert w.active is not None
    return w.active


def _size(w: Workload) -> NDArray[np.float64]:
    """The workload's provisioned sizes (the readers always set them)."""
    assert w.provisioned is not None
    return w.provisioned


def _load(path: Path, **kw: object) -> Workload:
    return BitbrainsReader(BitbrainsConfig(path=str(path), **kw)).load()  # type: ignore[arg-type]


def test_units_ids_and_provisioned_size(tmp_path: Path) -> None:
    _write(tmp_path, "10.csv", [_row(T0 + 300 * k, mhz=2925.99945) for k in range(4)])
    _write(
        tmp_path, "2.csv", [_row(T0 + 300 * k, cores=4, cap=10400.0, mhz=5200.0) for k in range(4)]
    )
    w = _load(tmp_path)
    assert w.app_ids == ("2", "10")  # natural order
    assert w.interval_s == 300.0
    assert w.start_time_s == T0 - T0 % 300
    assert w.demand.shape == (2, 4, 4)
    cpu = w.demand[:, :, Resource.CPU]
    assert np.allclose(cpu[0], 2.0)  # 5200 MHz at 2600 MHz per core
    assert np.allclose(cpu[1], 1.0)  # half of a 2-core VM
    assert np.allclose(w.demand[:, :, Resource.MEMORY], 1024.0)  # 1048576 KB = 1024 MiB
    assert np.allclose(w.demand[:, :, Resource.DISK], 3.0)
    assert np.allclose(w.demand[:, :, Resource.NETWORK], 30.0)
    assert _size(w)[:, :2].tolist() == [[4.0, 8192.0], [2.0, 8192.0]]
    assert np.allclose(_size(w)[:, 2:], [[3.0, 30.0], [3.0, 30.0]])  # peak demand
    assert _mask(w).all()
    assert not w.repairs
    assert w.source.startswith("bitbrains:")


def test_scientific_notation_and_jitter(tmp_path: Path) -> None:
    rows = [
        _row(T0 + 300 * k + jitter, mem_kb=1.6703488e7, mem_cap_kb=3.3554432e7)
        for k, jitter in enumerate([0, 1, -1, 1, 0])
    ]
    path = _write(tmp_path, "1.csv", rows)
    path.write_text(path.read_text().replace("16703488.0", "1.6703488E7"))
    assert path.read_text().count("1.6703488E7") == 5
    w = _load(path)
    assert w.n_ticks == 5
    assert np.allclose(w.demand[0, :, Resource.MEMORY], 16703488.0 / 1024)
    assert _mask(w).all()


def test_duplicated_and_restarting_blocks_are_merged(tmp_path: Path) -> None:
    block_a = [_row(T0 + 300 * k, mhz=1000.0) for k in range(6)]
    zeros = [
        _row(
            T0 + 300 * k, cores=0, cap=0.0, mhz=0.0, mem_cap_kb=0, mem_kb=0, disk=(0, 0), net=(0, 0)
        )
        for k in range(3)
    ]
    block_b = [_row(T0 + 300 * k, mhz=3000.0) for k in range(3, 6)]
    _write(tmp_path, "82.csv", block_a + zeros + block_b)
    w = _load(tmp_path)
    assert w.n_ticks == 6
    assert _mask(w).all()
    cpu = w.demand[0, :, Resource.CPU]
    per_core = 5851.9989 / 2
    assert np.allclose(cpu[:3], 1000.0 / per_core)  # the zero block is ignored
    assert np.allclose(cpu[3:], 2000.0 / per_core)  # mean of the two provisioned blocks
    # rows earlier than the latest before them: the 3 zero rows and block b's first 2
    assert w.repairs.totals == {"duplicate_rows_merged": 6, "rows_out_of_order_sorted": 5}


def test_unprovisioned_stretch_is_inactive_and_ghost_usage_is_counted(tmp_path: Path) -> None:
    off = [
        _row(
            T0 + 300 * k,
            cores=0,
            cap=0.0,
            mhz=0.0,
            mem_cap_kb=0,
            mem_kb=0,
            disk=(0, 0),
            net=(0, 792.0 if k == 1 else 0),
        )
        for k in range(3)
    ]
    on = [_row(T0 + 300 * k) for k in range(3, 6)]
    _write(tmp_path, "54.csv", off + on)
    w = _load(tmp_path)
    assert _mask(w)[0].tolist() == [False] * 3 + [True] * 3
    assert (w.demand[0, :3] == 0).all()
    assert w.repairs.totals == {"ticks_unprovisioned": 3, "usage_in_unprovisioned_rows_ignored": 1}


def test_late_start_is_inactive_before_the_first_row(tmp_path: Path) -> None:
    _write(tmp_path, "1.csv", [_row(T0 + 300 * k) for k in range(8)])
    _write(tmp_path, "446.csv", [_row(T0 + 300 * k) for k in range(5, 8)])
    w = _load(tmp_path)
    assert _mask(w)[1].tolist() == [False] * 5 + [True] * 3
    assert w.repairs.per_app["446"] == {"ticks_before_first_sample": 5}


def test_cpu_above_capacity_is_clipped_unless_disabled(tmp_path: Path) -> None:
    _write(tmp_path, "1.csv", [_row(T0, mhz=6170.0), _row(T0 + 300, mhz=100.0)])
    w = _load(tmp_path)
    assert w.demand[0, 0, Resource.CPU] == 2.0
    assert w.repairs.totals == {"cpu_clipped_to_capacity": 1}
    w = _load(tmp_path, clip_to_capacity=False)
    assert w.demand[0, 0, Resource.CPU] > 2.0
    assert not w.repairs


def test_zero_memory_in_a_running_vm_is_a_missing_value(tmp_path: Path) -> None:
    mem = [1024.0, 0.0, 3072.0]
    _write(tmp_path, "1.csv", [_row(T0 + 300 * k, mem_kb=m * 1024) for k, m in enumerate(mem)])
    w = _load(tmp_path)
    assert w.demand[0, :, Resource.MEMORY].tolist() == [1024.0, 2048.0, 3072.0]
    assert w.repairs.totals == {"memory_zero_treated_missing": 1, "missing_values_filled": 1}
    w = _load(tmp_path, memory_zero_is_missing=False)
    assert w.demand[0, 1, Resource.MEMORY] == 0.0
    with pytest.raises(TraceFormatError, match=r"1.csv, line 3, column 'Memory usage \[KB\]'"):
        _load(tmp_path, gap_policy=GapPolicy.ERROR)


def test_max_apps_and_single_file(tmp_path: Path) -> None:
    for n in (3, 1, 2):
        _write(tmp_path, f"{n}.csv", [_row(T0 + 300 * k) for k in range(2)])
    assert _load(tmp_path, max_apps=2).app_ids == ("1", "2")
    assert _load(tmp_path / "3.csv").app_ids == ("3",)


def test_same_seed_gives_identical_workloads(tmp_path: Path) -> None:
    for n in range(6):
        _write(tmp_path, f"{n}.csv", [_row(T0 + 300 * k, mhz=100.0 * (n + 1)) for k in range(3)])
    a, b = _load(tmp_path), _load(tmp_path)
    assert np.array_equal(a.demand, b.demand)
    assert np.array_equal(a.priority, b.priority)
    assert np.array_equal(a.sla_response_s, b.sla_response_s)


def _error(tmp_path: Path, rows: list[str], header: str = HEADER) -> str:
    _write(tmp_path, "7.csv", rows, header=header)
    with pytest.raises(TraceFormatError) as info:
        _load(tmp_path)
    return str(info.value)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "7.csv").write_text("")
    with pytest.raises(TraceFormatError, match=r"7.csv: the file is empty"):
        _load(tmp_path)


def test_header_without_rows(tmp_path: Path) -> None:
    assert "7.csv, line 1: the file has a header but no data rows" in _error(tmp_path, [])


def test_wrong_header_field(tmp_path: Path) -> None:
    header = HEADER.replace("CPU cores", "CPU count")
    msg = _error(tmp_path, [_row(T0)], header=header)
    assert "line 1, column 2: header field 2 is 'CPU count', expected 'CPU cores'" in msg


def test_missing_header(tmp_path: Path) -> None:
    msg = _error(tmp_path, [_row(T0)], header=_row(T0 - 300))
    assert "line 1: line 1 holds numbers, but a Bitbrains file starts with the header" in msg


def test_wrong_separator(tmp_path: Path) -> None:
    msg = _error(tmp_path, [_row(T0).replace(";\t", ",")], header=HEADER.replace(";\t", ","))
    assert "line 1: the header has 1 fields separated by ';\\t', expected 11" in msg


def test_row_with_too_few_fields(tmp_path: Path) -> None:
    short = ";\t".join(_row(T0 + 300).split(";\t")[:9])
    msg = _error(tmp_path, [_row(T0), short, _row(T0 + 600)])
    assert "7.csv, line 3: has 9 fields separated by ';', expected 11" in msg


def test_unparsable_number(tmp_path: Path) -> None:
    bad = _row(T0 + 300).replace("5851.9989", "5851,9989", 1)
    msg = _error(tmp_path, [_row(T0), bad])
    assert "line 3, column 'CPU capacity provisioned [MHZ]': '5851,9989' is not a number" in msg


def test_negative_value(tmp_path: Path) -> None:
    msg = _error(tmp_path, [_row(T0), _row(T0 + 300, disk=(-4.0, 1.0))])
    assert "line 3, column 'Disk read throughput [KB/s]': negative value -4.0" in msg


def test_milliseconds_are_rejected(tmp_path: Path) -> None:
    msg = _error(tmp_path, [_row(T0 * 1000)])
    assert "line 2, column 'Timestamp [ms]': timestamp 1375308176000 is not Unix seconds" in msg


def test_empty_line_inside_the_data(tmp_path: Path) -> None:
    msg = _error(tmp_path, [_row(T0), "", _row(T0 + 600)])
    assert "7.csv, line 3: empty line inside the data" in msg


def test_missing_field_value(tmp_path: Path) -> None:
    bad = _row(T0 + 300).replace(";\t2;", ";\t;", 1)
    msg = _error(tmp_path, [_row(T0), bad])
    assert "line 3, column 'CPU cores': missing value (empty field)" in msg


def test_folder_without_csv_files_and_missing_path(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("no traces here\n")
    with pytest.raises(TraceFormatError, match=r"holds no trace files \(\*\.csv\)"):
        _load(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        _load(tmp_path / "missing")
    with pytest.raises(ConfigError, match="no trace given"):
        BitbrainsReader(BitbrainsConfig()).load()


@pytest.mark.traces
def test_real_bitbrains_month() -> None:
    if not REAL.is_dir():
        pytest.skip(f"real traces not found at {REAL} (shared/traces beside the repo checkout)")
    w = BitbrainsReader(BitbrainsConfig(path=str(REAL))).load()
    assert w.n_apps == 30
    assert w.interval_s == 300.0
    start = datetime.fromtimestamp(w.start_time_s, UTC)
    assert start == datetime(2013, 7, 31, 22, 0, tzinfo=UTC)
    assert 29.9 * 86400 <= w.duration_s <= 30.1 * 86400  # 2013-07-31 22:02 .. 08-30 21:58
    assert np.isfinite(w.demand).all()
    assert (w.demand >= 0).all()
    ids = list(w.app_ids)
    first_active = {a: int(np.argmax(_mask(w)[ids.index(a)])) for a in ("54", "446", "1")}
    assert first_active["1"] == 0
    assert 6.2 * 288 < first_active["54"] < 6.6 * 288  # ~6.4 days unprovisioned
    late = datetime.fromtimestamp(w.start_time_s + first_active["446"] * 300, UTC)
    assert late.date().isoformat() == "2013-08-15"
    assert late.hour == 9
    totals = w.repairs.totals
    assert totals["duplicate_rows_merged"] == 4195  # all in 82.csv
    assert w.repairs.per_app["82"]["usage_in_unprovisioned_rows_ignored"] > 0
    assert totals["cpu_clipped_to_capacity"] == 5811
    cpu = w.demand[:, :, Resource.CPU]
    assert (cpu <= _size(w)[:, None, Resource.CPU] + 1e-9).all()
    assert set(np.unique(w.priority)) <= {0, 1, 2}


def test_a_hydra_node_names_the_bad_key_as_the_user_wrote_it(tmp_path: Path) -> None:
    from omegaconf import OmegaConf

    from shadowsim.config_store import schema_node
    from shadowsim.workloads.loading import load_workload

    missing = tmp_path / "missing"
    node = OmegaConf.merge(schema_node(BitbrainsConfig), {"path": str(missing)})
    with pytest.raises(ConfigError) as info:
        load_workload(node)
    assert info.value.key == "workload.path"
    assert str(info.value) == (
        f"config key 'workload.path': {missing} does not exist; check the spelling and the folder"
    )
    with pytest.raises(ConfigError) as direct:  # a config object keeps its own keys
        load_workload(BitbrainsConfig(path=str(missing)))
    assert direct.value.key == "path"
    assert info.value.under("workload") is info.value  # already named from there
