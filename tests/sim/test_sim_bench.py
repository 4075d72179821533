"""experiments.bench_sim and bench_sim_scaling run end to end on small cases; their last line
is the JSON summary."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from experiments import bench_sim, bench_sim_scaling
from shadowsim.errors import ConfigError


def _run(
    main: Callable[[], None],
    env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> tuple[list[str], dict[str, Any]]:
    """Run a benchmark's ``main`` with ``env`` set; its printed lines and last-line JSON."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    main()
    lines = capsys.readouterr().out.strip().splitlines()
    return lines, json.loads(lines[-1])


def test_bench_sim_small(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {
        "BENCH_SIM_APPS": "30",
        "BENCH_SIM_TICKS": "24",
        "BENCH_SIM_NAIVE_TICKS": "6",
        "BENCH_SIM_REPEATS": "1",
    }
    lines, summary = _run(bench_sim.main, env, monkeypatch, capsys)
    for key in ("vm_steps_per_s", "naive_vm_steps_per_s", "speedup"):
        assert summary[key] > 0
    assert summary["n_vms"] == 30
    assert summary["n_ticks"] == 24
    assert set(summary["vm_steps_per_s_by_control_every"]) == {"1", "3", "12"}
    assert summary["kpi_max_rel_diff"] == 0.0
    assert summary["violations_identical"]
    assert any("naive" in line for line in lines[:-1])
    assert summary["kernel"] in {"jit", "numpy"}
    assert summary["numpy_vm_steps_per_s"] > 0
    assert summary["load_avg_1m_before"] >= 0
    assert summary["vm_steps_per_cpu_s"] > 0
    assert summary["us_per_tick"] > 0
    assert 0 < summary["median_us_per_tick"] < 24 * summary["us_per_tick"]
    rate = summary["vm_steps_per_s_at_median_tick"]
    assert rate == pytest.approx(30 / summary["median_us_per_tick"] * 1e6)
    assert any(line.startswith("median control interval") for line in lines)


def test_bench_sim_refuses_an_unknown_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_SIM_KERNEL", "FAST")
    with pytest.raises(ConfigError) as info:
        bench_sim.main()
    assert info.value.key == "BENCH_SIM_KERNEL"
    assert "JIT" in str(info.value)


def test_bench_sim_scaling_fits_fixed_and_per_vm_costs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = {"BENCH_SIM_SIZES": "10,40", "BENCH_SIM_TICKS": "24", "BENCH_SIM_REPEATS": "1"}
    lines, summary = _run(bench_sim_scaling.main, env, monkeypatch, capsys)
    assert summary["sizes"] == [10, 40]
    assert len(summary["us_per_tick"]) == 2
    assert all(us > 0 for us in summary["us_per_tick"])
    # two sizes: the line goes through both points
    for n_vms, us in zip(summary["sizes"], summary["us_per_tick"], strict=True):
        fit = summary["fixed_us_per_tick"] + summary["ns_per_vm_tick"] * 1e-3 * n_vms
        assert fit == pytest.approx(us, rel=1e-6)
    assert any(line.startswith("fit:") for line in lines[:-1])


@pytest.mark.parametrize(
    ("text", "needle"),
    [("100,abc", "'abc'"), ("100,0", "at least 1 VM"), ("100,100", "two different sizes")],
)
def test_bench_sim_scaling_refuses_bad_sizes(text: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        bench_sim_scaling.parse_sizes(text)
    assert info.value.key == "BENCH_SIM_SIZES"
    assert needle in str(info.value)
