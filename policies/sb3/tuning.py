"""Hyper-parameter search for the SB3 agents with Ray Tune (the ``ray`` extra).

:func:`tune_agents` trains one agent per sampled set of hyper-parameters with
:func:`~shadowsim_policies.sb3.common.train_agent`, trials running in parallel as Ray
workers, and ranks them by their best evaluation return (the deterministic policy on the
same held-out episodes of the training part of the workload). Each trial saves its agents
(pickle-free, as ``train_agent`` does) under ``out_dir/trials/<trial id>/``. With the ASHA
scheduler, trials whose evaluations fall behind stop early (every evaluation is reported to
Tune as it happens).

The search space (:mod:`~shadowsim_policies.sb3.search_space`) is checked before Ray starts.
Sampling is seeded (``TuneConfig.seed``), and so is each trial's training
(``TrainConfig.seed``): the same config gives the same trials.

``import shadowsim_policies`` does not import Ray; :func:`tune_agents` does, and says how to
install it when it is missing.
"""

from __future__ import annotations

import importlib
import math
import os
import time
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import Any

from shadowsim.errors import ConfigError, ShadowSimError, UnknownNameError
from shadowsim_policies.policy_config import freeze, number
from shadowsim_policies.sb3.common import EnvFactory, TrainConfig, train_agent
from shadowsim_policies.sb3.search_space import parse_search_space

METRIC = "mean_return"
"""The metric trials report and are ranked by (higher is better)."""


class SchedulerKind(Enum):
    """How trials are scheduled."""

    FIFO = "fifo"
    """Every trial trains to the end."""
    ASHA = "asha"
    """Asynchronous successive halving: trials behind at an evaluation stop early."""


@dataclass(frozen=True)
class TuneConfig:
    """How to search (works with and without Hydra).

    Attributes:
        search_space: Hyper-parameter -> distribution (see the module docstring).
        num_samples: Trials (sampled sets of hyper-parameters).
        max_concurrent_trials: Trials running at once (0: as many as the CPUs allow).
        cpus_per_trial: CPUs Ray reserves for each trial.
        scheduler: FIFO, or ASHA (early stopping at evaluations).
        grace_evaluations: With ASHA, evaluations every trial gets before it may be stopped.
        seed: Seed of the sampling.
        num_cpus: CPUs Ray may use in all (0: every CPU of the machine).
        progress_bar: Show a progress bar of the finished trials (Ray's own console
            reports are off unless ``RAY_AIR_NEW_OUTPUT`` is set).
    """

    search_space: dict[str, Any] = field(
        default_factory=lambda: {"learning_rate": {"loguniform": [1e-4, 3e-3]}}
    )
    num_samples: int = 4
    max_concurrent_trials: int = 0
    cpus_per_trial: float = 1.0
    scheduler: SchedulerKind = SchedulerKind.FIFO
    grace_evaluations: int = 1
    seed: int = 0
    num_cpus: int = 0
    progress_bar: bool = True

    def __post_init__(self) -> None:
        kind = self.scheduler
        if not isinstance(kind, SchedulerKind):
            match = [k for k in SchedulerKind if str(kind).lower() in (k.value, k.name.lower())]
            if not match:
                unknown = UnknownNameError("scheduler", str(kind), [k.value for k in SchedulerKind])
                raise ConfigError("tune.scheduler", str(unknown))
            kind = match[0]
        freeze(
            self,
            scheduler=kind,
            search_space=dict(self.search_space),
            num_samples=int(number("num_samples", self.num_samples, low=1, where="tune")),
            max_concurrent_trials=int(
                number("max_concurrent_trials", self.max_concurrent_trials, low=0, where="tune")
            ),
            cpus_per_trial=number(
                "cpus_per_trial", self.cpus_per_trial, low=0, low_open=True, where="tune"
            ),
            grace_evaluations=int(
                number("grace_evaluations", self.grace_evaluations, low=1, where="tune")
            ),
            seed=int(number("seed", self.seed, low=0, where="tune")),
            num_cpus=int(number("num_cpus", self.num_cpus, low=0, where="tune")),
            progress_bar=bool(self.progress_bar),
        )


