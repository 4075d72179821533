"""Shared training of SB3 agents: vector envs, progress bar, safe checkpoints, evaluation.

:func:`train_agent` builds the algorithm's model on a vector of envs (``DummyVecEnv`` or
``SubprocVecEnv``; with ``per_app``, a :class:`~shadowsim_policies.sb3.per_app_vec_env.PerAppVecEnv`
in which every application of every env is one sub-env with its own share of the reward),
trains it with SB3's tqdm/rich progress bar, and along the way (callbacks of
:mod:`~shadowsim_policies.sb3.callbacks`, counting env steps)

* saves a checkpoint every ``checkpoint_every`` env steps (:class:`SafeCheckpointCallback`),
* evaluates the deterministic policy every ``eval_every`` steps on separate envs and keeps the
  best one (:class:`EvaluationCallback`); every evaluation replays the same episodes (the
  evaluation envs are re-seeded first), so the returns are comparable,

always in the pickle-free format of :mod:`~shadowsim_policies.sb3.persistence`; the final
agent goes to ``out_dir/final``. Metrics go to an optional ``log_metric(name, value, step)``
callable (``experiments.train`` passes MLflow's).

Reproducibility: the model, the envs and torch are seeded from ``TrainConfig.seed``; env ``i``
of the vector is built by ``env_factory(i)``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import gymnasium as gym
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv, VecEnv, VecMonitor

from shadowsim.errors import ConfigError, UnknownNameError
from shadowsim_envs.env_config import EnvConfig
from shadowsim_policies.engine_settings import engine_settings
from shadowsim_policies.policy_config import freeze, number
from shadowsim_policies.sb3.algorithm import ALGORITHMS, Algorithm, Hyperparameters
from shadowsim_policies.sb3.app_split import AppSplit, AppSplitPredictor
from shadowsim_policies.sb3.callbacks import (
    EpisodeLogger,
    EvaluationCallback,
    MetricLogger,
    SafeCheckpointCallback,
)
from shadowsim_policies.sb3.hyperparameters import minibatch_dividing
from shadowsim_policies.sb3.per_app_vec_env import PerAppVecEnv
from shadowsim_policies.sb3.persistence import save_agent

__all__ = [
    "EnvFactory",
    "EvaluationCallback",
    "MetricLogger",
    "SafeCheckpointCallback",
    "TrainConfig",
    "TrainResult",
    "VecEnvKind",
    "build_model",
    "make_vec_env",
    "train_agent",
]

EnvFactory = Callable[[int], gym.Env[Any, Any]]
"""Builds env number ``i`` of a vector (must be picklable for SubprocVecEnv)."""

LOG = logging.getLogger(__name__)


class VecEnvKind(Enum):
    """How the training envs run."""

    DUMMY = "dummy"
    """All envs in this process, one after the other."""
    SUBPROC = "subproc"
    """One process per env."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train (works with and without Hydra).

    Attributes:
        algorithm: Catalog name: ppo, a2c, dqn, recurrent_ppo.
        policy: Policy class name (see :mod:`~shadowsim_policies.sb3.policy_classes`), or
            None for the algorithm's default (``app_set`` for ppo and a2c,
            ``grouped_recurrent_multi_input`` for recurrent_ppo; SB3's own ``multi_input``
            is much slower on the DISCRETE mode's many action dimensions).
        total_timesteps: Env steps to train for (over all envs; with ``per_app`` still steps
            of the cluster envs, each A SB3 timesteps).
        n_envs: Envs in the vector.
        vec_env: DUMMY or SUBPROC.
        seed: Seed of the model, the envs and torch.
        checkpoint_every: Save a checkpoint every this many env steps (0 = none).
        eval_every: Evaluate every this many env steps (0 = only at the end).
        eval_episodes: Episodes per evaluation.
        progress_bar: Show SB3's tqdm/rich progress bar.
        hyperparameters: Fields of the algorithm's config dataclass (others default).
        per_app: Train ONE policy that decides for each application from its part of the
            observation and its share of the reward (:class:`PerAppVecEnv`); PPO and A2C
            only, with ``pool_control: AUTO``. The algorithm's ``n_steps`` then counts env
            steps per rollout, each giving A samples per env; hyper-parameters not given
            start from the algorithm's ``per_app_defaults``.
    """

    algorithm: str = "ppo"
    policy: str | None = None
    total_timesteps: int = 10_000
    n_envs: int = 1
    vec_env: VecEnvKind = VecEnvKind.DUMMY
    seed: int = 0
    checkpoint_every: int = 0
    eval_every: int = 0
    eval_episodes: int = 1
    progress_bar: bool = True
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    per_app: bool = False

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            unknown = UnknownNameError("SB3 algorithm", str(self.algorithm), ALGORITHMS.names())
            raise ConfigError("train.algorithm", str(unknown))
        if self.policy is not None:
            ALGORITHMS.get(self.algorithm).policy_name(str(self.policy), key="train.policy")
        kind = self.vec_env
        if not isinstance(kind, VecEnvKind):
            match = [k for k in VecEnvKind if str(kind).lower() in (k.value, k.name.lower())]
            if not match:
                unknown = UnknownNameError("vec env kind", str(kind), [k.value for k in VecEnvKind])
                raise ConfigError("train.vec_env", str(unknown))
            kind = match[0]
        freeze(
            self,
            vec_env=kind,
            total_timesteps=int(number("total_timesteps", self.total_timesteps, low=1)),
            n_envs=int(number("n_envs", self.n_envs, low=1)),
            seed=int(number("seed", self.seed, low=0)),
            checkpoint_every=int(number("checkpoint_every", self.checkpoint_every, low=0)),
            eval_every=int(number("eval_every", self.eval_every, low=0)),
            eval_episodes=int(number("eval_episodes", self.eval_episodes, low=1)),
            progress_bar=bool(self.progress_bar),
            hyperparameters=dict(self.hyperparameters),
            per_app=bool(self.per_app),
        )
        algorithm = ALGORITHMS.get(self.algorithm)
        if self.per_app and (algorithm.recurrent or algorithm.adapt_env is not None):
            raise ConfigError(
                "train.per_app",
                f"per-application training works with ppo and a2c, not {self.algorithm!r}; "
                "set train.per_app=false",
            )
        if self.per_app and self.vec_env is VecEnvKind.SUBPROC:
            raise ConfigError(
                "train.per_app",
                "per-application training runs its envs in this process; set train.vec_env=dummy",
            )


@dataclass
class TrainResult:
    """What :func:`train_agent` produced.

    Attributes:
        agent_dir: The final agent.
        best_dir: The best evaluated agent (None when no evaluation ran).
        checkpoints: Checkpoint directories, oldest first.
        evaluations: ``(step, mean return, std)`` of each evaluation.
        timesteps: Env steps trained.
        wall_s: Training wall time, s.
    """

    agent_dir: Path
    best_dir: Path | None
    checkpoints: list[Path]
    evaluations: list[tuple[int, float, float]]
    timesteps: int
    wall_s: float

    @property
    def steps_per_s(self) -> float:
        """Training throughput, env steps per s."""
        return self.timesteps / self.wall_s if self.wall_s > 0 else math.inf


def make_vec_env(
    env_factory: EnvFactory, n_envs: int, kind: VecEnvKind, algorithm: Algorithm
) -> VecEnv:
    """A vector of ``n_envs`` monitored envs, adapted to the algorithm's action space."""
    fns = [_EnvBuilder(env_factory, i, algorithm) for i in range(n_envs)]
    if kind is VecEnvKind.SUBPROC and n_envs > 1:
        return SubprocVecEnv(fns)  # type: ignore[arg-type]
    return DummyVecEnv(fns)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _EnvBuilder:
    """Picklable thunk building env ``index`` (SubprocVecEnv sends it to the worker)."""

    factory: EnvFactory
    index: int
    algorithm: Algorithm

    def __call__(self) -> gym.Env[Any, Any]:
        env = self.factory(self.index)
        if self.algorithm.adapt_env is not None:
            env = self.algorithm.adapt_env(env)
        return Monitor(env)


