"""The engine settings a trained policy depends on, saved with it and adopted when it is run.

An agent's spaces and the meaning of its numbers come from the env's action settings
(``env.engine.action``: mode, scale factors, target range, pool and shift control) and
observation settings (``env.engine.observation``: usage window, forecast leads and quantiles,
reference sizes, clips). Training records both in the agent's metadata
(:func:`engine_settings`, under ``training.env_engine``); evaluating the agent then builds its
env with them (:func:`adopt_settings`), so ``python -m experiments.evaluate policy=sb3
policy.path=DIR`` needs no repetition of the training command's ``env.engine.action...``
overrides, and says what it changed::

    agent's settings: env.engine.action.mode DISCRETE -> CONTINUOUS
    agent's settings: env.engine.action.max_target 1024.0 -> 4.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, replace
from enum import Enum
from typing import Any

from shadowsim.engine.action_codec import ActionConfig
from shadowsim.engine.engine_config import EngineConfig
from shadowsim.engine.observation_config import ObservationConfig
from shadowsim.errors import ConfigError

SECTIONS: dict[str, type[Any]] = {"action": ActionConfig, "observation": ObservationConfig}
"""The ``EngineConfig`` sections a policy depends on, with their dataclasses."""


def engine_settings(engine: EngineConfig) -> dict[str, dict[str, Any]]:
    """The JSON-able action and observation settings of ``engine`` (enums by name)."""
    return {name: _plain(asdict(getattr(engine, name))) for name in SECTIONS}


def adopt_settings(
    engine: EngineConfig, settings: Mapping[str, Any] | None, *, where: str = "env.engine"
) -> tuple[EngineConfig, list[str]]:
    """``engine`` with a policy's saved action and observation settings.

    Args:
        engine: The settings the env would have (config and command line).
        settings: What :func:`engine_settings` saved, or None (nothing to adopt).
        where: The config key of ``engine``, for the notes and errors.

    Returns:
        The engine settings to run the policy with, and one note per value changed
        (``env.engine.action.max_target 1024.0 -> 4.0``).

    Raises:
        ConfigError: A saved section is not a mapping or breaks its dataclass's checks.
    """
    if not settings:
        return engine, []
    notes: list[str] = []
    for name, cls in SECTIONS.items():
        saved = settings.get(name)
        if saved is None:
            continue
        if not isinstance(saved, Mapping):
            raise ConfigError(
                f"{where}.{name}", f"the policy's saved settings must be a mapping, got {saved!r}"
            )
        current = getattr(engine, name)
        try:
            wanted = cls(**{**asdict(current), **saved})
        except (TypeError, ConfigError) as err:
            raise ConfigError(
                f"{where}.{name}", f"the policy's saved settings do not fit this version: {err}"
            ) from err
        before, after = _plain(asdict(current)), _plain(asdict(wanted))
        notes += [
            f"{where}.{name}.{key} {_show(before[key])} -> {_show(after[key])}"
            for key in after
            if after[key] != before.get(key)
        ]
        engine = replace(engine, **{name: wanted})
    return engine, notes


def _plain(value: Any) -> Any:
    """Enums by name, tuples as lists, recursively."""
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _show(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)
