"""Retraining one shadow model at a (simulated) moment, and the log entry it leaves.

:class:`Retrainer` fits a fresh forecaster on the recent history of a model's
applications, holding back the last ``validation_ticks`` as validation window, registers
it (the registry scores it and the champion on that same window and promotes the better),
and loads what now serves. Online (continuous) updates adapt the serving forecaster in
place with :meth:`Forecaster.update`. Each attempt returns a :class:`RetrainEvent` with its
cause and is logged on the ``shadowsim.shadow.retraining`` logger.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import Enum

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ForecastError, RegistryError
from shadowsim.shadow.artifact import TrainingWindow
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.registry import ShadowRegistry
from shadowsim.shadow.registry_records import ServedModel
from shadowsim.shadow.triggers import RetrainCause
from shadowsim.shadow.validation import ValidationWindow

logger = logging.getLogger(__name__)

CAUSE_PRIORITY: tuple[RetrainCause, ...] = (
    RetrainCause.MANUAL,
    RetrainCause.INITIAL,
    RetrainCause.DRIFT,
    RetrainCause.ACCURACY,
    RetrainCause.SCHEDULED,
    RetrainCause.CONTINUOUS,
)
"""When several triggers fire at once, the first of these in the list is the cause."""


class RetrainOutcome(Enum):
    """What a retrain attempt led to."""

    PROMOTED = "promoted"
    """The new version beat the champion and serves now."""
    CHALLENGER = "challenger"
    """The new version did not beat the champion, which keeps serving."""
    KEPT_PREVIOUS = "kept_previous"
    """The new version won but could not be loaded; the previous good version serves."""
    REUSED = "reused"
    """At start-up the registry's champion was adopted without training."""
    UPDATED = "updated"
    """The serving model was updated online (continuous mode); no new version."""
    SKIPPED = "skipped"
    """Nothing could be trained (e.g. too little history); the detail says why."""


@dataclass(frozen=True)
class RetrainEvent:
    """One entry of the retrain log.

    Attributes:
        model_name: Registered model name.
        app_ids: Applications of the model.
        now_s: Simulated (or wall-clock) time of the attempt, s.
        cause: The main cause (see :data:`CAUSE_PRIORITY`).
        causes: Every trigger that fired.
        outcome: What happened.
        version: Version registered, or None.
        serving_version: Version serving after the attempt, or None when unchanged/unknown.
        score: Validation score of the new version (mean WAPE), or None.
        champion_score: The champion's score on the same window, or None.
        train_s: Wall time spent fitting, s.
        detail: Human-readable reason for skips and fallbacks.
    """

    model_name: str
    app_ids: tuple[str, ...]
    now_s: float
    cause: RetrainCause
    causes: tuple[RetrainCause, ...]
    outcome: RetrainOutcome
    version: int | None = None
    serving_version: int | None = None
    score: float | None = None
    champion_score: float | None = None
    train_s: float = 0.0
    detail: str = ""

    def describe(self) -> str:
        """A one-line summary for logs."""
        parts = [
            f"{self.model_name} t={self.now_s:.0f}s cause={self.cause.value}",
            f"-> {self.outcome.value}",
        ]
        if self.version is not None:
            parts.append(f"v{self.version}")
        if self.score is not None:
            champ = "none" if self.champion_score is None else f"{self.champion_score:.4f}"
            parts.append(f"score {self.score:.4f} vs champion {champ}")
        if self.detail:
            parts.append(f"({self.detail})")
        return " ".join(parts)


def main_cause(causes: Sequence[RetrainCause]) -> RetrainCause:
    """The highest-priority cause among ``causes`` (non-empty)."""
    return min(causes, key=CAUSE_PRIORITY.index)


