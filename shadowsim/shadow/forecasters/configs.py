"""Forecaster configs by name, for Hydra (group ``forecaster``) and for code without Hydra.

Each forecaster has a frozen config dataclass beside it with ``build(interval_s)`` (a fresh,
unfitted forecaster for ticks of that length) and ``with_horizon(duration)``: the same config
for a given horizon. ``per_horizon`` says whether that means a separate model per horizon
(the LSTM: direct multi-output up to its horizon) or one model for all (the baselines).
"""

from __future__ import annotations

import typing
from typing import Any, ClassVar, Protocol, Self

from omegaconf import DictConfig, OmegaConf

from shadowsim.catalog import Catalog
from shadowsim.errors import ConfigError
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.forecasters.ets import ETSConfig
from shadowsim.shadow.forecasters.last_value import LastValueConfig
from shadowsim.shadow.forecasters.lstm import LSTMConfig
from shadowsim.shadow.forecasters.prophet import ProphetConfig
from shadowsim.shadow.forecasters.seasonal_naive import SeasonalNaiveConfig


class ForecasterConfig(Protocol):
    """What every forecaster config offers."""

    per_horizon: ClassVar[bool]

    def with_horizon(self, horizon: str) -> Self:
        """The config for forecasts up to ``horizon`` (a duration)."""

    def build(self, interval_s: float) -> Forecaster:
        """A fresh, unfitted forecaster for ticks of ``interval_s`` s."""


FORECASTER_CONFIGS: Catalog[type[Any]] = Catalog("forecaster config")
"""Config dataclass of every forecaster, under the forecaster's name."""

FORECASTER_CONFIGS.add("last_value", LastValueConfig)
FORECASTER_CONFIGS.add("seasonal_naive", SeasonalNaiveConfig)
FORECASTER_CONFIGS.add("ets", ETSConfig)
FORECASTER_CONFIGS.add("lstm", LSTMConfig)
FORECASTER_CONFIGS.add("prophet", ProphetConfig)


def forecaster_config(name: str, data: Any, key: str = "forecaster") -> ForecasterConfig:
    """Build the config of forecaster ``name`` from a Hydra node, a mapping or an instance.

    Raises:
        UnknownNameError: ``name`` is not a known forecaster (with suggestions).
        ConfigError: An unknown key or a bad value, named by its dotted key.
    """
    from shadowsim.config_store import build_config

    cls = FORECASTER_CONFIGS.get(name)
    if isinstance(data, cls):
        return typing.cast(ForecasterConfig, data)
    if isinstance(data, DictConfig):
        data = OmegaConf.to_container(data, resolve=True)
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "_target_"}
    cfg: ForecasterConfig = build_config(cls, data, key=key)
    return cfg


def forecaster_config_from_node(data: Any, key: str = "forecaster") -> ForecasterConfig:
    """Build a forecaster config from a ``conf/forecaster/*.yaml`` node.

    The node's ``_target_`` is the forecaster class (so ``hydra.utils.instantiate`` on the
    same node gives a forecaster directly) or its config class; ``interval_s`` is dropped
    (the config is built for a workload's interval later).

    Raises:
        ConfigError: No ``_target_``, one that is not a forecaster, an unknown key or a bad
            value, named by its dotted key.
    """
    from shadowsim.config_store import resolve
    from shadowsim.shadow.forecaster import FORECASTERS

    if isinstance(data, DictConfig):
        data = OmegaConf.to_container(data, resolve=True)
    if not isinstance(data, dict) or "_target_" not in data:
        raise ConfigError(
            f"{key}._target_", "missing; name a forecaster class, see conf/forecaster/"
        )
    target = str(data["_target_"])
    module, _, cls_name = target.rpartition(".")
    try:
        cls = resolve(f"{module}:{cls_name}")
    except (ImportError, AttributeError, ValueError) as err:
        raise ConfigError(f"{key}._target_", f"cannot import {target!r}: {err}") from err
    names = [n for n in FORECASTER_CONFIGS.names() if FORECASTER_CONFIGS.get(n) is cls]
    if isinstance(cls, type) and issubclass(cls, Forecaster):
        names = [cls.name]
    if not names or names[0] not in FORECASTERS:
        raise ConfigError(
            f"{key}._target_",
            f"{target!r} is not a forecaster; known: {', '.join(FORECASTERS.names())}",
        )
    rest = {k: v for k, v in data.items() if k not in ("_target_", "interval_s")}
    return forecaster_config(names[0], rest, key)
