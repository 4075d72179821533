"""Exponentially bucketed histograms with exponentially decaying sample weights.

The data structure of the Kubernetes VPA recommender (``pkg/recommender/util/histogram.go``
and ``decaying_histogram.go``) and of Google Autopilot's percentile recommender, held for
``A`` applications x 4 resources at once as one ``(A, 4, B)`` weight array.

Buckets: bucket ``k`` starts at ``first * (ratio**k - 1) / (ratio - 1)`` (ref units), so
resolution is relative: about ``ratio - 1`` of the value (5% for the VPA's 1.05). The last
bucket has no upper bound.

Decay: a sample's weight halves every ``half_life_s`` seconds. Instead of giving newer samples
exponentially growing weights (as the VPA does, renormalising now and then), every tick the
existing weights are multiplied by ``0.5 ** (interval_s / half_life_s)``: the same
percentiles, and no overflow on long runs.

Percentile: the end of the first bucket at which the cumulative weight reaches ``p`` of the
total (the VPA's convention: a conservative, upper-bucket-edge answer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ConfigError
from shadowsim.resources import N_RESOURCES


@dataclass(frozen=True)
class BucketScheme:
    """Exponential bucket boundaries.

    Attributes:
        first: Width of the first bucket, ref units (> 0).
        ratio: Growth of each bucket's width over the previous one (> 1).
        maximum: Values at or above this fall in the last bucket, ref units.
    """

    first: float = 0.001
    ratio: float = 1.05
    maximum: float = 100.0

    def __post_init__(self) -> None:
        if not self.first > 0:
            raise ConfigError("policy.histogram.first", f"must be > 0, got {self.first}")
        if not self.ratio > 1:
            raise ConfigError("policy.histogram.ratio", f"must be > 1, got {self.ratio}")
        if not self.maximum > self.first:
            raise ConfigError(
                "policy.bucket_first",
                f"must be below the histogram maximum {self.maximum} ref units, got {self.first}",
            )

    @property
    def n_buckets(self) -> int:
        """Number of buckets needed to reach ``maximum``."""
        n = np.log(self.maximum * (self.ratio - 1.0) / self.first + 1.0) / np.log(self.ratio)
        return int(np.ceil(n)) + 1

    def starts(self) -> NDArray[np.float64]:
        """``(B + 1,)`` bucket start values; entry ``B`` is the end of the last finite bucket."""
        k = np.arange(self.n_buckets + 1, dtype=np.float64)
        return self.first * (self.ratio**k - 1.0) / (self.ratio - 1.0)

    def index(self, values: NDArray[np.float64]) -> NDArray[np.intp]:
        """Bucket index of each value (negative values go to bucket 0)."""
        v = np.maximum(values, 0.0)
        k = np.floor(np.log(v * (self.ratio - 1.0) / self.first + 1.0) / np.log(self.ratio))
        return np.asarray(np.clip(k, 0, self.n_buckets - 1), dtype=np.intp)


class DecayingHistogram:
    """Per-application, per-resource decaying histograms of demand in ref units.

    Args:
        n_apps: Number of applications ``A``.
        half_life_s: Half-life of a sample's weight, s, one per resource or one for all.
        interval_s: Time between two :meth:`add` calls, s.
        scheme: Bucket boundaries.

    Raises:
        ConfigError: A half-life or the interval is not > 0.
    """

    def __init__(
        self,
        n_apps: int,
        half_life_s: float | Sequence[float],
        interval_s: float,
        scheme: BucketScheme | None = None,
    ) -> None:
        self.scheme = scheme or BucketScheme()
        half = np.broadcast_to(np.asarray(half_life_s, dtype=np.float64), (N_RESOURCES,))
        if not (half > 0).all():
            raise ConfigError("policy.half_life_s", f"must be > 0 s, got {half_life_s}")
        if not interval_s > 0:
            raise ConfigError("env.interval_s", f"must be > 0 s, got {interval_s}")
        self.decay = 0.5 ** (interval_s / half)
        self.weights = np.zeros((n_apps, N_RESOURCES, self.scheme.n_buckets))
        self._ends = self.scheme.starts()[1:]
        self._ends[-1] = self.scheme.starts()[-2]  # the last bucket has no end: report its start
        self._rows = np.arange(n_apps)[:, None]
        self._cols = np.arange(N_RESOURCES)[None, :]

    @property
    def total_weight(self) -> NDArray[np.float64]:
        """``(A, 4)`` sum of weights."""
        return np.asarray(self.weights.sum(axis=2))

    def add(self, values: NDArray[np.float64], weight: float = 1.0) -> None:
        """Decay every weight by one interval, then add one sample per app and resource.

        Args:
            values: ``(A, 4)`` samples, ref units.
            weight: Weight of each new sample.
        """
        self.weights *= self.decay[None, :, None]
        self.weights[self._rows, self._cols, self.scheme.index(values)] += weight

    def percentile(self, p: float) -> NDArray[np.float64]:
        """``(A, 4)`` the ``p``-quantile (``p`` in (0, 1]); 0 where a histogram is empty."""
        cum = np.cumsum(self.weights, axis=2)
        total = cum[:, :, -1:]
        reached = cum >= p * total * (1.0 - 1e-12)
        idx = np.argmax(reached, axis=2)
        out = self._ends[idx]
        return np.where(total[:, :, 0] > 0, out, 0.0)

    def copy(self) -> DecayingHistogram:
        """An independent copy (same scheme and decay)."""
        new = object.__new__(DecayingHistogram)
        new.scheme = self.scheme
        new.decay = self.decay
        new.weights = self.weights.copy()
        new._ends = self._ends
        new._rows = self._rows
        new._cols = self._cols
        return new
