"""experiments.bench_env runs end to end on a tiny cluster and ends with its JSON summary."""

from __future__ import annotations

import json

import pytest

from experiments.bench_env import main


def test_bench_env_smoke(capsys: pytest.CaptureFixture[str]) -> None:
    summary = main(["--n-apps", "3", "--steps", "24", "--ppo-steps", "16", "--repeat", "2"])
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == json.loads(json.dumps(summary))
    for mode in ("fast", "fast_hold", "fast_numpy_engine", "online"):
        row = summary[mode]
        assert row["steps"] >= 24
        assert row["steps_per_s"] > 0
        assert row["cpu_us"] > 0
        assert row["backend_us"] + row["engine_us"] == pytest.approx(row["timed_step_us"])
        assert row["step_us"] > 0
        assert 0 < row["median_step_us"] < row["steps"] * row["step_us"]
        assert row["steps_per_s_at_median_step"] == pytest.approx(1e6 / row["median_step_us"])
        assert row["apply_us"] + row["advance_us"] == pytest.approx(row["backend_us"])
        assert row["reset_cold_s"] > 0
    assert summary["target_met"] == (summary["fast"]["steps_per_s"] >= 5000.0)
    assert set(summary["ppo"]) == {"discrete", "continuous"}
