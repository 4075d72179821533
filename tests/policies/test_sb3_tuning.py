"""Hyper-parameter search with Ray Tune: the search space's checks, a real search, the CLI."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shadowsim.errors import ConfigError
from shadowsim_policies.sb3.search_space import Dimension, Distribution, parse_search_space
from shadowsim_policies.sb3.tuning import SchedulerKind, TuneConfig

REPO = Path(__file__).resolve().parents[2]
needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="Ray Tune is not installed: pip install 'shadowsim[ray]' (CI installs it)",
)


def test_a_search_space_becomes_dimensions() -> None:
    dims = parse_search_space(
        {
            "learning_rate": {"loguniform": [1e-4, 1e-2]},
            "n_epochs": {"choice": [3, 5]},
            "n_steps": {"randint": [8, 33]},
            "gamma": {"uniform": [0.9, 0.999]},
        },
        "ppo",
    )
    assert dims == (
        Dimension("learning_rate", Distribution.LOGUNIFORM, (1e-4, 1e-2)),
        Dimension("n_epochs", Distribution.CHOICE, (3, 5)),
        Dimension("n_steps", Distribution.RANDINT, (8, 33)),
        Dimension("gamma", Distribution.UNIFORM, (0.9, 0.999)),
    )


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({}, r"'tune\.search_space': expected a mapping of hyper-parameter: distribution"),
        (
            {"learning_rate": {"logunifrom": [1e-4, 1e-2]}},
            r"'tune\.search_space\.learning_rate': unknown distribution 'logunifrom'\. "
            r"Did you mean 'loguniform'",
        ),
        (
            {"learnin_rate": {"loguniform": [1e-4, 1e-2]}},
            r"'tune\.search_space\.learnin_rate': unknown ppo hyper-parameter 'learnin_rate'\. "
            r"Did you mean 'learning_rate'",
        ),
        (
            {"learning_rate": [1e-4, 1e-2]},
            r"'tune\.search_space\.learning_rate': expected one distribution such as",
        ),
        (
            {"learning_rate": {"uniform": [1e-2, 1e-4]}},
            r"'tune\.search_space\.learning_rate': uniform needs low < high, got \[0\.01, 0\.0",
        ),
        (
            {"learning_rate": {"loguniform": [0, 1e-2]}},
            r"'tune\.search_space\.learning_rate': loguniform needs low > 0",
        ),
        (
            {"n_steps": {"randint": [8.5, 32]}},
            r"'tune\.search_space\.n_steps': randint needs integer bounds",
        ),
        (
            {"learning_rate": {"uniform": [-1.0, 1e-2]}},
            r"'tune\.search_space\.learning_rate'",  # the hyper-parameter's own rule: > 0
        ),
        ({"n_epochs": {"choice": []}}, r"'tune\.search_space\.n_epochs': choice needs at least"),
    ],
)
def test_bad_search_spaces_name_the_key(space: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_search_space(space, "ppo")


def test_tune_config_checks_its_fields() -> None:
    assert TuneConfig(scheduler="ASHA").scheduler is SchedulerKind.ASHA  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"'tune\.scheduler': unknown scheduler 'ahsa'"):
        TuneConfig(scheduler="ahsa")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"'tune\.num_samples'"):
        TuneConfig(num_samples=0)


def test_without_ray_the_error_says_how_to_install_it() -> None:
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from shadowsim_policies.sb3.tuning import load_ray\n"
        "load_ray()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode != 0
    assert "pip install 'shadowsim[ray]'" in done.stderr


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    yield
    ray.shutdown()


def _factory() -> Any:
    from experiments.train import ClusterEnvFactory
    from shadowsim.sim.config import ClusterConfig
    from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
    from shadowsim_envs.env_config import EnvConfig

    workload = SyntheticGenerator(SyntheticConfig(n_apps=2, n_ticks=2880, seed=0)).load()
    return ClusterEnvFactory(workload, ClusterConfig(), EnvConfig(episode_ticks=16))


@needs_ray
def test_a_real_search_trains_ranks_and_repeats(ray_session: None, tmp_path: Path) -> None:
    from shadowsim_policies.sb3 import load_agent
    from shadowsim_policies.sb3.common import TrainConfig
    from shadowsim_policies.sb3.tuning import tune_agents

    train = TrainConfig(
        total_timesteps=64,
        eval_every=32,
        per_app=True,
        hyperparameters={"n_steps": 16, "batch_size": 16},
    )
    space = {"learning_rate": {"loguniform": [1e-4, 1e-2]}, "n_epochs": {"choice": [1, 2]}}
    config = TuneConfig(search_space=space, num_samples=2, seed=3)
    first = tune_agents(_factory(), train, config, tmp_path / "a")
    assert len(first.trials) == 2
    returns = [t.best_mean_return for t in first.trials]
    assert returns == sorted(returns, reverse=True)
    for trial in first.trials:
        assert not trial.error
        assert 1e-4 <= trial.hyperparameters["learning_rate"] <= 1e-2
        assert trial.hyperparameters["n_epochs"] in (1, 2)
        assert [step for step, _ in trial.evaluations] == [32, 64]
        assert trial.best_mean_return == max(r for _, r in trial.evaluations)
        assert trial.agent_dir is not None
        assert trial.agent_dir.is_relative_to(tmp_path / "a" / "trials")
    agent = load_agent(first.best.best_dir or first.best.agent_dir)
    assert agent.name == "sb3_ppo"
    # the same seeds: the same samples, and the same training
    again = tune_agents(_factory(), train, config, tmp_path / "b")
    key = lambda t: t.trial_id.rsplit("_", 1)[1]  # noqa: E731 - the trial's index
    for a, b in zip(sorted(first.trials, key=key), sorted(again.trials, key=key), strict=True):
        assert a.hyperparameters == b.hyperparameters
        assert a.evaluations == b.evaluations


@needs_ray
def test_tune_command_line_logs_every_trial(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    args = [
        sys.executable, "-m", "experiments.tune", f"hydra.run.dir={tmp_path / 'run'}",
        f"tracking_root={tmp_path / 'mlflow'}", "workload.n_apps=2", "workload.n_ticks=2880",
        "env.episode_ticks=16", "train.total_timesteps=96", "train.eval_every=32",
        "+train.hyperparameters.n_steps=16", "+train.hyperparameters.batch_size=16",
        "tune.num_samples=3", "tune.scheduler=asha", "tune.num_cpus=2",
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(out["trials"]) == 3
    assert out["best"] == out["trials"][0]
    assert out["best"]["best_dir"] is not None
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("shadowsim-tune")
    assert experiment is not None
    runs = client.search_runs([experiment.experiment_id], f"tags.search = '{out['search']}'")
    roles = sorted(r.data.tags["role"] for r in runs)
    assert roles == ["search", "trial", "trial", "trial"]
    search = next(r for r in runs if r.data.tags["role"] == "search")
    assert search.data.tags["best_trial"] == out["best"]["trial_id"]


def test_bad_search_space_on_the_command_line_is_one_clear_line(tmp_path: Path) -> None:
    args = [
        sys.executable, "-m", "experiments.tune", f"hydra.run.dir={tmp_path / 'run'}",
        "workload.n_apps=2", "workload.n_ticks=2880",
        "~tune.search_space.learning_rate",  # a new distribution: drop the default, add one
        "+tune.search_space.learning_rate={logunifrom: [1e-4, 1e-2]}",
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 2
    assert (
        "error: config key 'tune.search_space.learning_rate': unknown distribution" in done.stderr
    )


def test_an_episode_that_does_not_fit_fails_before_any_trial(tmp_path: Path) -> None:
    args = [
        sys.executable, "-m", "experiments.tune", f"hydra.run.dir={tmp_path / 'run'}",
        "workload.n_apps=2", "workload.n_ticks=2304",  # (fitted: a 1,152-tick test window)
        "forecaster=seasonal_naive", "forecaster.season=1w",  # a week of history per forecast
    ]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "error: config key 'env.episode_ticks': the workload has 2304 ticks" in done.stderr
    assert "needs 2028 ticks of history before it (warm-up" in done.stderr
    assert not (tmp_path / "run" / "ray").exists()  # no trial ran
