"""The Hydra entry points experiments.evaluate and experiments.train, run as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from shadowsim_policies.sb3 import load_agent

ROOT = Path(__file__).resolve().parents[2]


def run_module(module: str, tmp_path: Path, *overrides: str) -> dict:
    """Run ``python -m module overrides`` in the repo root; the last line as JSON."""
    args = [
        sys.executable, "-m", module, f"hydra.run.dir={tmp_path / 'run'}",
        f"tracking_root={tmp_path / 'mlflow'}", *overrides,
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_evaluate_prints_the_metrics_as_the_last_line(tmp_path):
    out = run_module(
        "experiments.evaluate", tmp_path, "policy=vpa", "workload.n_apps=3",
        "workload.n_ticks=2304", "env.test_window_s=43200", "seeds=[0,1]",
    )
    assert out["policy"] == "vpa"
    assert out["seeds"] == [0, 1]
    assert out["n_ticks"] == 144
    assert [s["seed"] for s in out["per_seed"]] == [0, 1]
    for key in ("cost", "slack_cpu", "sla_violation_rate", "sla_violation_rate_high", "regret"):
        assert key in out["metrics"]
    assert out["metrics"]["regret"] >= 0.0  # the oracle is the lower bound on cost
    assert (tmp_path / "mlflow" / "mlflow.db").is_file()


def test_evaluate_fits_a_short_workload_and_says_so(tmp_path):
    args = [
        sys.executable, "-m", "experiments.evaluate", "policy=hpa", "workload.n_apps=3",
        "workload.n_ticks=576", "regret=false",  # two days: no week to test on
        f"hydra.run.dir={tmp_path / 'run'}", f"tracking_root={tmp_path / 'mlflow'}",
    ]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    lines = done.stdout.strip().splitlines()
    assert "short workload: test window 2016 -> 276 ticks (the workload has 576 ticks)" in lines
    out = json.loads(lines[-1])
    assert out["n_ticks"] == 276


def test_evaluate_refuses_an_unknown_policy(tmp_path):
    args = [sys.executable, "-m", "experiments.evaluate", "policy=hpaa",
            f"hydra.run.dir={tmp_path}"]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert done.returncode != 0
    assert "hpa" in done.stderr  # Hydra lists the available options


@pytest.mark.slow
def test_train_saves_an_agent_that_evaluate_can_load(tmp_path):
    out = run_module(
        "experiments.train", tmp_path, "workload.n_apps=2", "workload.n_ticks=2304",
        "env.episode_ticks=16", "env.test_window_s=43200", "train.total_timesteps=32",
        "train.eval_every=0", "train.checkpoint_every=16", "train.progress_bar=false",
        "+train.hyperparameters.n_steps=16", "+train.hyperparameters.batch_size=16",
    )
    assert out["timesteps"] == 32
    assert len(out["checkpoints"]) == 2
    agent = load_agent(out["agent_dir"])
    assert agent.algorithm == "ppo"
    evaluated = run_module(
        "experiments.evaluate", tmp_path / "eval", "policy=sb3", f"policy.path={out['agent_dir']}",
        "workload.n_apps=2", "workload.n_ticks=2304", "env.test_window_s=43200", "regret=false",
    )
    assert evaluated["policy"] == "sb3_ppo"
