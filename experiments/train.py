"""Train a stable-baselines3 agent on the cluster env and save it without pickle.

    python -m experiments.train                                   # PPO, synthetic workload
    python -m experiments.train train.total_timesteps=80000
    python -m experiments.train train.algorithm=recurrent_ppo train.per_app=false
    python -m experiments.train workload=bitbrains \\
        workload.path=../shared/traces/bitbrains_rnd/2013-8
    python -m experiments.train '+train.hyperparameters.n_steps=64'

The default (``conf/train.yaml``) trains PPO per application (``train.per_app``): one
network shared by every application (policy class ``app_set``), each application a sub-env
with its own share of the reward (:mod:`shadowsim_policies.sb3.per_app_vec_env`); counts
(``total_timesteps``, ``eval_every``, ``checkpoint_every``) are env steps. Training episodes
start at random before the test window (``env.test_window_s``, the last week), so the test
window stays unseen; evaluation episodes use other seeds of the same training part, the same
ones at every evaluation. The agent (JSON metadata + safetensors, see
:mod:`shadowsim_policies.sb3.persistence`) goes to ``<hydra output dir>/agent/final``, the best
evaluated one to ``agent/best`` and checkpoints to ``agent/checkpoints/step_N``. The run is
logged to MLflow (params, evaluation returns, training episode returns, throughput). The
last printed line is one JSON object (with ``cpu_s``, the process CPU time of training).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
from omegaconf import DictConfig, OmegaConf

from experiments.entry_point import entry_point
from shadowsim.config_store import build_config, register_configs
from shadowsim.sim.config import ClusterConfig
from shadowsim.workloads.loading import load_workload
from shadowsim.workloads.workload import Workload
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_envs.env_config import EnvConfig
from shadowsim_policies.sb3.common import TrainConfig, train_agent
from shadowsim_policies.workload_fit import fit_env_to_workload

register_configs()


@dataclass(frozen=True)
class ClusterEnvFactory:
    """Builds training env ``i`` (seed ``env.seed + i``); picklable for SubprocVecEnv.

    Attributes:
        workload: The workload.
        cluster: The simulated cluster.
        env: Env settings (``test_window`` is forced off: training never sees the test week).
        forecaster: A ``conf/forecaster`` node as a plain dict, or None (env's default).
    """

    workload: Workload
    cluster: ClusterConfig
    env: EnvConfig
    forecaster: dict[str, Any] | None = None

    def __call__(self, index: int) -> gym.Env[Any, Any]:
        from dataclasses import replace

        from shadowsim.shadow.forecasters.configs import forecaster_config_from_node

        forecaster = None
        if self.forecaster is not None:
            forecaster = forecaster_config_from_node(self.forecaster).build(
                float(self.workload.interval_s)
            )
        config = replace(self.env, test_window=False, seed=self.env.seed + index)
        return ClusterEnv(self.workload, self.cluster, forecaster=forecaster, config=config)


def plain_mapping(node: Any) -> dict[str, Any]:
    """A config node as a plain dict with string keys (resolved); ``{}`` for None."""
    data = OmegaConf.to_container(node, resolve=True) if node is not None else {}
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}


def env_factory_from(cfg: DictConfig) -> ClusterEnvFactory:
    """The training envs of a composed config: its ``workload``, ``cluster``, ``env`` and
    (optional) ``forecaster`` nodes; on a workload too short for them the test window and
    the history windows are shrunk (:func:`~shadowsim_policies.workload_fit.
    fit_env_to_workload`), each change printed."""
    workload = load_workload(cfg.workload)
    cluster = build_config(ClusterConfig, cfg.cluster, key="cluster")
    env_config = build_config(EnvConfig, cfg.env, key="env")
    env_config, cluster, notes = fit_env_to_workload(
        workload.n_ticks, workload.interval_s, env_config, cluster
    )
    for note in notes:
        print(f"short workload: {note}")
    forecaster = cfg.get("forecaster")
    plain = plain_mapping(forecaster) if forecaster is not None else None
    return ClusterEnvFactory(workload, cluster, env_config, plain)


@entry_point("train")
def main(cfg: DictConfig) -> None:
    """Hydra entry point (see the module docstring)."""
    import torch
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import get_original_cwd

    from experiments.tracking import RunLogger

    torch.set_num_threads(int(cfg.threads))
    factory = env_factory_from(cfg)
    workload, node = factory.workload, factory.forecaster
    train_node = plain_mapping(cfg.train)
    config = TrainConfig(**train_node)
    out_dir = Path(HydraConfig.get().runtime.output_dir)
    root = Path(get_original_cwd()) / str(cfg.tracking_root or "outputs/mlflow")
    facts = {"workload": workload.source, "n_apps": workload.n_apps}
    with RunLogger(cfg.tracking_uri, root, str(cfg.experiment), f"train/{config.algorithm}") as run:
        run.log_params(
            {
                "train": train_node,
                "workload": OmegaConf.to_container(cfg.workload, resolve=True),
                "env": OmegaConf.to_container(cfg.env, resolve=True),
                "forecaster": node,
            }
        )
        cpu_start = time.process_time()
        result = train_agent(
            factory, config, out_dir / "agent", log_metric=run.log_metric, training_facts=facts
        )
        cpu_s = time.process_time() - cpu_start
        load = os.getloadavg()[0]
        run.log_metrics(
            {
                "timesteps": result.timesteps,
                "wall_s": result.wall_s,
                "cpu_s": cpu_s,
                "steps_per_s": result.steps_per_s,
                "best_eval_mean_return": max((e[1] for e in result.evaluations), default=None),
            }
        )
        run.set_tags({"algorithm": config.algorithm, "agent_dir": str(result.agent_dir)})
    print(
        f"trained {config.algorithm} ({config.policy or 'default policy'}"
        f"{', per application' if config.per_app else ''}) for {result.timesteps} env steps in "
        f"{result.wall_s:.1f} s wall, {cpu_s:.1f} s CPU ({result.steps_per_s:.0f} steps/s; "
        f"load average {load:.2f}); agent: {result.agent_dir}"
    )
    for step, mean, std in result.evaluations:
        print(f"  evaluation at {step:>8} steps: mean return {mean:.4g} ± {std:.2g}")
    print(f"MLflow run {run.run_id} in {run.tracking_uri}")
    print(
        json.dumps(
            {
                "algorithm": config.algorithm,
                "timesteps": result.timesteps,
                "wall_s": result.wall_s,
                "cpu_s": cpu_s,
                "steps_per_s": result.steps_per_s,
                "load_average": load,
                "per_app": config.per_app,
                "agent_dir": str(result.agent_dir),
                "best_dir": str(result.best_dir) if result.best_dir else None,
                "checkpoints": [str(p) for p in result.checkpoints],
                "evaluations": [
                    {"step": s, "mean_return": m, "std_return": d} for s, m, d in result.evaluations
                ],
                "mlflow_run_id": run.run_id,
            }
        )
    )


if __name__ == "__main__":
    main()
