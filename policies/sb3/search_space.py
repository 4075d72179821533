"""The search space of a hyper-parameter search: one distribution per hyper-parameter.

Plain data (a Hydra node or a dict), one entry per field of the algorithm's hyper-parameter
dataclass::

    {"learning_rate": {"loguniform": [1e-4, 3e-3]}, "n_steps": {"choice": [16, 32, 64]}}

Distributions: ``uniform: [low, high]``, ``loguniform: [low, high]`` (low > 0),
``randint: [low, high]`` (integers, high excluded, as Ray's), ``choice: [v, ...]``. Every
bound and choice is checked against the hyper-parameter's own rules
(:func:`parse_search_space`); :meth:`Dimension.to_ray` gives Ray Tune's sampler. Nothing
here imports Ray.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from types import ModuleType
from typing import Any

from shadowsim.errors import ConfigError, UnknownNameError
from shadowsim_policies.policy_config import number
from shadowsim_policies.sb3.algorithm import ALGORITHMS


class Distribution(Enum):
    """How one hyper-parameter is sampled (Ray Tune's sampling functions)."""

    UNIFORM = "uniform"
    LOGUNIFORM = "loguniform"
    RANDINT = "randint"
    CHOICE = "choice"


@dataclass(frozen=True)
class Dimension:
    """One hyper-parameter's distribution.

    Attributes:
        name: Field of the algorithm's hyper-parameter dataclass.
        distribution: How it is sampled.
        values: ``(low, high)`` for ranges, the options for CHOICE.
    """

    name: str
    distribution: Distribution
    values: tuple[Any, ...]

    def to_ray(self, tune: ModuleType) -> Any:
        """The Ray Tune sampler of this dimension."""
        match self.distribution:
            case Distribution.UNIFORM:
                return tune.uniform(*self.values)
            case Distribution.LOGUNIFORM:
                return tune.loguniform(*self.values)
            case Distribution.RANDINT:
                return tune.randint(*self.values)
            case Distribution.CHOICE:
                return tune.choice(list(self.values))


def parse_search_space(
    node: Mapping[str, Any],
    algorithm: str,
    *,
    per_app: bool = False,
    key: str = "tune.search_space",
) -> tuple[Dimension, ...]:
    """Check a search space (see the module docstring) against ``algorithm``'s
    hyper-parameters.

    Raises:
        ConfigError: Naming ``KEY.NAME``: not a mapping of one distribution, an unknown
            distribution or hyper-parameter (with a did-you-mean), wrong bounds, or a bound
            or choice the hyper-parameter itself refuses.
    """
    if not isinstance(node, Mapping) or not node:
        raise ConfigError(key, f"expected a mapping of hyper-parameter: distribution, got {node!r}")
    spec = ALGORITHMS.get(algorithm)
    names = [d.value for d in Distribution]
    dims = []
    for name, entry in node.items():
        where = f"{key}.{name}"
        if not isinstance(entry, Mapping) or len(entry) != 1:
            raise ConfigError(
                where,
                f"expected one distribution such as {{loguniform: [1e-4, 1e-2]}}, got {entry!r}",
            )
        ((kind, raw),) = entry.items()
        if kind not in names:
            raise ConfigError(where, str(UnknownNameError("distribution", str(kind), names)))
        distribution = Distribution(kind)
        values = tuple(raw) if isinstance(raw, list | tuple) else (raw,)
        _check_bounds(where, distribution, values)
        for value in values:  # the hyper-parameter's own rules, at each bound or choice
            probe = (
                value - 1 if distribution is Distribution.RANDINT and value == values[1] else value
            )
            spec.hyperparameters({str(name): probe}, per_app=per_app, where=key)
        dims.append(Dimension(str(name), distribution, values))
    return tuple(dims)


def _check_bounds(where: str, distribution: Distribution, values: tuple[Any, ...]) -> None:
    if distribution is Distribution.CHOICE:
        if not values:
            raise ConfigError(where, "choice needs at least one option")
        return
    if len(values) != 2:
        raise ConfigError(where, f"{distribution.value} needs [low, high], got {list(values)}")
    low = number("low", values[0], where=where)
    high = number("high", values[1], where=where)
    if not low < high:
        raise ConfigError(where, f"{distribution.value} needs low < high, got [{low}, {high}]")
    if distribution is Distribution.LOGUNIFORM and low <= 0:
        raise ConfigError(where, f"loguniform needs low > 0, got {low}")
    if distribution is Distribution.RANDINT and not all(float(v).is_integer() for v in values):
        raise ConfigError(where, f"randint needs integer bounds, got {list(values)}")
