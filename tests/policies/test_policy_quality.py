"""The validation holdout and experiments.policy_quality (the issue-4 quality targets)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.policy_quality import check_targets
from shadowsim.errors import ConfigError
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim_policies.evaluation import Holdout, holdout_workloads

ROOT = Path(__file__).resolve().parents[2]
DAY_S = 86_400.0


def workload_for_seed(seed: int):
    return SyntheticGenerator(SyntheticConfig(n_apps=3, n_ticks=3 * 288, seed=seed)).load()


def test_the_validation_holdout_never_sees_the_test_window():
    full = workload_for_seed(0)
    cut = holdout_workloads(workload_for_seed, DAY_S, Holdout.VALIDATION)(0)
    assert cut.n_ticks == full.n_ticks - 288
    # the validation window is the last day of the cut: the day before the test day
    np.testing.assert_array_equal(cut.demand[:, -288:], full.demand[:, -576:-288])
    assert cut.start_time_s == full.start_time_s
    same = holdout_workloads(workload_for_seed, DAY_S, Holdout.TEST)(0)
    np.testing.assert_array_equal(same.demand, full.demand)


def test_a_workload_too_short_for_a_validation_window_is_refused():
    cut = holdout_workloads(workload_for_seed, 3 * DAY_S, Holdout.VALIDATION)
    with pytest.raises(ConfigError, match="holdout=test or a longer workload"):
        cut(0)


def row(cost: float, slack: float, viol: float, high: float) -> tuple[dict, dict]:
    mean = {"cost": cost, "slack_cpu": slack, "sla_violation_rate": viol,
            "sla_violation_rate_high": high}
    return mean, dict.fromkeys(mean, 0.0)


def test_targets_need_lower_cost_and_no_more_violations_than_every_baseline():
    rows = {"shadow": row(100.0, 0.2, 0.05, 0.004), "hpa": row(120.0, 0.3, 0.06, 0.05),
            "vpa": row(99.0, 0.4, 0.07, 0.05)}
    checks = check_targets(rows, "shadow", ["hpa", "vpa"], 0.25, 0.005)
    assert checks["shadow cheaper than hpa"]
    assert not checks["shadow cheaper than vpa"]
    assert checks["shadow: CPU slack <= 0.25"]
    assert checks["shadow: HIGH violations <= 0.005"]
    rows["shadow"] = row(90.0, 0.3, 0.065, 0.006)
    checks = check_targets(rows, "shadow", ["hpa", "vpa"], 0.25, 0.005)
    assert not checks["shadow: CPU slack <= 0.25"]
    assert not checks["shadow: HIGH violations <= 0.005"]
    assert not checks["shadow violations <= hpa's"]
    assert checks["shadow violations <= vpa's"]


def test_targets_name_a_policy_that_did_not_run():
    with pytest.raises(ConfigError, match="must be one of"):
        check_targets({"shadow": row(1, 0, 0, 0)}, "shadow", ["hpaa"], 0.25, 0.005)


def test_policy_quality_runs_every_policy_and_logs_to_mlflow(tmp_path):
    args = [
        sys.executable, "-m", "experiments.policy_quality", f"hydra.run.dir={tmp_path / 'run'}",
        f"tracking_root={tmp_path / 'mlflow'}", "workload.n_apps=3", "workload.n_ticks=576",
        "seeds=[0,1]", "holdout=validation",  # two days: the windows are fitted, twice
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    lines = done.stdout.strip().splitlines()
    out = json.loads(lines[-1])
    assert out["holdout"] == "validation"
    # the test window the whole workload leaves, then the validation window before it
    assert "short workload: test window 2016 -> 276 ticks (the workload has 576 ticks)" in lines
    assert "short workload: test window 276 -> 150 ticks (the workload has 300 ticks)" in lines
    assert out["n_ticks"] == 150
    assert set(out["policies"]) >= {"hpa", "vpa", "shadow", "oracle"}
    for name, stats in out["policies"].items():
        assert stats["mean"]["regret"] >= -1e-9, name  # the oracle is the lower bound on cost
    assert [r["seed"] for r in out["per_seed"]["shadow"]] == [0, 1]
    assert set(out["targets"])
    assert out["targets_met"] == all(out["targets"].values())
    assert set(out["mlflow_runs"]) == set(out["policies"])
    assert Path(out["plot"]).is_file()
    assert (tmp_path / "mlflow" / "mlflow.db").is_file()


def test_a_baseline_that_will_not_run_is_refused_before_anything_runs():
    from experiments.policy_quality import check_names

    check_names(["hpa", "vpa", "shadow", "oracle"], "shadow", ["hpa", "vpa"])
    with pytest.raises(ConfigError, match=r"baselines=\['hpa'\]") as info:
        check_names(["hpa", "shadow", "oracle"], "shadow", ["hpa", "vpa"])
    assert info.value.key == "baselines"
    with pytest.raises(ConfigError, match=r"\+policy@policies.ppo=ppo"):
        check_names(["hpa", "shadow"], "ppo", ["hpa"])