class Retrainer:
    """Fits, validates, registers and loads shadow models.

    Args:
        factory: Makes a fresh, unfitted forecaster.
        registry: Where versions are stored and promoted.
        interval_s: Tick length, s.
        horizon: Validation forecast horizon, ticks.
        validation_ticks: Held-back ticks at the end of the recent history (>= horizon).
        stride: Ticks between validation origins.
    """

    def __init__(
        self,
        factory: Callable[[], Forecaster],
        registry: ShadowRegistry,
        *,
        interval_s: float,
        horizon: int,
        validation_ticks: int,
        stride: int,
    ) -> None:
        self.factory = factory
        self.registry = registry
        self.interval_s = float(interval_s)
        self.horizon = int(horizon)
        self.validation_ticks = int(validation_ticks)
        self.stride = int(stride)

    def retrain(
        self,
        name: str,
        app_ids: Sequence[str],
        recent: NDArray[np.float64],
        recent_start_s: float,
        now_s: float,
        causes: Sequence[RetrainCause],
    ) -> tuple[RetrainEvent, ServedModel | None]:
        """Train a new version of ``name`` on ``recent`` and promote it if it is better.

        Args:
            name: Registered model name.
            app_ids: Its applications, in the row order of ``recent``.
            recent: ``(n_apps, n_ticks, 4)`` recent demand; the last ``validation_ticks``
                are held back.
            recent_start_s: Time of ``recent[:, 0]``, s.
            now_s: Time of the retrain, s.
            causes: Triggers that fired.

        Returns:
            The log entry and, when the serving model changed, the newly loaded one.
        """
        cause = main_cause(causes)
        base = RetrainEvent(
            name, tuple(app_ids), now_s, cause, tuple(causes), RetrainOutcome.SKIPPED
        )
        n_ticks = recent.shape[1]
        n_train = n_ticks - self.validation_ticks
        t0 = time.perf_counter()
        try:
            if n_train < 2:
                raise ForecastError(
                    f"{n_ticks} ticks of history cannot hold {self.validation_ticks} validation "
                    "ticks plus a training part"
                )
            candidate = self.factory().fit(recent[:, :n_train], start_s=recent_start_s)
            window = ValidationWindow(
                recent, first_origin=n_train, horizon=self.horizon, stride=self.stride,
                start_s=recent_start_s,
            )
        except ForecastError as err:
            return self._log(replace(base, detail=str(err)), logging.WARNING), None
        train_s = time.perf_counter() - t0
        reg = self.registry.register(
            candidate, name=name, app_ids=app_ids, validation=window,
            training_window=TrainingWindow(
                recent_start_s, recent_start_s + n_train * self.interval_s, n_train
            ),
            trained_at_s=now_s,
            tags={"cause": cause.value, "causes": ",".join(c.value for c in causes),
                  "sim_time_s": f"{now_s:.0f}"},
            metrics={"train_s": train_s},
        )
        scored = replace(
            base, version=reg.version, score=reg.score.score, train_s=train_s,
            champion_score=None if reg.champion_score is None else reg.champion_score.score,
        )
        if not reg.promoted:
            return self._log(replace(scored, outcome=RetrainOutcome.CHALLENGER), logging.INFO), None
        try:
            served = self.registry.load_champion(name)
        except RegistryError as err:
            event = replace(scored, outcome=RetrainOutcome.KEPT_PREVIOUS, detail=str(err))
            return self._log(event, logging.ERROR), None
        if served.version != reg.version:
            event = replace(
                scored, outcome=RetrainOutcome.KEPT_PREVIOUS, serving_version=served.version,
                detail=f"v{reg.version} failed to load; v{served.version} serves",
            )
            return self._log(event, logging.ERROR), served
        event = replace(scored, outcome=RetrainOutcome.PROMOTED, serving_version=reg.version)
        return self._log(event, logging.INFO), served

    def update_online(
        self,
        name: str,
        app_ids: Sequence[str],
        forecaster: Forecaster,
        recent: NDArray[np.float64],
        recent_start_s: float,
        now_s: float,
    ) -> RetrainEvent:
        """Adapt the serving ``forecaster`` in place to ``recent`` (continuous mode)."""
        base = RetrainEvent(
            name, tuple(app_ids), now_s, RetrainCause.CONTINUOUS, (RetrainCause.CONTINUOUS,),
            RetrainOutcome.SKIPPED,
        )
        t0 = time.perf_counter()
        try:
            forecaster.update(recent, start_s=recent_start_s)
        except ForecastError as err:
            return self._log(replace(base, detail=str(err)), logging.WARNING)
        event = replace(base, outcome=RetrainOutcome.UPDATED, train_s=time.perf_counter() - t0)
        return self._log(event, logging.DEBUG)

    @staticmethod
    def _log(event: RetrainEvent, level: int) -> RetrainEvent:
        logger.log(level, "retrain %s", event.describe())
        return event
