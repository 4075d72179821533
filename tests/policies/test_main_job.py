"""The main job, python -m experiments.simulate, as the README runs it (on small workloads),
and the fitting of short workloads it relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shadowsim.shadow.service import ShadowConfig
from shadowsim.sim.config import ClusterConfig
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_policies.evaluation import ModeChoice, env_config_for
from shadowsim_policies.oracle import OraclePolicy
from shadowsim_policies.workload_fit import fit_to_workload

ROOT = Path(__file__).resolve().parents[2]


def run_simulate(tmp_path: Path, *overrides: str) -> dict:
    args = [
        sys.executable, "-m", "experiments.simulate", f"hydra.run.dir={tmp_path / 'run'}",
        f"tracking_root={tmp_path / 'mlflow'}", *overrides,
    ]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("n_ticks", "test_ticks"),
    [(288, 144), (576, 276), (2304, 1152), (4 * 2016, 2016)],  # 1 day, 2 days, 8 days, 4 weeks
)
def test_short_workloads_are_fitted_so_the_test_window_runs(n_ticks: int, test_ticks: int):
    workload = SyntheticGenerator(SyntheticConfig(n_apps=3, n_ticks=n_ticks, seed=1)).load()
    fitted = fit_to_workload(n_ticks, 300.0, EnvConfig(), ClusterConfig(), ShadowConfig())
    assert round(fitted.env.test_window_s / 300.0) == test_ticks
    assert bool(fitted.notes) == (n_ticks < 4 * 2016)  # every change is reported
    config = env_config_for(OraclePolicy(), fitted.env, ModeChoice.NATIVE, 0)
    env = ClusterEnv(workload, fitted.cluster, config=config)  # raises if it does not fit
    assert env.test_ticks == test_ticks


@pytest.mark.parametrize(
    ("forecaster", "kept"),
    [("ets", False), ("seasonal_naive", True), ("last_value", True)],
)
def test_a_forecaster_whose_fit_needs_more_than_a_short_workload_gives_way(forecaster, kept):
    # 8 days: 4 to test, 4 before; ETS's fit needs 3 days of calibration plus 48 ticks, more
    # than the training part left there (the validation day and the accuracy seed go first)
    shadow = ShadowConfig(forecaster=forecaster, train_window="5d")
    fitted = fit_to_workload(2304, 300.0, EnvConfig(), ClusterConfig(), shadow)
    assert fitted.shadow.forecaster == (forecaster if kept else "last_value")
    gave_way = [n for n in fitted.notes if "using last_value" in n]
    assert bool(gave_way) == (not kept)
    if not kept:
        assert gave_way[0].startswith("shadow.forecaster ets needs 912 ticks of training history")
    train = fitted.shadow.ticks(300.0)["train"]
    assert fitted.shadow.make_forecaster(300.0).min_fit_history <= train


def test_the_main_job_compares_every_policy_with_the_oracle(tmp_path: Path):
    out = run_simulate(tmp_path, "workload.n_apps=4", "workload.n_ticks=576")  # two days
    assert set(out["policies"]) == {"static_peak", "hpa", "vpa", "seed_threshold", "shadow",
                                    "oracle"}
    oracle = out["policies"]["oracle"]
    assert oracle["sla_violation_rate"] < 0.01  # perfect foresight: (almost) never short
    for name, metrics in out["policies"].items():
        assert metrics["regret"] >= -1e-6, name  # nobody is cheaper than the oracle
        assert 0.0 <= metrics["sla_violation_rate"] <= 1.0
    assert out["shadow"]["champion"]  # shadow models registered
    assert set(out["mlflow_runs"]) == set(out["policies"])
    assert (tmp_path / "run" / "comparison.png").is_file()


def test_a_users_mistake_is_one_line_on_stderr_and_status_2(tmp_path: Path):
    missing = tmp_path / "nowhere"
    args = [
        sys.executable, "-m", "experiments.simulate", f"hydra.run.dir={tmp_path / 'run'}",
        "workload=bitbrains", f"workload.path={missing}",
    ]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        f"error: config key 'workload.path': {missing} does not exist; "
        "check the spelling and the folder"
    )


def test_shadow_models_of_other_data_never_share_a_lineage_and_any_grouping_serves(
    tmp_path: Path,
):
    small = ("workload.n_apps=3", "workload.n_ticks=576", "plot=false", "regret=false",
             "~policies.static_peak", "~policies.hpa", "~policies.vpa", "~policies.seed_threshold")
    first_run = run_simulate(tmp_path, *small)
    first = first_run["shadow"]
    other = run_simulate(tmp_path, *small, "workload.seed=1")["shadow"]  # one MLflow store
    again = run_simulate(tmp_path, *small)["shadow"]
    (name,) = first["models"]
    (other_name,) = other["models"]
    assert name.startswith("shadow-synthetic-")
    assert name.endswith("-global")
    assert other_name != name
    # the other seed's model was not compared with (nor lost to) the first one's
    assert other["champion"] == {other_name: 1}
    (event,) = other["events"]
    assert "promoted v1 " in event
    assert event.endswith("vs champion none"), event
    # the same data again: its own champion serves, nothing retrained
    assert again["models"] == [name]
    assert again["champion"] == first["champion"] == {name: 1}
    assert again["events"] == []
    # one model per application serves the policy as the global one does (last value is
    # per application either way): the same figures
    per_app = run_simulate(tmp_path, *small, "shadow.grouping=PER_APP")
    models = per_app["shadow"]["models"]
    assert len(models) == 3
    assert all(m.startswith(name.removesuffix("global")) for m in models)
    assert set(per_app["shadow"]["serving"].values()) == {"v1 (last_value)"}
    assert per_app["policies"]["shadow"] == first_run["policies"]["shadow"]