@dataclass(frozen=True)
class TrialResult:
    """One trial.

    Attributes:
        trial_id: Ray Tune's id.
        hyperparameters: The sampled values.
        best_mean_return: Best evaluation return (NaN when none was reported).
        evaluations: ``(env step, mean return)`` of each evaluation reported.
        agent_dir: The final agent (None when the trial stopped early or failed).
        best_dir: The best evaluated agent (None likewise).
        error: Why the trial failed ("" when it did not).
    """

    trial_id: str
    hyperparameters: dict[str, Any]
    best_mean_return: float
    evaluations: list[tuple[int, float]]
    agent_dir: Path | None
    best_dir: Path | None
    error: str = ""

    @property
    def stopped_early(self) -> bool:
        """True when the scheduler stopped the trial before the end of its training."""
        return self.agent_dir is None and not self.error

    @property
    def outcome(self) -> str:
        """``done``, ``stopped early``, or the error that ended the trial."""
        return self.error or ("stopped early" if self.stopped_early else "done")


@dataclass(frozen=True)
class TuneResult:
    """A search: every trial, best first, and the wall time, s."""

    trials: list[TrialResult]
    wall_s: float

    @property
    def best(self) -> TrialResult:
        """The trial with the best evaluation return."""
        return self.trials[0]


def load_ray() -> ModuleType:
    """``ray``, or a ConfigError that says how to install it (Ray's console reports of a
    search are turned off unless ``RAY_AIR_NEW_OUTPUT`` is set: the caller reports)."""
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    try:
        return importlib.import_module("ray")
    except ImportError as err:
        raise ConfigError(
            "tune", "hyper-parameter search needs Ray Tune: pip install 'shadowsim[ray]'"
        ) from err


def tune_agents(
    env_factory: EnvFactory,
    train: TrainConfig,
    config: TuneConfig,
    out_dir: str | Path,
    *,
    training_facts: dict[str, Any] | None = None,
) -> TuneResult:
    """Search ``config.search_space`` for ``train.algorithm`` (see the module docstring).

    Args:
        env_factory: Builds env ``i`` (picklable: Ray sends it to the workers).
        train: How each trial trains (its ``hyperparameters`` are the base the samples
            override; ``eval_every`` sets how often trials report).
        config: How to search.
        out_dir: Output folder: ``trials/<id>/{final,best}`` and Ray's own records in ``ray/``.
        training_facts: JSON-able facts stored in the agents' metadata.

    Raises:
        ConfigError: A bad search space or env config (before Ray starts), or Ray missing.
        ShadowSimError: Every trial failed (the first one's error is named).
    """
    dims = parse_search_space(config.search_space, train.algorithm, per_app=train.per_app)
    env_factory(0).close()  # what the envs refuse (an episode that does not fit) fails here
    ray = load_ray()
    from ray import tune
    from ray.tune.search import BasicVariantGenerator

    schedulers: Any = importlib.import_module("ray.tune.schedulers")  # (untyped)

    out = Path(out_dir).resolve()
    if not ray.is_initialized():
        ray.init(
            num_cpus=config.num_cpus or None,
            include_dashboard=False,
            logging_level="WARNING",
            log_to_driver=False,
        )
    every = train.eval_every or train.total_timesteps
    scheduler = (
        schedulers.ASHAScheduler(
            time_attr="env_steps",
            max_t=train.total_timesteps + 1,  # trials that get to the end finish there
            grace_period=every * config.grace_evaluations,
        )
        if config.scheduler is SchedulerKind.ASHA
        else schedulers.FIFOScheduler()
    )
    trainable = tune.with_parameters(
        _run_trial,
        factory=env_factory,
        train=replace(train, progress_bar=False, eval_every=every),
        out=str(out / "trials"),
        facts=dict(training_facts or {}),
        threads=max(1, int(config.cpus_per_trial)),
    )
    tuner = tune.Tuner(
        tune.with_resources(trainable, {"cpu": config.cpus_per_trial}),
        param_space={"hyperparameters": {d.name: d.to_ray(tune) for d in dims}},
        tune_config=tune.TuneConfig(
            metric=METRIC,
            mode="max",
            num_samples=config.num_samples,
            max_concurrent_trials=config.max_concurrent_trials or None,
            search_alg=BasicVariantGenerator(random_state=config.seed),
            scheduler=scheduler,
        ),
        run_config=tune.RunConfig(
            name="tune",
            storage_path=str(out / "ray"),
            verbose=0,
            callbacks=[_progress(tune, config.num_samples)] if config.progress_bar else None,
        ),
    )
    start = time.perf_counter()
    grid = tuner.fit()
    trials = [_trial_result(grid[i]) for i in range(len(grid))]
    if all(t.error for t in trials):
        raise ShadowSimError(f"every trial of the search failed; the first: {trials[0].error}")
    trials.sort(
        key=lambda t: -t.best_mean_return if not math.isnan(t.best_mean_return) else math.inf
    )
    return TuneResult(trials, time.perf_counter() - start)


