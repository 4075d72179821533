"""Batched forecasts kept across episodes: :class:`ForecastCache`.

Fast mode forecasts every origin of an episode ahead through
:meth:`~shadowsim.shadow.forecaster.Forecaster.predict_origins`. A forecast at origin ``t``
depends only on the demand before ``t`` (and the fitted forecaster), never on which other
origins are asked with it, so the cache computes fixed chunks of origins (``[k C, (k + 1) C)``
for chunk ``k``, ``C = chunk_origins``; from the first origin asked, when that is later)
once and hands them to every later episode that overlaps them: an env reset then costs
only the chunks no recent episode has touched.
Chunks are kept up to ``max_bytes`` (least recently used evicted first; the chunks of the
episode being prepared are always kept). The figures are exactly those of one batched call.

The cache assumes the forecaster and the demand do not change after it is made: after
refitting the forecaster, call :meth:`ForecastCache.clear`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import ForecastError
from shadowsim.shadow.forecaster import Forecaster

F64 = NDArray[np.float64]

DEFAULT_CACHE_BYTES = 256 * 2**20
"""Default memory budget of a :class:`ForecastCache`, bytes (256 MiB)."""


class ForecastCache:
    """Chunks of ``(n, A, horizon, 4, Q)`` forecasts by origin, reused across episodes.

    Args:
        forecaster: A fitted forecaster for the demand's applications.
        demand: ``(A, N, 4)`` the demand (origin ``t`` sees ``demand[:, :t]`` only).
        horizon: Ticks per forecast, >= 1.
        start_s: Unix time of tick 0, s.
        chunk_origins: Origins per chunk (one batched call each), >= 1.
        max_bytes: Memory kept for chunks outside the episode being prepared, bytes, >= 0.

    Raises:
        ForecastError: ``chunk_origins`` < 1 or ``max_bytes`` < 0.
    """

    def __init__(
        self,
        forecaster: Forecaster,
        demand: F64,
        horizon: int,
        *,
        start_s: float = 0.0,
        chunk_origins: int = 256,
        max_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        if chunk_origins < 1:
            raise ForecastError(f"chunk_origins must be >= 1, got {chunk_origins}")
        if max_bytes < 0:
            raise ForecastError(f"the forecast cache's max_bytes must be >= 0, got {max_bytes}")
        self.forecaster = forecaster
        self.demand = demand
        self.horizon = int(horizon)
        self.start_s = float(start_s)
        self.chunk_origins = int(chunk_origins)
        self.max_bytes = int(max_bytes)
        # chunk index -> (first origin, forecasts), least recently used first
        self._chunks: dict[int, tuple[int, F64]] = {}
        self.computed = 0
        """Chunks computed so far (a reused chunk is not counted again)."""

    @property
    def nbytes(self) -> int:
        """Memory held by the cached chunks, bytes."""
        return sum(entry[1].nbytes for entry in self._chunks.values())

    def clear(self) -> None:
        """Forget every chunk (after the forecaster was refitted)."""
        self._chunks.clear()

    def prepare(self, first: int, last: int) -> list[tuple[int, F64]]:
        """The chunks covering origins ``first .. last``, computing the missing ones.

        Returns:
            ``(first origin, forecasts)`` per chunk index ``first // chunk_origins ..
            last // chunk_origins``: the forecasts are a read-only, C-contiguous
            ``(n, A, horizon, 4, Q)`` array whose entry ``t - first origin`` is the forecast
            at origin ``t``. A chunk starts at its first multiple of ``chunk_origins``, or
            later when first asked from a later origin (a forecaster may need history before
            its first origin); one asked from before its start is computed again.

        Raises:
            ForecastError: Origins outside ``1 .. N``.
        """
        n_ticks = self.demand.shape[1]
        if not 1 <= first <= last <= n_ticks:
            raise ForecastError(
                f"origins {first}..{last} must lie within 1..{n_ticks} "
                "(each needs the demand before it)"
            )
        size = self.chunk_origins
        wanted = range(first // size, last // size + 1)
        blocks: list[tuple[int, F64]] = []
        for k in wanted:
            begin = max(k * size, first)
            entry = self._chunks.pop(k, None)  # re-inserted below: most recent last
            if entry is None or entry[0] > begin:
                entry = (begin, self._compute(begin, min((k + 1) * size, n_ticks + 1)))
            self._chunks[k] = entry
            blocks.append(entry)
        self._evict(set(wanted))
        return blocks

    def _compute(self, begin: int, end: int) -> F64:
        """Forecasts at origins ``begin .. end - 1``, origin by origin (read-only, C order)."""
        origins = np.arange(begin, end, dtype=np.int64)
        part = self.forecaster.predict_origins(
            self.demand, origins, self.horizon, start_s=self.start_s
        )  # (A, n, horizon, 4, Q)
        chunk = np.ascontiguousarray(part.swapaxes(0, 1))
        chunk.setflags(write=False)
        self.computed += 1
        return chunk

    def _evict(self, keep: set[int]) -> None:
        """Drop the least recently used chunks not in ``keep`` while over the budget."""
        held = sum(entry[1].nbytes for k, entry in self._chunks.items() if k not in keep)
        for k in list(self._chunks):
            if held <= self.max_bytes:
                break
            if k not in keep:
                held -= self._chunks.pop(k)[1].nbytes
