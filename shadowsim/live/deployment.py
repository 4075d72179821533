"""Running a policy on a live backend: warm-up, forecasts, the allocation engine, the loop.

:class:`LiveLoop` drives the same :class:`~shadowsim.engine.engine.AllocationEngine` (same
observation builder, same action codec, same guardrails) as the Gymnasium environment, on
any :class:`~shadowsim.backend.ClusterBackend`, typically a
:class:`~shadowsim.live.backend.LibvirtBackend`:

1. :meth:`LiveLoop.warm_up` observes ``warmup_ticks`` control intervals without acting:
   the measured demand becomes the history that sets the observation's reference sizes and
   the forecast context (live clusters have no trace to replay);
2. :meth:`LiveLoop.start` fits (or loads) the shadow forecaster on that history, wraps it in
   :class:`~shadowsim.engine.forecasts.OnlineForecasts` (tick by tick, optionally refitted),
   builds the engine and returns the first observation. With ``shadow`` set it runs the
   shadow service instead (:class:`~shadowsim.shadow.service.ShadowService`): the models of
   the live applications come from the MLflow registry (the champions, when they fit these
   applications; else trained on the warm-up and registered), every tick's demand scores
   their forecasts, and the retraining triggers retrain, register and promote models while
   the policy runs, each retrain reported with its cause (:attr:`TickReport.retrains`);
3. :meth:`LiveLoop.step` hands the policy's action to the engine (decode, guardrails, apply,
   wait for the next tick, observe) and returns a :class:`TickReport`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from shadowsim.actions import Action
from shadowsim.backend import ClusterBackend
from shadowsim.engine.config_checks import check_int, check_sub_config, set_value
from shadowsim.engine.engine import AllocationEngine, StepOutcome
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.engine.forecasts import OnlineForecasts, ShadowServiceForecasts
from shadowsim.errors import ConfigError, ForecastError, ShadowSimError
from shadowsim.resources import N_RESOURCES
from shadowsim.shadow.forecaster import FORECASTERS, Forecaster
from shadowsim.shadow.retraining import RetrainEvent
from shadowsim.shadow.service import ShadowConfig, ShadowService

Observation = dict[str, NDArray[np.float32]]
_KEY = "deploy."


@dataclass(frozen=True)
class DeployConfig:
    """Settings of a live deployment (with or without Hydra).

    Attributes:
        ticks: Control ticks the policy runs for, >= 1.
        warmup_ticks: Ticks observed before the policy acts, >= the observation window.
        forecaster: Name in :data:`~shadowsim.shadow.forecaster.FORECASTERS` of the shadow
            forecaster fitted on the warm-up (ignored when ``forecaster_artifact`` is set).
        forecaster_params: Its constructor arguments besides quantiles and interval; None
            gives ``{"max_horizon": <the engine's horizon in s>}``.
        forecaster_artifact: Directory of a saved forecaster
            (:func:`~shadowsim.shadow.artifact.load_forecaster`), fitted on the same
            applications, or None.
        context_ticks: History given to each online forecast, ticks, >= 1.
        refit_every_ticks: Refit the forecaster every so many ticks (None: never).
        engine: The allocation engine's settings (as for the environment).
        shadow: The shadow service's settings (forecaster, windows, retraining triggers,
            registry) to run it instead of one plain forecaster, or None. Its training plus
            validation windows must fit in the warm-up, unless the registry already holds
            champions of these applications (a restarted deployment serves them).
    """

    ticks: int = 12
    warmup_ticks: int = 24
    forecaster: str = "last_value"
    forecaster_params: dict[str, Any] | None = None
    forecaster_artifact: str | None = None
    context_ticks: int = 288
    refit_every_ticks: int | None = None
    engine: EngineConfig = field(default_factory=EngineConfig)
    shadow: ShadowConfig | None = None

    def __post_init__(self) -> None:
        set_value(self, "ticks", check_int(_KEY + "ticks", self.ticks, low=1))
        set_value(self, "warmup_ticks", check_int(_KEY + "warmup_ticks", self.warmup_ticks, low=2))
        set_value(
            self, "context_ticks", check_int(_KEY + "context_ticks", self.context_ticks, low=1)
        )
        if self.refit_every_ticks is not None:
            set_value(
                self,
                "refit_every_ticks",
                check_int(_KEY + "refit_every_ticks", self.refit_every_ticks, low=1),
            )
        if not isinstance(self.forecaster, str):
            raise ConfigError(_KEY + "forecaster", f"must be a name, got {self.forecaster!r}")
        if self.forecaster_params is not None and not isinstance(self.forecaster_params, dict):
            raise ConfigError(
                _KEY + "forecaster_params", f"must be a mapping, got {self.forecaster_params!r}"
            )
        engine = check_sub_config(_KEY + "engine", EngineConfig, self.engine)
        set_value(self, "engine", engine)
        if self.shadow is not None:
            shadow = check_sub_config(_KEY + "shadow", ShadowConfig, self.shadow)
            set_value(self, "shadow", shadow)
            if self.forecaster_artifact is not None:
                raise ConfigError(
                    _KEY + "forecaster_artifact",
                    "the shadow service serves the registry's models: set either "
                    "deploy.shadow or deploy.forecaster_artifact, not both",
                )
            if tuple(shadow.quantiles) != tuple(engine.observation.quantiles):
                raise ConfigError(
                    _KEY + "shadow.quantiles",
                    f"{list(shadow.quantiles)} must equal engine.observation.quantiles "
                    f"{list(engine.observation.quantiles)}: the observation shows them",
                )
        window = engine.observation.window
        if self.warmup_ticks < window:
            raise ConfigError(
                _KEY + "warmup_ticks",
                f"must be >= engine.observation.window ({window}) so the first observation has "
                f"a full usage window, got {self.warmup_ticks}",
            )


class Predictor(Protocol):
    """What the loop needs of a policy: stable-baselines3's ``predict``."""

    def predict(
        self,
        observation: Observation,
        state: Any = None,
        episode_start: Any = None,
        deterministic: bool = True,
    ) -> tuple[NDArray[Any], Any]:
        """The action for ``observation`` and the next state."""
        ...


