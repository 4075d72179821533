"""PPO training throughput on the cluster env: SB3's policy against the vectorised ones.

Run ``taskset -c 1 python -m experiments.bench_sb3`` (one torch thread). For each action mode
and policy class it trains PPO as ``experiments.train`` does (``build_model`` with the default
:class:`~shadowsim_policies.sb3.ppo.PpoConfig`: 256 steps per rollout, minibatches of 64, 10
epochs) on the fast env at ``--n-apps`` applications, and reports env steps/s with the split
between collecting rollouts (env steps + policy forward passes) and the PPO updates. The env
alone (random valid actions) is timed too, as the ceiling. Policy classes:

* ``multi_input``: SB3's ``MultiInputPolicy`` (one torch ``Categorical`` per action dimension:
  400 at 100 applications in the DISCRETE mode), the "before";
* ``grouped_multi_input``: the same MLP with the vectorised distribution
  (:mod:`shadowsim_policies.sb3.multi_categorical`), the "after";
* ``app_set``: one network shared by every application (the default policy class), both
  as one agent for the cluster and per application (``per_app``: one sub-env per
  application, the PPO ``per_app_defaults``: 32 env steps per rollout, minibatches of 400,
  5 epochs; the default of ``experiments.train``).

Torch's distribution argument validation stays on (as in training). The load average is
reported: the figures are only comparable at similar load. Prints a table and, as the last
line, one JSON object. Arguments: ``--n-apps``, ``--steps`` (grouped), ``--sb3-steps``
(SB3's policy, slow in the DISCRETE mode), ``--env-steps``, ``--seed``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecMonitor

from shadowsim.engine.action_codec import ActionMode
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim.workloads.workload import Workload
from shadowsim_envs.cluster_env import ClusterEnv
from shadowsim_policies.sb3.algorithm import ALGORITHMS
from shadowsim_policies.sb3.common import build_model
from shadowsim_policies.sb3.per_app_vec_env import PerAppVecEnv


class RolloutTimer(BaseCallback):
    """Adds up the wall time spent collecting rollouts (the rest of ``learn`` is updates)."""

    def __init__(self) -> None:
        super().__init__()
        self.rollout_s = 0.0
        self._start = 0.0

    def _on_rollout_start(self) -> None:
        self._start = time.perf_counter()

    def _on_rollout_end(self) -> None:
        self.rollout_s += time.perf_counter() - self._start

    def _on_step(self) -> bool:
        return True


def make_env(workload: Workload, mode: ActionMode, seed: int) -> ClusterEnv:
    """The fast env (precomputed forecasts), one-day episodes."""
    return ClusterEnv(
        workload=workload, fast=True, episode_ticks=288, seed=seed,
        engine={"action": {"mode": mode.name}},
    )


def bench_env(workload: Workload, mode: ActionMode, steps: int, seed: int) -> dict[str, float]:
    """Env steps/s with random valid actions (resets included)."""
    env = make_env(workload, mode, seed)
    env.action_space.seed(seed)
    env.reset(seed=seed)
    t0 = time.perf_counter()
    for _ in range(steps):
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        if terminated or truncated:
            env.reset()
    elapsed = time.perf_counter() - t0
    return {"steps": float(steps), "seconds": elapsed, "steps_per_s": steps / elapsed}


def bench_ppo(
    workload: Workload, mode: ActionMode, policy: str, steps: int, seed: int,
    per_app: bool = False,
) -> dict[str, float]:
    """PPO training throughput with one policy class, as ``experiments.train`` trains.

    With ``per_app`` the env is a :class:`PerAppVecEnv` (one sub-env per application) and
    ``steps`` and the reported rates count env steps (each A SB3 timesteps).
    """
    algorithm = ALGORITHMS.get("ppo")
    hyper = algorithm.hyperparameters(per_app=per_app)
    venv: VecEnv
    if per_app:
        venv = VecMonitor(PerAppVecEnv([make_env(workload, mode, seed)]))
        per_step = workload.n_apps
    else:
        venv = DummyVecEnv([lambda: make_env(workload, mode, seed)])
        per_step = 1
    model = build_model(algorithm, hyper, venv, seed, policy)
    timer = RolloutTimer()
    t0 = time.perf_counter()
    model.learn(total_timesteps=steps * per_step, callback=timer)
    elapsed = time.perf_counter() - t0
    done = int(model.num_timesteps) // per_step
    venv.close()
    return {
        "timesteps": float(done),
        "seconds": elapsed,
        "timesteps_per_s": done / elapsed,
        "rollout_s": timer.rollout_s,
        "update_s": elapsed - timer.rollout_s,
        "rollout_ms_per_step": 1e3 * timer.rollout_s / done,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the table, and print the JSON summary as the last line."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n-apps", type=int, default=100)
    parser.add_argument("--steps", type=int, default=2048)
    parser.add_argument("--sb3-steps", type=int, default=256)
    parser.add_argument("--env-steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    np.random.seed(args.seed)
    workload = SyntheticGenerator(
        SyntheticConfig(n_apps=args.n_apps, n_ticks=8064, seed=args.seed)
    ).load()
    load_before = os.getloadavg()[0]
    rows: dict[str, dict[str, float]] = {}
    for mode in (ActionMode.DISCRETE, ActionMode.CONTINUOUS):
        key = mode.name.lower()
        rows[f"env_{key}"] = bench_env(workload, mode, args.env_steps, args.seed)
        runs = [("multi_input", args.sb3_steps), ("grouped_multi_input", args.steps)]
        if mode is ActionMode.DISCRETE:
            runs.append(("app_set", args.steps))
        for policy, steps in runs:
            rows[f"ppo_{key}_{policy}"] = bench_ppo(workload, mode, policy, steps, args.seed)
    rows["ppo_discrete_app_set_per_app"] = bench_ppo(
        workload, ActionMode.DISCRETE, "app_set", args.steps, args.seed, per_app=True
    )
    load_after = os.getloadavg()[0]
    print(f"PPO training throughput: {args.n_apps} applications, one torch thread, "
          f"PpoConfig defaults (n_steps 256, batch 64, 10 epochs; per_app: its defaults)")
    print(f"(1-min load average {load_before:.2f} before, {load_after:.2f} after, on "
          f"{os.cpu_count()} CPUs; affinity {sorted(os.sched_getaffinity(0))})")
    print(f"{'run (env steps)':<36}{'steps':>7}{'steps/s':>9}{'rollout ms/step':>17}"
          f"{'update s':>10}")
    for name, row in rows.items():
        if name.startswith("env_"):
            print(f"{name + ' (random actions)':<36}{row['steps']:>7.0f}{row['steps_per_s']:>9.1f}")
        else:
            print(
                f"{name:<36}{row['timesteps']:>7.0f}{row['timesteps_per_s']:>9.1f}"
                f"{row['rollout_ms_per_step']:>17.1f}{row['update_s']:>10.1f}"
            )
    speedup = {
        mode: rows[f"ppo_{mode}_grouped_multi_input"]["timesteps_per_s"]
        / rows[f"ppo_{mode}_multi_input"]["timesteps_per_s"]
        for mode in ("discrete", "continuous")
    }
    print(f"speed-up of the grouped policy: discrete x{speedup['discrete']:.1f}, "
          f"continuous x{speedup['continuous']:.2f} (same network; continuous is unchanged)")
    summary = {
        "n_apps": args.n_apps,
        **rows,
        "speedup": speedup,
        "load_average_before": load_before,
        "load_average_after": load_after,
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
