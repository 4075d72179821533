"""Training callbacks: safe checkpoints, comparable evaluations, episode-return logging.

All count **env steps** (steps of the cluster env): SB3 counts one timestep per sub-env, so
with per-application training (one sub-env per application,
:class:`~shadowsim_policies.sb3.per_app_vec_env.PerAppVecEnv`) each env step is A timesteps;
``timesteps_per_step`` converts.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.vec_env import VecEnv

MetricLogger = Callable[[str, float, int], None]
"""``log_metric(name, value, step)``."""

Saver = Callable[[BaseAlgorithm, Path], Path]
"""``save(model, directory)`` writes one agent."""


class EnvStepCallback(BaseCallback):
    """A callback that counts env steps.

    Args:
        timesteps_per_step: SB3 timesteps per env step (A for per-application training).
    """

    def __init__(self, timesteps_per_step: int = 1) -> None:
        super().__init__()
        self.timesteps_per_step = timesteps_per_step

    @property
    def env_steps(self) -> int:
        """Env steps so far."""
        return int(self.num_timesteps) // self.timesteps_per_step

    def _on_step(self) -> bool:
        return True


class SafeCheckpointCallback(EnvStepCallback):
    """Saves the model every ``every`` env steps in the pickle-free agent format.

    Args:
        every: Env steps between checkpoints (> 0).
        directory: Parent folder; checkpoint ``n`` goes to ``directory/step_<n>``.
        save: ``save(model, directory)`` writes one agent.
        timesteps_per_step: SB3 timesteps per env step.
    """

    def __init__(
        self, every: int, directory: Path, save: Saver, timesteps_per_step: int = 1
    ) -> None:
        super().__init__(timesteps_per_step)
        self.every = every
        self.directory = directory
        self.save = save
        self.saved: list[Path] = []
        self._next = every

    def _on_step(self) -> bool:
        if self.env_steps >= self._next:
            self.saved.append(self.save(self.model, self.directory / f"step_{self.env_steps}"))
            self._next += self.every
        return True


class EvaluationCallback(EnvStepCallback):
    """Evaluates the deterministic policy every ``every`` env steps; keeps the best.

    Args:
        every: Env steps between evaluations (> 0).
        eval_env: The evaluation envs.
        n_episodes: Episodes per evaluation.
        best_dir: Where the best agent so far is saved.
        save: ``save(model, directory)`` writes one agent.
        log_metric: Optional metric logger.
        seed: The evaluation envs are re-seeded with it before every evaluation, so every
            evaluation runs the same episodes (None: they run on, each evaluation other
            episodes).
        predictor: Turns the model into what acts on ``eval_env`` (SB3's ``predict``
            protocol), e.g. a per-application model on whole-cluster envs; None: the model.
        timesteps_per_step: SB3 timesteps per env step.
    """

    def __init__(
        self,
        every: int,
        eval_env: VecEnv,
        n_episodes: int,
        best_dir: Path,
        save: Saver,
        log_metric: MetricLogger | None = None,
        seed: int | None = None,
        predictor: Callable[[BaseAlgorithm], Any] | None = None,
        timesteps_per_step: int = 1,
    ) -> None:
        super().__init__(timesteps_per_step)
        self.seed = seed
        self.every = every
        self.eval_env = eval_env
        self.n_episodes = n_episodes
        self.best_dir = best_dir
        self.save = save
        self.log_metric = log_metric
        self.predictor = predictor
        self.history: list[tuple[int, float, float]] = []
        self.best = -math.inf
        self._next = every

    def evaluate(self) -> None:
        """Run one evaluation now, record it and save the model if it is the best."""
        if self.seed is not None:
            self.eval_env.seed(self.seed)
        actor = self.predictor(self.model) if self.predictor is not None else self.model
        mean, std = evaluate_policy(
            actor, self.eval_env, n_eval_episodes=self.n_episodes, deterministic=True,
            warn=False,
        )
        mean_f, std_f = float(mean), float(std)  # type: ignore[arg-type]
        self.history.append((self.env_steps, mean_f, std_f))
        if mean_f > self.best:  # saved before it is logged: a logger may end the training
            self.best = mean_f  # (a hyper-parameter search stopping a trial early)
            self.save(self.model, self.best_dir)
        if self.log_metric is not None:
            self.log_metric("eval_mean_return", mean_f, self.env_steps)

    def _on_step(self) -> bool:
        if self.env_steps >= self._next:
            self.evaluate()
            self._next += self.every
        return True


class EpisodeLogger(EnvStepCallback):
    """Sends the training episodes' returns (from Monitor/VecMonitor) to the metric logger.

    When several sub-envs end an episode on the same step (the applications of one cluster
    env, per-application training) their mean return is logged once: with per-application
    rewards that mean is the cluster env's return.

    Args:
        log_metric: The metric logger.
        timesteps_per_step: SB3 timesteps per env step.
    """

    def __init__(self, log_metric: MetricLogger, timesteps_per_step: int = 1) -> None:
        super().__init__(timesteps_per_step)
        self.log_metric = log_metric

    def _on_step(self) -> bool:
        returns = [
            float(info["episode"]["r"])
            for info in self.locals.get("infos", [])
            if info.get("episode") is not None
        ]
        if returns:
            self.log_metric("train_episode_return", float(np.mean(returns)), self.env_steps)
        return True