@dataclass(frozen=True, eq=False)
class TickReport:
    """What happened in one live control tick.

    Attributes:
        step: 0-based step of the deployment.
        outcome: The engine's step outcome (state, reward terms, info, guardrail report).
        actions: The backend actions the decision led to (what was sent to libvirt).
        notes: Everything the backend noted during the tick (pool, measurement gaps).
        retrains: The shadow service's retrain events of the tick (``deploy.shadow``).
    """

    step: int
    outcome: StepOutcome
    actions: list[Action]
    notes: list[str]
    retrains: tuple[RetrainEvent, ...] = ()


class LiveLoop:
    """The engine on a live backend (see the module docstring).

    Args:
        backend: The cluster, before its first advance.
        config: Deployment settings.
        forecaster: A fitted forecaster to use instead of the configured one.
    """

    def __init__(
        self, backend: ClusterBackend, config: DeployConfig, forecaster: Forecaster | None = None
    ) -> None:
        self.backend = backend
        self.config = config
        self.forecaster = forecaster
        self.history: NDArray[np.float64] | None = None
        self.service: ShadowService | None = None
        """The shadow service (``deploy.shadow``, after :meth:`start`)."""
        self._engine: AllocationEngine | None = None
        self._logged = 0
        self.steps = 0

    @property
    def engine(self) -> AllocationEngine:
        """The engine (after :meth:`start`)."""
        if self._engine is None:
            raise ShadowSimError("call LiveLoop.start() before using the engine")
        return self._engine

    def _notes(self) -> list[str]:
        return list(getattr(self.backend, "last_notes", []))

    def warm_up(
        self, on_tick: Callable[[int, list[str]], None] | None = None
    ) -> NDArray[np.float64]:
        """Observe ``warmup_ticks`` ticks without acting; returns the ``(A, W, 4)`` demand."""
        n = self.config.warmup_ticks
        history = np.zeros((self.backend.spec.n_apps, n, N_RESOURCES))
        for k in range(n):
            history[:, k] = self.backend.advance().kpis.demand
            if on_tick is not None:
                on_tick(k, self._notes())
        self.history = history
        return history

    def _forecaster(self, history: NDArray[np.float64], start_s: float) -> Forecaster:
        cfg = self.config
        n_apps = history.shape[0]
        if self.forecaster is not None:
            forecaster = self.forecaster
        elif cfg.forecaster_artifact is not None:
            from shadowsim.shadow.artifact import load_forecaster

            forecaster, _meta = load_forecaster(cfg.forecaster_artifact)
        else:
            import shadowsim.shadow.forecasters  # noqa: F401 (registers the forecasters)

            interval_s = self.backend.spec.interval_s
            params = cfg.forecaster_params
            if params is None:
                params = {"max_horizon": cfg.engine.horizon * interval_s}
            cls = FORECASTERS.get(cfg.forecaster)
            try:
                forecaster = cls(
                    quantiles=cfg.engine.observation.quantiles, interval_s=interval_s, **params
                )
            except TypeError as err:
                raise ConfigError(
                    _KEY + "forecaster_params", f"do not fit forecaster {cfg.forecaster!r}: {err}"
                ) from err
            try:
                forecaster.fit(history, start_s=start_s)
            except ForecastError as err:
                raise ConfigError(
                    _KEY + "warmup_ticks",
                    f"forecaster {cfg.forecaster!r} cannot be fitted on {history.shape[1]} "
                    f"warm-up ticks ({err}); raise deploy.warmup_ticks",
                ) from err
        if forecaster.n_apps != n_apps:
            raise ConfigError(
                _KEY + "forecaster_artifact",
                f"the forecaster was fitted on {forecaster.n_apps} applications, the live "
                f"cluster has {n_apps}; fit one on these applications",
            )
        return forecaster

    def start(self) -> Observation:
        """Build the forecasts and the engine from the warm-up; the first observation."""
        history = self.history if self.history is not None else self.warm_up()
        cfg = self.config
        start_s = float(getattr(self.backend, "start_time_s", 0.0))
        forecasts: OnlineForecasts | ShadowServiceForecasts
        if cfg.shadow is not None:
            forecasts = self._service_forecasts(cfg.shadow, history, start_s)
        else:
            forecasts = OnlineForecasts(
                self._forecaster(history, start_s),
                history,
                cfg.engine.horizon,
                context_ticks=cfg.context_ticks,
                refit_every_ticks=cfg.refit_every_ticks,
                start_s=start_s,
            )
        self._engine = AllocationEngine(
            self.backend,
            forecasts,
            cfg.engine,
            history=history,
            origin_tick=history.shape[1],
            max_steps=cfg.ticks,
            time_origin_s=start_s,
        )
        try:  # (the shadow service starts here, on the warm-up)
            observation, _info = self._engine.reset()
        except ForecastError as err:
            if self.service is None:
                raise
            raise ConfigError(
                _KEY + "warmup_ticks",
                f"the shadow service cannot start on {history.shape[1]} warm-up ticks ({err}); "
                "raise deploy.warmup_ticks or shorten deploy.shadow.train_window / "
                "validation_window",
            ) from err
        self.steps = 0
        self._logged = 0 if self.service is None else len(self.service.retrain_log)
        return observation

    def _service_forecasts(
        self, config: ShadowConfig, history: NDArray[np.float64], start_s: float
    ) -> ShadowServiceForecasts:
        """The shadow service of the live applications, bootstrapped on the warm-up."""
        spec = self.backend.spec
        self.service = ShadowService(config, spec.app_ids, spec.interval_s)
        return ShadowServiceForecasts(
            self.service, history, start_s=start_s, context_ticks=history.shape[1]
        )

    def step(self, action: object) -> TickReport:
        """One control tick with ``action`` (the policy's output for the last observation)."""
        outcome = self.engine.step(action)
        retrains: tuple[RetrainEvent, ...] = ()
        if self.service is not None:
            retrains = tuple(self.service.retrain_log[self._logged :])
            self._logged = len(self.service.retrain_log)
        report = TickReport(
            step=self.steps,
            outcome=outcome,
            actions=[r.action for r in outcome.results],
            notes=self._notes(),
            retrains=retrains,
        )
        self.steps += 1
        return report

    def run(
        self, policy: Predictor, on_tick: Callable[[TickReport], None] | None = None
    ) -> list[TickReport]:
        """Run ``policy`` for ``ticks`` ticks (warming up and starting first if not done).

        Bind the policy to the engine's spaces between :meth:`start` and this call.
        """
        observation = self.start() if self._engine is None else self.engine.observation
        reports: list[TickReport] = []
        first = True
        for _ in range(self.config.ticks):
            action, _state = policy.predict(observation, episode_start=first, deterministic=True)
            first = False
            report = self.step(action)
            reports.append(report)
            if on_tick is not None:
                on_tick(report)
            observation = report.outcome.observation
            if report.outcome.terminated:
                break
        return reports