def _progress(tune: ModuleType, total: int) -> Any:
    """A Tune callback showing a progress bar of the finished trials."""
    from tqdm.auto import tqdm

    class TrialProgress(tune.Callback):  # type: ignore[name-defined]
        def __init__(self) -> None:
            self.bar: Any = None

        def setup(self, **info: Any) -> None:
            self.bar = tqdm(total=total, desc="trials", unit="trial")

        def on_trial_complete(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
            if self.bar is not None:
                self.bar.update(1)

        def on_trial_error(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
            self.on_trial_complete(iteration, trials, trial)

        def on_experiment_end(self, trials: Any, **info: Any) -> None:
            if self.bar is not None:
                self.bar.close()

        def __getstate__(self) -> dict[str, Any]:
            # Ray saves callbacks with the search's state; a bar (its stream) does not pickle
            return {**self.__dict__, "bar": None}

    return TrialProgress()


def _run_trial(
    config: dict[str, Any],
    factory: EnvFactory,
    train: TrainConfig,
    out: str,
    facts: dict[str, Any],
    threads: int,
) -> None:
    """One trial (in a Ray worker): train, reporting every evaluation to Tune."""
    import torch
    from ray import tune

    torch.set_num_threads(threads)  # the trial's CPUs
    trial_id = tune.get_context().get_trial_id()
    sampled = dict(config["hyperparameters"])
    trial = replace(train, hyperparameters={**train.hyperparameters, **sampled})
    trial_dir = Path(out) / trial_id
    best = -math.inf

    def log_metric(name: str, value: float, step: int) -> None:
        nonlocal best
        if name == "eval_mean_return":  # the best agent so far is saved by now
            best = max(best, value)
            saved = trial_dir / "best"
            report = {METRIC: best, "eval_return": value, "env_steps": step}
            tune.report({**report, "best_dir": str(saved) if saved.is_dir() else ""})

    result = train_agent(factory, trial, trial_dir, log_metric=log_metric, training_facts=facts)
    tune.report(
        {
            METRIC: best,
            "env_steps": result.timesteps,
            "agent_dir": str(result.agent_dir),
            "best_dir": str(result.best_dir) if result.best_dir else "",
        }
    )


def _trial_result(result: Any) -> TrialResult:
    """A :class:`TrialResult` from one of Ray's results."""
    metrics = result.metrics or {}
    history = result.metrics_dataframe
    evaluations: list[tuple[int, float]] = []
    if history is not None and "eval_return" in history:
        rows = history.dropna(subset=["eval_return"])
        evaluations = [
            (int(s), float(v)) for s, v in zip(rows["env_steps"], rows["eval_return"], strict=True)
        ]
    agent = metrics.get("agent_dir")
    best = metrics.get("best_dir")
    return TrialResult(
        trial_id=str(metrics.get("trial_id") or Path(str(result.path)).name),
        hyperparameters=dict((result.config or {}).get("hyperparameters", {})),
        best_mean_return=float(metrics.get(METRIC, math.nan)),
        evaluations=evaluations,
        agent_dir=Path(agent) if isinstance(agent, str) and agent else None,
        best_dir=Path(best) if isinstance(best, str) and best else None,
        error=_error_text(result.error),
    )


def _error_text(error: BaseException | None) -> str:
    """The error that ended a trial, as ``Type: message`` ("" for none): the trial's own
    exception when Ray kept it (its ``cause``), else the first line of Ray's."""
    if error is None:
        return ""
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException):
        return f"{type(cause).__name__}: {cause}"
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__
