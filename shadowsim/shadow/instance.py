"""Shadow instances: the per-application handle on a (possibly shared) shadow model.

Every application has a :class:`ShadowInstance`: its id, the registered model serving it
(one per application, or one global model shared by all), that model's serving version and
the application's latest forecast. The instances are made and kept up to date by
:class:`~shadowsim.shadow.service.ShadowService`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from shadowsim.shadow.forecaster import Forecaster

if TYPE_CHECKING:
    from shadowsim.shadow.service import ShadowService


@dataclass
class ModelSlot:
    """One registered model inside the service and what it serves.

    Attributes:
        name: Registered model name.
        apps: Rows (application indices) it serves: consecutive, increasing.
        app_ids: Their ids.
        forecaster: The serving forecaster (None before bootstrap).
        version: Its registry version.
        trained_s: Time of its last (re)train attempt, s.
        online_updates: Online updates applied since it was loaded.
    """

    name: str
    apps: NDArray[np.int64]
    app_ids: tuple[str, ...]
    forecaster: Forecaster | None = None
    version: int | None = None
    trained_s: float = float("-inf")
    online_updates: int = 0

    @property
    def rows(self) -> slice:
        """The rows as a slice (the service gives every model a contiguous block of rows)."""
        return slice(int(self.apps[0]), int(self.apps[-1]) + 1)


class ShadowInstance:
    """The handle of one application's shadow model.

    Attributes:
        app_id: Application id.
        index: Row of the application in the service's arrays.
        model_name: Registered model serving it (shared under ``GLOBAL`` grouping).
    """

    def __init__(self, service: ShadowService, index: int, slot: ModelSlot) -> None:
        self._service = service
        self._slot = slot
        self.index = index
        self.app_id = service.app_ids[index]
        self.model_name = slot.name

    @property
    def version(self) -> int | None:
        """Serving version of its model (None before bootstrap)."""
        return self._slot.version

    @property
    def kind(self) -> str | None:
        """Forecaster name of the serving model (None before bootstrap)."""
        model = self._slot.forecaster
        return None if model is None else model.name

    @property
    def online_updates(self) -> int:
        """Online updates applied to the serving version since it was loaded."""
        return self._slot.online_updates

    def forecast(self) -> NDArray[np.float64]:
        """``(horizon, 4, n_quantiles)`` latest forecast of this application."""
        out: NDArray[np.float64] = self._service.forecast()[self.index]
        return out

    def __repr__(self) -> str:
        return f"ShadowInstance({self.app_id!r}, model={self.model_name!r}, v{self.version})"
