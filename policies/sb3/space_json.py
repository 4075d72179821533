"""Gymnasium spaces to and from plain JSON, so a saved agent records its spaces without pickle.

Supported: ``Box`` (bounds as nested lists, infinities as the strings ``"inf"``/``"-inf"``,
or one scalar when uniform), ``Discrete``, ``MultiDiscrete`` and ``Dict`` of those.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from gymnasium import spaces

from shadowsim.errors import ArtifactError


def space_to_json(space: spaces.Space[Any]) -> dict[str, Any]:
    """A JSON-able description of ``space``.

    Raises:
        ArtifactError: The space type is not supported.
    """
    if isinstance(space, spaces.Dict):
        return {"type": "Dict", "spaces": {k: space_to_json(v) for k, v in space.spaces.items()}}
    if isinstance(space, spaces.Box):
        return {
            "type": "Box",
            "shape": list(space.shape),
            "dtype": str(space.dtype),
            "low": _bound_to_json(space.low),
            "high": _bound_to_json(space.high),
        }
    if isinstance(space, spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "MultiDiscrete", "nvec": space.nvec.tolist(), "dtype": str(space.dtype)}
    raise ArtifactError(f"cannot describe a {type(space).__name__} space in JSON")


def space_from_json(data: dict[str, Any]) -> spaces.Space[Any]:
    """The space described by :func:`space_to_json`.

    Raises:
        ArtifactError: The description is malformed or of an unknown type.
    """
    try:
        kind = data["type"]
        if kind == "Dict":
            return spaces.Dict({k: space_from_json(v) for k, v in data["spaces"].items()})
        if kind == "Box":
            shape = tuple(int(x) for x in data["shape"])
            dtype = np.dtype(data["dtype"])
            low = np.broadcast_to(_bound_from_json(data["low"]), shape).astype(dtype)
            high = np.broadcast_to(_bound_from_json(data["high"]), shape).astype(dtype)
            return spaces.Box(low=low, high=high, shape=shape, dtype=dtype)
        if kind == "Discrete":
            return spaces.Discrete(int(data["n"]), start=int(data.get("start", 0)))
        if kind == "MultiDiscrete":
            nvec = np.asarray(data["nvec"], dtype=np.int64)
            return spaces.MultiDiscrete(nvec, dtype=np.dtype(data.get("dtype", "int64")))
    except (KeyError, TypeError, ValueError) as err:
        raise ArtifactError(f"malformed space description {str(data)[:200]}: {err}") from err
    raise ArtifactError(f"unknown space type {kind!r}; known: Box, Discrete, MultiDiscrete, Dict")


def spaces_match(a: spaces.Space[Any], b: spaces.Space[Any]) -> bool:
    """True when two spaces have the same type, keys, shapes, dtypes and bounds."""
    return space_to_json(a) == space_to_json(b)


def _bound_to_json(bound: np.ndarray[Any, Any]) -> Any:
    """Box bounds: one scalar when uniform, else nested lists; infinities as strings."""
    flat = np.asarray(bound, dtype=np.float64)
    if flat.size and (flat == flat.flat[0]).all():
        return _scalar(float(flat.flat[0]))
    return _nested(flat.tolist())


def _nested(value: Any) -> Any:
    if isinstance(value, list):
        return [_nested(v) for v in value]
    return _scalar(float(value))


def _scalar(x: float) -> float | str:
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _bound_from_json(value: Any) -> np.ndarray[Any, Any]:
    if isinstance(value, list):
        return np.asarray([_bound_from_json(v) for v in value], dtype=np.float64)
    return np.asarray(float(value), dtype=np.float64)
