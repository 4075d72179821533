"""The models serving a shadow service's applications, as one :class:`Forecaster`.

A :class:`~shadowsim.shadow.service.ShadowService` with one model per application (or per
group) serves each block of rows with its own model. :class:`ServedModels` puts those
models behind the forecaster interface over all the applications, so whatever takes one
forecaster (the environment's precomputed forecasts, the evaluation of a policy) runs on
per-application models as it does on a global one: every call is split by rows, each model
gets its own applications' history, and the results are put back in application order.

It is a view for serving, not a model kind: it is not in :data:`FORECASTERS` (the registry
keeps each part as its own version), though :meth:`ServedModels.state` and
:meth:`ServedModels.from_state` round-trip it as JSON metadata plus arrays like any model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ForecastError
from shadowsim.resources import N_RESOURCES
from shadowsim.shadow.forecaster import FORECASTERS, Forecaster


class ServedModels(Forecaster):
    """Fitted forecasters, each serving a contiguous block of rows, as one forecaster.

    Args:
        parts: ``(rows, forecaster)`` pairs in row order; the blocks cover ``0 .. n - 1``
            without gaps or overlaps, every forecaster is fitted on its block's
            applications, and all share their quantiles and interval.

    Raises:
        ForecastError: No parts, blocks that do not tile the rows, an unfitted part or one
            fitted on another number of applications, or parts that disagree on quantiles
            or interval.
    """

    name: ClassVar[str] = "served_models"

    def __init__(self, parts: Sequence[tuple[slice, Forecaster]]) -> None:
        if not parts:
            raise ForecastError("served models: give at least one (rows, forecaster) part")
        first = parts[0][1]
        super().__init__(first.quantiles, first.interval_s)
        expected = 0
        for rows, model in parts:
            start, stop = rows.start or 0, rows.stop
            if rows.step not in (None, 1) or start != expected or stop is None or stop <= start:
                raise ForecastError(
                    f"served models: rows {rows} do not continue the blocks at row {expected}; "
                    "give contiguous blocks in row order"
                )
            if model.n_apps != stop - start:
                raise ForecastError(
                    f"served models: the {model.name} model of rows {start}..{stop - 1} is "
                    f"fitted on {model.n_apps} applications, not {stop - start}"
                )
            if model.quantiles != self.quantiles or model.interval_s != self.interval_s:
                raise ForecastError(
                    f"served models: the {model.name} model of rows {start}..{stop - 1} has "
                    f"quantiles {model.quantiles} every {model.interval_s:g} s, the first "
                    f"{self.quantiles} every {self.interval_s:g} s; serve models of one kind"
                )
            expected = stop
        self.parts: tuple[tuple[slice, Forecaster], ...] = tuple(
            (slice(rows.start or 0, rows.stop), model) for rows, model in parts
        )
        self.n_apps = expected

    @property
    def kinds(self) -> tuple[str, ...]:
        """Each part's forecaster name, in row order."""
        return tuple(model.name for _, model in self.parts)

    @property
    def min_history(self) -> int:
        """The most history any part needs, ticks."""
        return max(model.min_history for _, model in self.parts)

    @property
    def min_fit_history(self) -> int:
        """The most history any part's fit needs, ticks."""
        return max(model.min_fit_history for _, model in self.parts)

    def fit(self, history: NDArray[np.float64], *, start_s: float = 0.0) -> ServedModels:
        """Refit every part on its own applications' rows of ``history``; returns self."""
        hist = self.check_history(history, fitted=True)
        for rows, model in self.parts:
            model.fit(hist[rows], start_s=start_s)
        return self

    def update(self, history: NDArray[np.float64], *, start_s: float = 0.0) -> ServedModels:
        """Let every part adapt online to its rows of ``history``; returns self."""
        hist = self.check_history(history, fitted=True)
        for rows, model in self.parts:
            model.update(hist[rows], start_s=start_s)
        return self

    def predict(
        self, history: NDArray[np.float64], horizon: int, *, start_s: float = 0.0
    ) -> NDArray[np.float64]:
        """Each part's forecast of its rows, in application order (see ``Forecaster.predict``)."""
        hist = self.check_history(history, fitted=True)
        out = np.empty((self.n_apps, horizon, N_RESOURCES, len(self.quantiles)))
        for rows, model in self.parts:
            out[rows] = model.predict(hist[rows], horizon, start_s=start_s)
        return out

    def predict_origins(
        self,
        demand: NDArray[np.float64],
        origins: NDArray[np.int64],
        horizon: int,
        *,
        start_s: float = 0.0,
    ) -> NDArray[np.float64]:
        """Each part's batched forecasts of its rows (see :meth:`Forecaster.predict_origins`)."""
        hist = self.check_history(demand, fitted=True)
        at = np.asarray(origins)
        out = np.empty((self.n_apps, len(at), horizon, N_RESOURCES, len(self.quantiles)))
        for rows, model in self.parts:
            out[rows] = model.predict_origins(hist[rows], origins, horizon, start_s=start_s)
        return out

    def state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        """Every part's state: ``meta["parts"]`` holds each one's rows and meta, the arrays
        are keyed ``part<i>.<key>``."""
        meta = self.base_meta()
        arrays: dict[str, NDArray[Any]] = {}
        described = []
        for i, (rows, model) in enumerate(self.parts):
            part_meta, part_arrays = model.state()
            described.append({"rows": [rows.start, rows.stop], "meta": part_meta})
            arrays.update({f"part{i}.{key}": value for key, value in part_arrays.items()})
        meta["parts"] = described
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> ServedModels:
        """Rebuild from :meth:`state`; each part by its own kind's ``from_state``.

        Raises:
            ForecastError: A part's meta is malformed.
            UnknownNameError: A part names a forecaster that is not registered.
        """
        parts: list[tuple[slice, Forecaster]] = []
        for i, part in enumerate(meta.get("parts", ())):
            try:
                start, stop = (int(r) for r in part["rows"])
                kind = FORECASTERS.get(str(part["meta"]["forecaster"]))
            except (KeyError, TypeError, ValueError) as err:
                raise ForecastError(f"served models: part {i} has malformed meta ({err})") from err
            prefix = f"part{i}."
            own = {k.removeprefix(prefix): v for k, v in arrays.items() if k.startswith(prefix)}
            parts.append((slice(start, stop), kind.from_state(part["meta"], own)))
        return cls(parts)
