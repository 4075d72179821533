"""Search an SB3 agent's hyper-parameters with Ray Tune; log every trial to MLflow.

    python -m experiments.tune                                    # PPO, synthetic workload
    python -m experiments.tune tune.num_samples=8 tune.scheduler=asha
    python -m experiments.tune tune.search_space.learning_rate.loguniform=[1e-5,1e-3]
    python -m experiments.tune '+tune.search_space.gamma={uniform: [0.9, 0.999]}' \
        '~tune.search_space.n_epochs'
    python -m experiments.tune workload=bitbrains \\
        workload.path=../shared/traces/bitbrains_rnd/2013-8

Each trial trains an agent as ``experiments.train`` does (``train`` node: training episodes
before the test window, evaluations on held-out episodes of the training part) with one
sampled set of hyper-parameters (:mod:`shadowsim_policies.sb3.tuning`); trials run in
parallel as Ray workers and are ranked by their best evaluation return. Agents go to
``<hydra output dir>/trials/<trial id>/{final,best}``. Every trial is one MLflow run (params:
its hyper-parameters; metrics: its evaluation returns), tagged with the search's id, and the
search itself one more run naming the best trial. Needs the ``ray`` extra
(``pip install 'shadowsim[ray]'``). The last printed line is one JSON object. Evaluate the best
agent on the test window with ``python -m experiments.evaluate policy=sb3 policy.path=DIR``.
"""

from __future__ import annotations

import math
import os
import uuid
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from experiments.entry_point import entry_point
from experiments.json_line import print_json_line
from experiments.train import env_factory_from, plain_mapping
from shadowsim.config_store import build_config, register_configs
from shadowsim_policies.sb3.common import TrainConfig
from shadowsim_policies.sb3.tuning import TrialResult, TuneConfig, TuneResult, tune_agents

register_configs()


def _trial_row(trial: TrialResult) -> dict[str, Any]:
    return {
        "trial_id": trial.trial_id,
        "hyperparameters": trial.hyperparameters,
        "best_mean_return": trial.best_mean_return,
        "evaluations": [{"step": s, "mean_return": r} for s, r in trial.evaluations],
        "agent_dir": str(trial.agent_dir) if trial.agent_dir else None,
        "best_dir": str(trial.best_dir) if trial.best_dir else None,
        "stopped_early": trial.stopped_early,
        "error": trial.error,
    }


def print_table(result: TuneResult) -> None:
    """The trials, best first: return, hyper-parameters, outcome."""
    names = sorted({k for t in result.trials for k in t.hyperparameters})
    print(f"{'trial':<14} {'best return':>12}  " + "  ".join(f"{n:>14}" for n in names))
    for t in result.trials:
        values = "  ".join(f"{_short(t.hyperparameters.get(n)):>14}" for n in names)
        outcome = "" if t.outcome == "done" else t.outcome
        print(f"{t.trial_id:<14} {t.best_mean_return:12.4g}  {values}  {outcome}")


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


@entry_point("tune")
def main(cfg: DictConfig) -> None:
    """Hydra entry point (see the module docstring)."""
    import torch
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import get_original_cwd

    from experiments.tracking import RunLogger

    torch.set_num_threads(int(cfg.threads))
    factory = env_factory_from(cfg)
    workload, forecaster = factory.workload, factory.forecaster
    train_node = plain_mapping(cfg.train)
    train = TrainConfig(**train_node)
    tune_node = plain_mapping(cfg.tune)
    tune = build_config(TuneConfig, tune_node, key="tune")
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    root = Path(get_original_cwd()) / str(cfg.tracking_root or "outputs/mlflow")
    facts = {"workload": workload.source, "n_apps": workload.n_apps}
    result = tune_agents(factory, train, tune, out_dir, training_facts=facts)

    search = uuid.uuid4().hex[:12]
    experiment = str(cfg.experiment)
    common = {
        "train": train_node,
        "workload": plain_mapping(cfg.workload),
        "env": plain_mapping(cfg.env),
        "forecaster": forecaster,
    }
    for trial in result.trials:
        name = f"tune/{train.algorithm}/{trial.trial_id}"
        tags = {"search": search, "trial_id": trial.trial_id, "role": "trial"}
        with RunLogger(cfg.tracking_uri, root, experiment, name, tags=tags) as run:
            run.log_params({**common, "hyperparameters": trial.hyperparameters})
            for step, value in trial.evaluations:
                run.log_metric("eval_mean_return", value, step)
            if not math.isnan(trial.best_mean_return):
                run.log_metrics({"best_eval_mean_return": trial.best_mean_return})
            run.set_tags(
                {
                    "agent_dir": str(trial.agent_dir or ""),
                    "outcome": trial.outcome,
                }
            )
    best = result.best
    with RunLogger(
        cfg.tracking_uri,
        root,
        experiment,
        f"tune/{train.algorithm}",
        tags={"search": search, "role": "search"},
    ) as run:
        run.log_params({**common, "tune": tune_node})
        run.log_metrics({"best_eval_mean_return": best.best_mean_return, "wall_s": result.wall_s})
        run.set_tags(
            {"best_trial": best.trial_id, "best_agent_dir": str(best.best_dir or best.agent_dir)}
        )

    print(
        f"searched {len(result.trials)} sets of {train.algorithm} hyper-parameters in "
        f"{result.wall_s:.1f} s (load average {os.getloadavg()[0]:.2f}); best return "
        f"{best.best_mean_return:.4g} with {best.hyperparameters}"
    )
    print_table(result)
    print(f"MLflow: experiment {experiment!r}, tag search={search}, in {run.tracking_uri}")
    print_json_line(
        {
            "algorithm": train.algorithm,
            "search": search,
            "best": _trial_row(best),
            "trials": [_trial_row(t) for t in result.trials],
            "wall_s": result.wall_s,
            "mlflow_run_id": run.run_id,
        }
    )


if __name__ == "__main__":
    main()
