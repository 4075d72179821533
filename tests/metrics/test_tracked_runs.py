"""Reading runs back from a real MLflow store, and experiments.compare over them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from experiments.tracking import RunLogger
from shadowsim.errors import ConfigError, UnknownNameError
from shadowsim.metrics.episode_metrics import EpisodeMetrics
from shadowsim.metrics.tracked_runs import episode_metrics, load_tracked_runs
from shadowsim.shadow.tracking_store import open_store

ROOT = Path(__file__).resolve().parents[2]


def metrics(cost: float, regret: float | None = None) -> EpisodeMetrics:
    return EpisodeMetrics(
        n_ticks=288, n_apps=3, cost=cost, cost_allocation=cost - 1.0, cost_pool=1.0,
        cost_migration=0.0, relative_slack=(0.2, 0.3, 0.5, 0.6), sla_violation_rate=0.01,
        sla_violation_rate_high=0.002, kpi_violation_rate=0.1, kpi_violation_rate_high=0.05,
        throughput_rps=12.5, p95_response_time_s=0.4, migrations=2, regret=regret,
        regret_relative=None if regret is None else regret / 10.0,
    )


def log(root: Path, experiment: str, policy: str, m: EpisodeMetrics) -> str:
    time.sleep(0.01)  # distinct start times (ms), so "newest" is well defined
    with RunLogger(None, root, experiment, f"evaluate/{policy}") as run:
        run.log_metrics({f"mean_{k}": v for k, v in m.as_dict().items()})
        run.set_tags({"policy": policy, "workload": "synthetic"})
        return run.run_id


@pytest.fixture
def store(tmp_path: Path) -> Path:
    root = tmp_path / "mlflow"
    log(root, "shadowsim-evaluate", "hpa", metrics(20.0, 5.0))
    log(root, "shadowsim-evaluate", "vpa", metrics(18.0))
    log(root, "shadowsim-evaluate", "hpa", metrics(19.0, 4.0))  # newer hpa run
    return root


def test_newest_run_per_policy_and_metrics_rebuilt_exactly(store: Path):
    client = open_store(None, store).client()
    runs = load_tracked_runs(client, ["shadowsim-evaluate"])
    assert [r.key for r in runs] == ["hpa", "vpa"]
    assert runs[0].metrics["cost"] == 19.0
    assert episode_metrics(runs[0].metrics) == metrics(19.0, 4.0)
    assert episode_metrics(runs[1].metrics) == metrics(18.0)  # no regret logged: None
    every = load_tracked_runs(client, ["shadowsim-evaluate"], latest_only=False)
    assert [r.key for r in every] == ["hpa", "vpa", "hpa"]
    assert episode_metrics({"cost": 1.0}) is None


def test_bad_names_and_filters_get_clear_errors(store: Path):
    client = open_store(None, store).client()
    with pytest.raises(UnknownNameError, match="Did you mean 'shadowsim-evaluate'"):
        load_tracked_runs(client, ["shadowsim-evaluat"])
    with pytest.raises(ConfigError, match=r"tags\.NAME"):
        load_tracked_runs(client, ["shadowsim-evaluate"], group_by="policy")
    with pytest.raises(ConfigError, match="could not search"):
        load_tracked_runs(client, ["shadowsim-evaluate"], filter_string="tags.policy ===")
    with pytest.raises(ConfigError, match="no finished run"):
        load_tracked_runs(client, ["shadowsim-evaluate"], filter_string="tags.policy = 'x'")


def test_compare_prints_the_sorted_runs_and_plots(store: Path, tmp_path: Path):
    args = [sys.executable, "-m", "experiments.compare", f"hydra.run.dir={tmp_path / 'run'}",
            f"tracking_root={store}"]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["key"] for r in out["runs"]] == ["vpa", "hpa"]  # cheaper first
    assert Path(out["plot"]).is_file()
    bad = subprocess.run([*args, "sort_by=costt"], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert bad.returncode != 0
    assert "no run has the metric 'costt'" in bad.stderr
