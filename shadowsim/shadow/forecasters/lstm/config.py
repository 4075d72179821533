"""Config of the LSTM shadow forecaster (Hydra group ``forecaster``, name ``lstm``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import ClassVar

from shadowsim.shadow.forecasters.lstm.forecaster import LSTMForecaster
from shadowsim.shadow.forecasters.lstm.training import TrainConfig


@dataclass(frozen=True)
class LSTMConfig:
    """Config of :class:`LSTMForecaster` (Hydra group ``forecaster``, name ``lstm``).

    Attributes mirror the constructor arguments of :class:`LSTMForecaster`.
    """

    per_horizon: ClassVar[bool] = True
    quantiles: tuple[float, ...] = (0.5, 0.9)
    horizon: str = "1h"
    context: str = "3h"
    patch: int = 6
    season: str = "1d"
    level_spans: tuple[str, ...] = ()
    hidden: int = 64
    layers: int = 1
    head_hidden: int = 128
    dropout: float = 0.0
    size_weight: float = 0.5
    calibrate: bool = True
    calibrate_hold: bool = True
    seed: int = 0
    train: TrainConfig = field(default_factory=TrainConfig)
    update_window: str = "2d"
    update_epochs: int = 2
    update_lr: float = 2e-4
    drift_lr: float = 2e-3
    drift_threshold: float = 1.5

    def with_horizon(self, horizon: str) -> LSTMConfig:
        """This config trained for exactly ``horizon`` (direct multi-output up to it)."""
        return replace(self, horizon=horizon)

    def build(self, interval_s: float) -> LSTMForecaster:
        """The forecaster for data with ticks of ``interval_s`` s."""
        kwargs = asdict(self)
        kwargs["train"] = TrainConfig(**kwargs["train"])
        kwargs["quantiles"] = list(self.quantiles)
        return LSTMForecaster(interval_s=interval_s, **kwargs)