def build_model(
    algorithm: Algorithm,
    hyper: Hyperparameters,
    venv: VecEnv,
    seed: int,
    policy: str | None = None,
) -> BaseAlgorithm:
    """The SB3 model of ``algorithm`` on ``venv`` (CPU, seeded).

    Args:
        algorithm: The algorithm.
        hyper: Its hyper-parameters.
        venv: The training envs.
        seed: Seed of the model.
        policy: Policy class name, or None for the algorithm's default.

    Raises:
        ConfigError: ``policy`` is not a policy class of the algorithm.
    """
    return algorithm.model_class(
        algorithm.policy_class(policy),
        venv,
        seed=seed,
        device="cpu",
        verbose=0,
        policy_kwargs=hyper.policy_kwargs(),
        **hyper.model_kwargs(),
    )


def train_agent(
    env_factory: EnvFactory,
    config: TrainConfig,
    out_dir: str | Path,
    *,
    eval_env_factory: EnvFactory | None = None,
    log_metric: MetricLogger | None = None,
    training_facts: dict[str, Any] | None = None,
) -> TrainResult:
    """Train ``config.algorithm`` on envs from ``env_factory`` and save it.

    Args:
        env_factory: Builds training env ``i``.
        config: How to train.
        out_dir: Output folder: ``final/``, ``best/``, ``checkpoints/step_<n>/``.
        eval_env_factory: Builds evaluation envs (default: ``env_factory`` with indices after
            the training envs).
        log_metric: Optional ``log_metric(name, value, step)``.
        training_facts: JSON-able facts stored in the agents' metadata (workload, ...).

    Returns:
        The :class:`TrainResult`.

    Raises:
        ConfigError: Unknown hyper-parameters.
        ActionError: The env's action space does not fit the algorithm (DQN).
        PolicyError: ``per_app`` with spaces that cannot be split per application.
    """
    algorithm = ALGORITHMS.get(config.algorithm)
    hyper = algorithm.hyperparameters(config.hyperparameters, per_app=config.per_app)
    out = Path(out_dir)
    probe = env_factory(0)
    env_action_space = probe.action_space
    facts = dict(training_facts or {})
    env_config = getattr(probe.unwrapped, "config", None)
    if isinstance(env_config, EnvConfig):  # what evaluation adopts (engine_settings.py)
        facts.setdefault("env_engine", engine_settings(env_config.engine))
    split = AppSplit(probe.observation_space, probe.action_space) if config.per_app else None
    probe.close()
    venv: VecEnv
    if split is not None:
        venv = VecMonitor(PerAppVecEnv([env_factory(i) for i in range(config.n_envs)]))
        per_step = split.n_apps
    else:
        venv = make_vec_env(env_factory, config.n_envs, config.vec_env, algorithm)
        per_step = 1
    hyper = _fit_minibatch(hyper, venv.num_envs, explicit="batch_size" in config.hyperparameters)
    model = build_model(algorithm, hyper, venv, config.seed, config.policy)
    facts.update(seed=config.seed, n_envs=config.n_envs, per_app=config.per_app)

    def save(m: BaseAlgorithm, directory: Path) -> Path:
        info = dict(facts, timesteps=int(m.num_timesteps) // per_step)
        return save_agent(
            m, algorithm, hyper, directory, env_action_space=env_action_space, training=info,
            split=split,
        )

    callbacks: list[BaseCallback] = []
    checkpoint = None
    if config.checkpoint_every:
        checkpoint = SafeCheckpointCallback(
            config.checkpoint_every, out / "checkpoints", save, per_step
        )
        callbacks.append(checkpoint)
    evaluation = None
    eval_venv = None
    if config.eval_every or eval_env_factory is not None:
        factory = eval_env_factory or _Shifted(env_factory, config.n_envs)
        eval_venv = make_vec_env(factory, 1, VecEnvKind.DUMMY, algorithm)
        evaluation = EvaluationCallback(
            config.eval_every or config.total_timesteps, eval_venv, config.eval_episodes,
            out / "best", save, log_metric, seed=config.seed + config.n_envs,
            predictor=_SplitPredictor(split) if split is not None else None,
            timesteps_per_step=per_step,
        )
        callbacks.append(evaluation)
    if log_metric is not None:
        callbacks.append(EpisodeLogger(log_metric, per_step))
    start = time.perf_counter()
    model.learn(
        total_timesteps=config.total_timesteps * per_step,
        callback=CallbackList(callbacks),
        progress_bar=config.progress_bar,
    )
    wall = time.perf_counter() - start
    steps = int(model.num_timesteps) // per_step
    if evaluation is not None and (not evaluation.history or evaluation.history[-1][0] != steps):
        evaluation.evaluate()
    final = save(model, out / "final")
    venv.close()
    if eval_venv is not None:
        eval_venv.close()
    return TrainResult(
        agent_dir=final,
        best_dir=out / "best" if evaluation is not None else None,
        checkpoints=list(checkpoint.saved) if checkpoint is not None else [],
        evaluations=list(evaluation.history) if evaluation is not None else [],
        timesteps=steps,
        wall_s=wall,
    )


@dataclass(frozen=True)
class _SplitPredictor:
    """``model -> AppSplitPredictor(model, split)`` (per-application models on whole envs)."""

    split: AppSplit

    def __call__(self, model: BaseAlgorithm) -> AppSplitPredictor:
        return AppSplitPredictor(model, self.split)


@dataclass(frozen=True)
class _Shifted:
    """``factory(offset + i)``: evaluation envs seeded apart from the training envs."""

    factory: EnvFactory
    offset: int

    def __call__(self, index: int) -> gym.Env[Any, Any]:
        return self.factory(self.offset + index)


def _fit_minibatch(hyper: Hyperparameters, n_envs: int, *, explicit: bool) -> Hyperparameters:
    """``hyper`` with a minibatch size that divides the rollout, unless the user chose it.

    Only for algorithms with rollouts cut into minibatches (``n_steps`` and ``batch_size``:
    PPO, RecurrentPPO); ``n_envs`` is the vectorised env's count (per-application training:
    envs x applications). The change is logged and saved with the agent.
    """
    n_steps = getattr(hyper, "n_steps", None)
    batch = getattr(hyper, "batch_size", None)
    if explicit or not isinstance(n_steps, int) or not isinstance(batch, int):
        return hyper
    rollout = n_steps * n_envs
    fitted = minibatch_dividing(batch, rollout)
    if fitted == batch:
        return hyper
    LOG.info(
        "batch_size %d -> %d: a divisor of the rollout (%d steps x %d envs = %d samples), so no "
        "minibatch is cut short; set train.hyperparameters.batch_size to keep yours",
        batch, fitted, n_steps, n_envs, rollout,
    )
    return dataclasses.replace(hyper, batch_size=fitted)  # type: ignore[type-var]
