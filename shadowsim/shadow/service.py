"""The shadow service: keeps every application's shadow model scored, retrained and serving.

One call per control tick of simulated (or wall-clock) time::

    service = ShadowService(ShadowConfig(), app_ids, interval_s=300.0)
    service.bootstrap(history, start_s)          # first models (or the registry's champions)
    for t, actual in ticks:                      # demand (n_apps, 4) observed at time t
        events = service.step(t, actual)         # score, check triggers, retrain now
        forecast = service.forecast()            # (n_apps, horizon, 4, n_quantiles)

At each step the service scores the forecast it issued ``accuracy_lead`` ticks earlier for
this tick (:mod:`shadowsim.shadow.accuracy`), asks the triggers
(:mod:`shadowsim.shadow.triggers`) whether to retrain, retrains at this simulated moment on
the recent history (:mod:`shadowsim.shadow.retraining`: fit, register, promote or keep as
challenger) and forecasts the next horizon from the serving models. A model retrains when
any of its applications triggers; event-driven retrains (accuracy, drift) of one model are
at least ``retrain.cooldown`` apart. Every attempt is in :attr:`ShadowService.retrain_log`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, ForecastError, RegistryError, UnknownNameError
from shadowsim.resources import N_RESOURCES
from shadowsim.shadow.accuracy import AccuracyReport, RollingAccuracy, point_index
from shadowsim.shadow.demand_history import DemandHistory
from shadowsim.shadow.forecaster import FORECASTERS, Forecaster
from shadowsim.shadow.horizon import horizon_steps
from shadowsim.shadow.instance import ModelSlot, ShadowInstance
from shadowsim.shadow.issued_forecasts import IssuedForecasts
from shadowsim.shadow.model_naming import model_name
from shadowsim.shadow.registry import RegistryConfig, ShadowRegistry
from shadowsim.shadow.retraining import Retrainer, RetrainEvent, RetrainOutcome
from shadowsim.shadow.served_models import ServedModels
from shadowsim.shadow.triggers import RetrainCause, RetrainConfig, TickSignal, Trigger


class ModelGrouping(Enum):
    """How applications map to registered models."""

    PER_APP = "per_app"
    """One model per application, named ``<prefix>-<app id>``."""
    GLOBAL = "global"
    """One model for all applications, named ``<prefix>-<group_name>``."""


@dataclass(frozen=True)
class ShadowConfig:
    """Config of :class:`ShadowService` (Hydra node ``shadow``).

    Durations accept ``"5min"``, ``"1h"``, ``"1d"`` or seconds and must be whole ticks.

    Attributes:
        forecaster: Forecaster name in :data:`FORECASTERS` (e.g. ``"seasonal_naive"``).
        forecaster_params: Extra constructor arguments of the forecaster.
        quantiles: Quantile levels forecast.
        horizon: Forecast horizon (duration).
        grouping: One model per application or one global model.
        model_prefix: Prefix of registered model names.
        group_name: Name of the global model (with ``GLOBAL``).
        train_window: Recent history a retrain fits on (duration, excludes validation).
        validation_window: Held-back history the new and serving models are scored on.
        validation_stride: Time between validation origins (duration); None = horizon.
        accuracy_window: Window of the rolling accuracy (duration).
        accuracy_lead: Which forecast step is scored each tick (1 = one tick ahead).
        reuse_champions: At bootstrap, serve the registry's champion when it fits.
        retrain: Retraining triggers.
        registry: Registry settings (used when the service creates its registry).
    """

    forecaster: str = "seasonal_naive"
    forecaster_params: dict[str, Any] = field(default_factory=dict)
    quantiles: list[float] = field(default_factory=lambda: [0.5, 0.9])
    horizon: str = "1h"
    grouping: ModelGrouping = ModelGrouping.PER_APP
    model_prefix: str = "shadow"
    group_name: str = "global"
    train_window: str = "3d"
    validation_window: str = "1d"
    validation_stride: str | None = None
    accuracy_window: str = "1d"
    accuracy_lead: int = 1
    reuse_champions: bool = True
    retrain: RetrainConfig = field(default_factory=RetrainConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)

    def __post_init__(self) -> None:
        import shadowsim.shadow.forecasters  # noqa: F401  (registers the built-in forecasters)

        try:
            FORECASTERS.get(self.forecaster)
        except UnknownNameError as err:
            raise ConfigError("shadow.forecaster", str(err)) from None
        model_name(self.model_prefix, self.group_name)
        if isinstance(self.accuracy_lead, bool) or self.accuracy_lead < 1:
            raise ConfigError(
                "shadow.accuracy_lead", f"must be an int >= 1, got {self.accuracy_lead!r}"
            )

    def ticks(self, interval_s: float) -> dict[str, int]:
        """Every duration in ticks of ``interval_s``: horizon, train, validation, stride, accuracy.

        Raises:
            ConfigError: A duration is malformed or the windows do not fit the horizon.
        """
        def steps(value: str, key: str) -> int:
            return horizon_steps(value, interval_s, key=f"shadow.{key}")

        t = {
            "horizon": steps(self.horizon, "horizon"),
            "train": steps(self.train_window, "train_window"),
            "validation": steps(self.validation_window, "validation_window"),
            "accuracy": steps(self.accuracy_window, "accuracy_window"),
        }
        t["stride"] = (
            t["horizon"] if self.validation_stride is None
            else steps(self.validation_stride, "validation_stride")
        )
        if t["validation"] < t["horizon"]:
            raise ConfigError(
                "shadow.validation_window",
                f"{self.validation_window!r} is shorter than the horizon {self.horizon!r}; "
                "validation needs at least one full horizon",
            )
        if self.accuracy_lead > t["horizon"]:
            raise ConfigError(
                "shadow.accuracy_lead",
                f"{self.accuracy_lead} is beyond the horizon of {t['horizon']} ticks",
            )
        return t

    def make_forecaster(self, interval_s: float) -> Forecaster:
        """A fresh, unfitted forecaster as configured.

        Raises:
            ConfigError: ``forecaster_params`` are not accepted by the forecaster.
        """
        cls: Any = FORECASTERS.get(self.forecaster)
        try:
            forecaster: Forecaster = cls(
                quantiles=list(self.quantiles), interval_s=interval_s, **self.forecaster_params
            )
        except (TypeError, ValueError) as err:
            raise ConfigError(
                "shadow.forecaster_params", f"not accepted by {self.forecaster!r}: {err}"
            ) from err
        return forecaster


class ShadowService:
    """Shadow models of many applications: accuracy, retraining triggers and forecasts.

    Args:
        config: Service settings.
        app_ids: The applications, in the row order of all demand arrays.
        interval_s: Control tick length, s.
        registry: Registry to use; None creates one from ``config.registry``.
    """

    def __init__(
        self,
        config: ShadowConfig,
        app_ids: Sequence[str],
        interval_s: float,
        registry: ShadowRegistry | None = None,
    ) -> None:
        if len(app_ids) == 0 or len(set(app_ids)) != len(app_ids):
            raise ConfigError("shadow.app_ids", f"need distinct application ids, got {app_ids!r}")
        self.config = config
        self.app_ids = tuple(str(a) for a in app_ids)
        self.interval_s = float(interval_s)
        self.ticks = config.ticks(self.interval_s)
        config.make_forecaster(self.interval_s)  # fail early on bad forecaster_params
        self.registry = registry if registry is not None else ShadowRegistry(config=config.registry)
        self.horizon = self.ticks["horizon"]
        self.quantiles = tuple(float(q) for q in config.quantiles)
        n = len(self.app_ids)
        self._slots = self._make_slots()
        slot_of = {int(i): s for s in self._slots for i in s.apps}
        self.instances = tuple(ShadowInstance(self, i, slot_of[i]) for i in range(n))
        self.retrain_log: list[RetrainEvent] = []
        self._history = DemandHistory(n, self.ticks["train"] + self.ticks["validation"],
                                      self.interval_s)
        self._accuracy = RollingAccuracy(n, self.quantiles, self.ticks["accuracy"])
        self._retrainer = Retrainer(
            lambda: config.make_forecaster(self.interval_s), self.registry,
            interval_s=self.interval_s, horizon=self.horizon,
            validation_ticks=self.ticks["validation"], stride=self.ticks["stride"],
        )
        self._triggers: list[Trigger] = []
        self._pending = IssuedForecasts(1e-6 * self.interval_s)
        self._forecast: NDArray[np.float64] | None = None
        self._point = point_index(self.quantiles)

    # -- life cycle ------------------------------------------------------------------------

    def bootstrap(self, history: NDArray[np.float64], start_s: float) -> list[RetrainEvent]:
        """Load or train the first model of every application, then forecast.

        Args:
            history: ``(n_apps, n_ticks, 4)`` demand up to now, resource units.
            start_s: Time of ``history[:, 0]``, s; the next :meth:`step` is expected at
                ``start_s + n_ticks * interval_s``.

        Returns:
            The initial retrain events (none for reused champions).

        Raises:
            ForecastError: Some application ends up without a model (too little history).
        """
        self._history.reset(np.asarray(history, dtype=np.float64), start_s)
        now_s = self._history.next_s - self.interval_s
        events: list[RetrainEvent] = []
        for slot in self._slots:
            if self.config.reuse_champions and self._reuse(slot, now_s):
                continue
            events.append(self._retrain(slot, [RetrainCause.INITIAL], now_s))
            if slot.forecaster is None:
                raise ForecastError(
                    f"{slot.name}: no model could be trained or loaded at bootstrap "
                    f"({events[-1].detail or events[-1].outcome.value}); give at least "
                    f"{self.ticks['validation']} validation ticks plus a training part"
                )
        self._triggers = self.config.retrain.build(len(self.app_ids), now_s)
        self._accuracy.reset()
        self._pending.clear()
        self._issue_forecast(now_s)
        return events

    def step(
        self, now_s: float, actual: NDArray[np.float64], active: NDArray[np.bool_] | None = None
    ) -> list[RetrainEvent]:
        """Take in the demand of one tick and react: score, check triggers, retrain, forecast.

        Args:
            now_s: Time of the tick, s (``interval_s`` after the previous one).
            actual: ``(n_apps, 4)`` demand observed at ``now_s``, resource units.
            active: ``(n_apps,)`` True for applications that exist now (default all).

        Returns:
            The retrain events of this tick (also appended to :attr:`retrain_log`).

        Raises:
            ForecastError: Not bootstrapped, a tick was skipped, or bad shapes.
        """
        if self._forecast is None:
            raise ForecastError("call bootstrap(history, start_s) before step()")
        expected = self._history.next_s
        if abs(now_s - expected) > 1e-6 * self.interval_s:
            raise ForecastError(
                f"step() expected the tick at {expected:.0f} s (every {self.interval_s:g} s), "
                f"got {now_s:.0f} s; feed every tick in order"
            )
        n = len(self.app_ids)
        mask = np.ones(n, dtype=bool) if active is None else np.asarray(active, dtype=bool)
        if mask.shape != (n,):
            raise ForecastError(f"active must have shape ({n},), got {mask.shape}")
        actual = np.asarray(actual, dtype=np.float64)
        self._history.append(actual)
        point = None
        issued = self._pending.take(now_s)
        if issued is not None:
            self._accuracy.update(issued, actual, mask)
            point = issued[..., self._point]
        signal = TickSignal(now_s, actual, point, self._accuracy.report(), mask)
        fired = {t.cause: t.check(signal) for t in self._triggers}
        events: list[RetrainEvent] = []
        cooldown = self.config.retrain.cooldown_s
        for slot in self._slots:
            causes = [c for c, hit in fired.items() if hit[slot.apps].any()]
            full = [c for c in causes if c is RetrainCause.SCHEDULED or (
                c in (RetrainCause.ACCURACY, RetrainCause.DRIFT)
                and now_s - slot.trained_s >= cooldown)]
            if full:
                events.append(self._retrain(slot, full, now_s))
            elif RetrainCause.CONTINUOUS in causes and slot.forecaster is not None:
                recent, start = self._history.recent()
                event = self._retrainer.update_online(
                    slot.name, slot.app_ids, slot.forecaster, recent[slot.rows], start, now_s
                )
                slot.online_updates += event.outcome is RetrainOutcome.UPDATED
                self.retrain_log.append(event)
                events.append(event)
        self._issue_forecast(now_s)
        return events

    def retrain(self, names: Sequence[str] | None = None, now_s: float | None = None
                ) -> list[RetrainEvent]:
        """Retrain models by hand (cause ``MANUAL``); default all, at the last tick's time.

        Raises:
            ForecastError: Before :meth:`bootstrap`.
            UnknownNameError: A name is not one of :attr:`model_names`.
        """
        if self._forecast is None:
            raise ForecastError("call bootstrap(history, start_s) before retrain()")
        for name in names or ():
            if name not in self.model_names:
                raise UnknownNameError("shadow model", name, list(self.model_names))
        when = self._history.next_s - self.interval_s if now_s is None else now_s
        chosen = [s for s in self._slots if names is None or s.name in names]
        events = [self._retrain(s, [RetrainCause.MANUAL], when) for s in chosen]
        self._issue_forecast(when)
        return events

    # -- outputs ---------------------------------------------------------------------------

    def forecast(self) -> NDArray[np.float64]:
        """``(n_apps, horizon, 4, n_quantiles)`` forecast issued at the last tick.

        Raises:
            ForecastError: Before :meth:`bootstrap`.
        """
        if self._forecast is None:
            raise ForecastError("no forecast yet; call bootstrap(history, start_s) first")
        return self._forecast

    def served_models(self) -> ServedModels:
        """The models serving now, as one forecaster over every application (e.g. for
        precomputed forecasts); its parts are the serving models themselves, not copies.

        Raises:
            ForecastError: Before :meth:`bootstrap`.
        """
        parts: list[tuple[slice, Forecaster]] = []
        for slot in self._slots:
            if self._forecast is None or slot.forecaster is None:
                raise ForecastError("no serving models yet; call bootstrap(history, start_s) first")
            parts.append((slot.rows, slot.forecaster))
        return ServedModels(parts)

    def accuracy(self) -> AccuracyReport:
        """Rolling accuracy of every application (see :class:`RollingAccuracy`)."""
        return self._accuracy.report()

    @property
    def model_names(self) -> tuple[str, ...]:
        """Registered model names, one per model slot."""
        return tuple(s.name for s in self._slots)

    # -- internals -------------------------------------------------------------------------

    def _make_slots(self) -> list[ModelSlot]:
        cfg = self.config
        if cfg.grouping is ModelGrouping.GLOBAL:
            rows = np.arange(len(self.app_ids), dtype=np.int64)
            return [ModelSlot(model_name(cfg.model_prefix, cfg.group_name), rows, self.app_ids)]
        slots = [ModelSlot(model_name(cfg.model_prefix, a), np.array([i], dtype=np.int64), (a,))
                 for i, a in enumerate(self.app_ids)]
        if len({s.name for s in slots}) != len(slots):
            names = [s.name for s in slots]
            dup = next(n for n in names if names.count(n) > 1)
            apps = [s.app_ids[0] for s in slots if s.name == dup]
            raise ConfigError(
                "shadow.grouping",
                f"applications {apps!r} map to one registered model name {dup!r} (names are the "
                "ids made safe for MLflow); rename one of them or use one global model (GLOBAL)",
            )
        return slots

    def _reuse(self, slot: ModelSlot, now_s: float) -> bool:
        if self.registry.champion_version(slot.name) is None:
            return False
        try:
            served = self.registry.load_champion(slot.name)
        except RegistryError:
            return False
        meta = served.meta
        if (meta.app_ids != slot.app_ids or meta.quantiles != self.quantiles
                or meta.interval_s != self.interval_s or meta.forecaster != self.config.forecaster):
            return False  # a model of another kind or for other apps: train one as configured
        slot.forecaster, slot.version, slot.trained_s = served.forecaster, served.version, now_s
        slot.online_updates = 0
        self.retrain_log.append(RetrainEvent(
            slot.name, slot.app_ids, now_s, RetrainCause.INITIAL, (RetrainCause.INITIAL,),
            RetrainOutcome.REUSED, serving_version=served.version))
        return True

    def _retrain(
        self, slot: ModelSlot, causes: Sequence[RetrainCause], now_s: float
    ) -> RetrainEvent:
        recent, start = self._history.recent()
        event, served = self._retrainer.retrain(
            slot.name, slot.app_ids, np.ascontiguousarray(recent[slot.rows]), start, now_s, causes
        )
        if served is not None:
            slot.forecaster, slot.version = served.forecaster, served.version
            slot.online_updates = 0
        elif slot.forecaster is None and event.outcome is not RetrainOutcome.SKIPPED:
            try:  # a challenger at bootstrap: the registry's champion serves
                champion = self.registry.load_champion(slot.name)
                slot.forecaster, slot.version = champion.forecaster, champion.version
            except RegistryError:
                pass  # bootstrap() reports the application without a model
        slot.trained_s = now_s
        mask = np.zeros(len(self.app_ids), dtype=bool)
        mask[slot.apps] = True
        for trigger in self._triggers:
            trigger.reset(mask, now_s)
        self._accuracy.reset(mask)
        self.retrain_log.append(event)
        return event

    def _issue_forecast(self, now_s: float) -> None:
        recent, start = self._history.recent()
        out = np.empty((len(self.app_ids), self.horizon, N_RESOURCES, len(self.quantiles)))
        for slot in self._slots:
            if slot.forecaster is None:
                raise ForecastError(f"{slot.name} has no serving model; bootstrap first")
            out[slot.rows] = slot.forecaster.predict(
                recent[slot.rows], self.horizon, start_s=start
            )
        self._forecast = out
        lead = self.config.accuracy_lead
        target = now_s + lead * self.interval_s
        self._pending.issue(target, out[:, lead - 1])
