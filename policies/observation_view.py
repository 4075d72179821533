"""A typed, validated view of one observation dict (OBSERVATION_VERSION "1").

Baselines read observations through :class:`ObservationView` rather than raw keys, so a
malformed observation fails once, with a message naming the key, the expected shape and the
shape found. Every quantity about application ``i`` and resource ``r`` is in *ref units*:
divided by the per-application reference size ``ref[i, r]`` the environment fixed at reset
(see :mod:`shadowsim.engine.observation`). Policies are therefore scale-free.

Batches: stable-baselines3 passes vectorised observations, each array with a leading
``n_envs`` axis. :func:`split_batch` turns one into a list of single observations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.engine.observation import OBSERVATION_KEYS
from shadowsim.errors import ShadowSimError
from shadowsim.resources import N_RESOURCES

Observation = Mapping[str, NDArray[np.floating]]
"""An observation dict as built by the engine's ObservationBuilder."""

KEYS: tuple[str, ...] = OBSERVATION_KEYS
"""Keys of an observation, in the order of the spec (the engine's observation builder's)."""

_SINGLE_NDIM = {
    "usage": 3,
    "forecast": 4,
    "allocation": 2,
    "pending": 2,
    "kpi": 2,
    "forecast_error": 2,
    "priority": 2,
    "ref_log": 2,
    "pool": 1,
    "hosts": 2,
    "time": 1,
}


class ObservationError(ShadowSimError, ValueError):
    """An observation handed to a policy does not have the documented keys or shapes."""


def is_batched(observation: Observation) -> bool:
    """True when ``observation`` carries a leading ``n_envs`` axis (a vectorised env).

    Raises:
        ObservationError: ``usage`` is missing or has neither 3 nor 4 dimensions.
    """
    usage = _get(observation, "usage")
    if usage.ndim == _SINGLE_NDIM["usage"]:
        return False
    if usage.ndim == _SINGLE_NDIM["usage"] + 1:
        return True
    raise ObservationError(
        f"observation['usage'] must have shape (A, W, {N_RESOURCES}) or (n_envs, A, W, "
        f"{N_RESOURCES}), got {usage.shape}"
    )


def split_batch(observation: Observation) -> list[dict[str, NDArray[np.floating]]]:
    """The single observations of a batch (or a one-element list for a single observation)."""
    if not is_batched(observation):
        return [dict(observation)]
    n = _get(observation, "usage").shape[0]
    out: list[dict[str, NDArray[np.floating]]] = [{} for _ in range(n)]
    for key, value in observation.items():
        arr = np.asarray(value)
        if arr.shape[:1] != (n,):
            raise ObservationError(
                f"batched observation['{key}'] must have a leading axis of {n} envs like "
                f"'usage', got shape {arr.shape}"
            )
        for i in range(n):
            out[i][key] = arr[i]
    return out


@dataclass(frozen=True, eq=False)
class ObservationView:
    """One observation, validated, as float64 arrays in ref units.

    Attributes:
        usage: ``(A, W, 4)`` recent demand, oldest first; ``usage[:, -1]`` is the last tick.
        forecast: ``(A, L, 4, Q)`` forecast demand at each lead of the env's forecast_leads.
        allocation: ``(A, 4)`` allocation in force.
        pending: ``(A, 4)`` allocation once in-flight scaling has landed.
        kpi: ``(A, 4)`` response time / SLA, error rate / SLA max, SLA violated, throttled share.
        forecast_error: ``(A, 4)`` recent relative MAE of the P50 forecast.
        priority: ``(A,)`` Priority values (0 LOW, 1 MEDIUM, 2 HIGH) from the one-hot.
        ref_log: ``(A, 4)`` log1p of the reference size (absolute scale).
        pool: ``(2*S,)`` pool counts then targets, each divided by the component count.
        hosts: ``(3, 4)`` mean headroom share, min headroom share, share of hosts above 90%.
        time: ``(4,)`` sin/cos of time of day, sin/cos of day of week.
    """

    usage: NDArray[np.float64]
    forecast: NDArray[np.float64]
    allocation: NDArray[np.float64]
    pending: NDArray[np.float64]
    kpi: NDArray[np.float64]
    forecast_error: NDArray[np.float64]
    priority: NDArray[np.int64]
    ref_log: NDArray[np.float64]
    pool: NDArray[np.float64]
    hosts: NDArray[np.float64]
    time: NDArray[np.float64]

    @property
    def n_apps(self) -> int:
        """Number of applications ``A``."""
        return int(self.usage.shape[0])

    @property
    def last_usage(self) -> NDArray[np.float64]:
        """``(A, 4)`` demand of the tick just accounted, ref units."""
        return self.usage[:, -1]

    @classmethod
    def of(cls, observation: Observation) -> ObservationView:
        """Validate a single (unbatched) observation and wrap it.

        Raises:
            ObservationError: A key is missing, an array has the wrong number of dimensions,
                the per-application arrays disagree on ``A``, or values are not finite.
        """
        arrays = {key: np.asarray(_get(observation, key), dtype=np.float64) for key in KEYS}
        for key, arr in arrays.items():
            if arr.ndim != _SINGLE_NDIM[key]:
                raise ObservationError(
                    f"observation['{key}'] must have {_SINGLE_NDIM[key]} dimensions (see "
                    f"shadowsim.engine.observation), got shape {arr.shape}"
                )
            if not np.isfinite(arr).all():
                raise ObservationError(f"observation['{key}'] holds non-finite values")
        n_apps = arrays["usage"].shape[0]
        expected = {
            "usage": (n_apps, None, N_RESOURCES),
            "forecast": (n_apps, None, N_RESOURCES, None),
            "allocation": (n_apps, N_RESOURCES),
            "pending": (n_apps, N_RESOURCES),
            "kpi": (n_apps, 4),
            "forecast_error": (n_apps, N_RESOURCES),
            "priority": (n_apps, 3),
            "ref_log": (n_apps, N_RESOURCES),
            "hosts": (3, N_RESOURCES),
            "time": (4,),
        }
        for key, shape in expected.items():
            got = arrays[key].shape
            if any(e is not None and e != g for e, g in zip(shape, got, strict=True)):
                want = tuple("*" if e is None else e for e in shape)
                raise ObservationError(
                    f"observation['{key}'] must have shape {want} for {n_apps} apps, got {got}"
                )
        return cls(
            usage=arrays["usage"],
            forecast=arrays["forecast"],
            allocation=arrays["allocation"],
            pending=arrays["pending"],
            kpi=arrays["kpi"],
            forecast_error=arrays["forecast_error"],
            priority=np.argmax(arrays["priority"], axis=1).astype(np.int64),
            ref_log=arrays["ref_log"],
            pool=arrays["pool"],
            hosts=arrays["hosts"],
            time=arrays["time"],
        )


def _get(observation: Observation, key: str) -> NDArray[np.floating]:
    """``observation[key]`` as an array, or an :class:`ObservationError` naming the key."""
    try:
        return np.asarray(observation[key])
    except KeyError:
        raise ObservationError(
            f"observation has no key '{key}'; expected the keys {list(KEYS)} of "
            f"OBSERVATION_VERSION 1, got {sorted(observation)}"
        ) from None
