"""Tests of the PlanetLab/CloudSim reader on written fixtures and on the real traces."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, TraceFormatError
from shadowsim.resources import Resource
from shadowsim.workloads.planetlab import DayLayout, PlanetLabConfig, PlanetLabReader
from shadowsim.workloads.workload import Workload

TRACES = Path(__file__).resolve().parents[2] / ".." / "shared" / "traces"
REAL = TRACES / "planetlab"
DAY1 = datetime(2011, 3, 3, tzinfo=UTC).timestamp()


def _write(folder: Path, name: str, values: list[int] | list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(f"{v}\n" for v in values))
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
    return PlanetLabReader(PlanetLabConfig(path=str(path), **kw)).load()  # type: ignore[arg-type]


def _two_days(root: Path) -> None:
    """vm_a on both days, vm_b on the first only, vm_c on the second only; 288 lines each."""
    _write(root / "20110303", "vm_a", [10] * 288)
    _write(root / "20110303", "vm_b", [50] * 288)
    _write(root / "20110306", "vm_a", [20] * 288)
    _write(root / "20110306", "vm_c", list(range(288 // 4)) * 4)


def test_days_back_to_back_and_units(tmp_path: Path) -> None:
    _two_days(tmp_path)
    w = _load(tmp_path, vcpus_per_vm=2.0)
    assert w.app_ids == ("vm_a", "vm_b", "vm_c")
    assert w.n_ticks == 576
    assert w.interval_s == 300.0
    assert w.start_time_s == DAY1
    assert _mask(w).tolist() == [
        [True] * 576,
        [True] * 288 + [False] * 288,
        [False] * 288 + [True] * 288,
    ]
    cpu = w.demand[:, :, Resource.CPU]
    assert np.allclose(cpu[0, :288], 0.2)
    assert np.allclose(cpu[0, 288:], 0.4)
    assert np.allclose(cpu[1, :288], 1.0)
    # memory = base 512 MiB + 1024 MiB per busy vCPU (the documented default rule)
    assert np.allclose(w.demand[0, :288, Resource.MEMORY], 512.0 + 1024.0 * 0.2)
    assert np.allclose(w.demand[0, :288, Resource.NETWORK], 10.0 + 500.0 * 0.2)
    assert _size(w)[0].tolist() == [2.0, 512.0 + 2048.0, 20.0 + 400.0, 10.0 + 1000.0]
    assert w.repairs.per_app["vm_a"]["memory_synthesised"] == 576
    assert w.repairs.totals["ticks_after_last_sample"] == 288  # vm_b
    assert w.repairs.totals["ticks_before_first_sample"] == 288  # vm_c
    assert "memory/disk/network synthesised" in w.source


def test_calendar_and_separate_layouts(tmp_path: Path) -> None:
    _two_days(tmp_path)
    w = _load(tmp_path, day_layout="calendar")
    assert w.n_ticks == 4 * 288  # 3, 4, 5 and 6 March
    assert not _mask(w)[0, 288 : 3 * 288].any()
    assert _mask(w)[0, 3 * 288 :].all()
    w = _load(tmp_path, day_layout=DayLayout.SEPARATE)
    assert w.app_ids == ("vm_a@20110303", "vm_a@20110306", "vm_b@20110303", "vm_c@20110306")
    assert w.n_ticks == 288
    assert _mask(w).all()


def test_constant_baseline_rule(tmp_path: Path) -> None:
    _write(tmp_path / "20110303", "vm", [0, 100, 40, 7])
    w = _load(tmp_path, samples_per_file=4, memory_mib_per_vcpu=0.0, memory_mib_base=2048.0)
    assert w.demand[0, :, Resource.MEMORY].tolist() == [2048.0] * 4
    assert w.demand[0, :, Resource.CPU].tolist() == [0.0, 1.0, 0.4, 0.07]


def test_percent_above_100_is_clipped(tmp_path: Path) -> None:
    _write(tmp_path / "20110303", "vm", [5, 130, 7, 8])
    w = _load(tmp_path, samples_per_file=4)
    assert w.demand[0, 1, Resource.CPU] == 1.0
    assert w.repairs.totals["cpu_percent_clipped_to_100"] == 1


def test_undated_single_folder_and_max_apps(tmp_path: Path) -> None:
    for name in ("vm10", "vm2", "vm1"):
        _write(tmp_path / "day", name, [1, 2, 3, 4])
    w = _load(tmp_path / "day", samples_per_file=4, max_apps=2)
    assert w.app_ids == ("vm1", "vm2")
    assert w.start_time_s == 0.0


def _error(tmp_path: Path, values: list[str], **kw: object) -> str:
    _write(tmp_path / "20110303", "host_slice", values)
    with pytest.raises(TraceFormatError) as info:
        _load(tmp_path, samples_per_file=4, **kw)
    return str(info.value)


def test_wrong_number_of_lines(tmp_path: Path) -> None:
    msg = _error(tmp_path, ["1", "2", "3"])
    assert "host_slice, line 3: has 3 lines, expected 4" in msg
    assert "samples_per_file" in msg


def test_unparsable_line(tmp_path: Path) -> None:
    msg = _error(tmp_path, ["1", "2", "x7", "4"])
    assert "host_slice, line 3, column 'CPU %': 'x7' is not a number" in msg


def test_negative_value(tmp_path: Path) -> None:
    msg = _error(tmp_path, ["1", "-2", "3", "4"])
    assert "line 2, column 'CPU %': '-2' is negative" in msg


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "20110303").mkdir()
    (tmp_path / "20110303" / "vm").write_text("")
    with pytest.raises(TraceFormatError, match=r"vm: the file is empty"):
        _load(tmp_path)


def test_folder_without_trace_files(tmp_path: Path) -> None:
    (tmp_path / "20110303").mkdir()
    (tmp_path / "20110303" / "notes.txt").write_text("1\n")
    with pytest.raises(TraceFormatError, match=r"holds no trace files \(files without extension"):
        _load(tmp_path)


def test_undated_files_in_several_folders(tmp_path: Path) -> None:
    _write(tmp_path / "a", "vm", [1, 2, 3, 4])
    _write(tmp_path / "b", "vm", [1, 2, 3, 4])
    with pytest.raises(TraceFormatError, match="folder named YYYYMMDD"):
        _load(tmp_path, samples_per_file=4)


def test_same_vm_twice_on_one_day(tmp_path: Path) -> None:
    _write(tmp_path / "20110303" / "x", "vm", [1, 2, 3, 4])
    _write(tmp_path / "20110303" / "y", "vm", [1, 2, 3, 4])
    with pytest.raises(TraceFormatError, match="second file for the same day"):
        _load(tmp_path, samples_per_file=4)


def test_config_errors() -> None:
    with pytest.raises(ConfigError, match=r"day_layout.*Did you mean 'calendar'"):
        PlanetLabConfig(day_layout="calender")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="vcpus_per_vm"):
        PlanetLabConfig(vcpus_per_vm=0)
    with pytest.raises(ConfigError, match="samples_per_file"):
        PlanetLabConfig(samples_per_file=0)
    with pytest.raises(ConfigError, match="memory_mib_base"):
        PlanetLabConfig(memory_mib_base=-1.0)


@pytest.mark.traces
def test_real_planetlab_two_days() -> None:
    if not REAL.is_dir():
        pytest.skip(f"real traces not found at {REAL} (shared/traces beside the repo checkout)")
    w = _load(REAL)
    names = {p.name for p in REAL.rglob("*") if p.is_file() and not p.suffix}
    assert w.n_apps == len(names) == 1392  # 1,052 + 898 VM-days, 558 names on both days
    assert w.n_ticks == 576
    assert w.interval_s == 300.0
    assert w.start_time_s == DAY1
    both = _mask(w)[:, :288].any(axis=1) & _mask(w)[:, 288:].any(axis=1)
    assert int(both.sum()) == 558
    assert w.repairs.totals["memory_synthesised"] == 1950 * 288
    cpu = w.demand[:, :, Resource.CPU]
    assert (cpu >= 0).all()
    assert (cpu <= 1.0).all()
