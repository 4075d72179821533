"""The LSTM's hold band: keep the last value when the median forecast barely differs from it.

Many real series hold a level for long stretches and then jump (a Bitbrains VM idles, then
runs flat out). Between the jumps the last value is exactly right, while a network's median
drifts a little around it; at the jumps neither the network nor anything else knows the
timing. :func:`calibrate_hold` chooses, per resource, a band in normalised units
(``|median - last| < band``: forecast the last value) from a grid, by the mean absolute error
of the median in the data's own units (vCPU, MiB, KB/s) on the validation windows, never on
test data. A band is kept only when it lowers that error by at least ``min_gain``
(relative), so a series the network reads better than persistence keeps a band of zero, and
the forecasts stay what they were. The band is a buffer of the model, saved with its
weights; :meth:`~shadowsim.shadow.forecasters.lstm.forecaster.LSTMForecaster.update`
(fine-tuning) keeps it and trains on the network's own outputs, a new ``fit`` chooses it
again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from shadowsim.resources import N_RESOURCES
from shadowsim.shadow.forecasters.lstm.model import QuantileLSTM
from shadowsim.shadow.forecasters.lstm.training import Batches

BANDS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)
"""Candidate bands, normalised units (``log1p(x / scale)``; 0.1 is about 10% of a level near
the application's mean)."""


@dataclass(frozen=True)
class HoldCalibration:
    """The chosen bands and what they did on the validation windows.

    Attributes:
        band: ``(4,)`` chosen band per resource, normalised units (0 = off).
        mae_before: ``(4,)`` validation MAE of the median without a band, resource units.
        mae_after: ``(4,)`` validation MAE of the median with the chosen band.
    """

    band: NDArray[np.float64]
    mae_before: NDArray[np.float64]
    mae_after: NDArray[np.float64]


def _to_units(z: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Normalised ``(n, horizon, 4)`` values in resource units (as ``denormalise``)."""
    return torch.clamp(torch.expm1(z.double()), min=0.0) * scale[:, None, :]


def calibrate_hold(
    model: QuantileLSTM,
    data: Batches,
    scale: NDArray[np.float64],
    *,
    bands: tuple[float, ...] = BANDS,
    min_gain: float = 1e-3,
    batch_size: int = 4096,
) -> HoldCalibration:
    """Choose ``model.hold_band`` per resource on the windows of ``data``; set and return it.

    Args:
        model: A trained model whose median is ``model.median`` (>= 0, else nothing is done).
        data: Validation windows.
        scale: ``(n_apps, 4)`` the normalisation scales of the applications of ``data``.
        bands: Candidate bands (> 0), normalised units.
        min_gain: Smallest relative cut of the validation MAE for which a band is kept.
        batch_size: Windows per forward pass.
    """
    model.eval()
    model.hold_band.zero_()
    candidates = (0.0, *bands)
    errors = torch.zeros(len(candidates), N_RESOURCES, dtype=torch.float64)
    count = 0
    k = model.median
    if k >= 0:
        with torch.inference_mode():
            for start in range(0, len(data), batch_size):
                sel = np.arange(start, min(start + batch_size, len(data)))
                ctx, extra, target, _ = data.take(sel)
                out, last = model.unordered(ctx, extra)
                s = torch.from_numpy(np.ascontiguousarray(scale[data.apps[sel]]))
                truth = _to_units(target, s)
                for i, candidate in enumerate(candidates):
                    width = torch.full((N_RESOURCES,), candidate)
                    median = model.ordered(model.hold(out.clone(), last, width))[..., k]
                    errors[i] += (_to_units(median, s) - truth).abs().sum(dim=(0, 1))
                count += target.shape[0] * target.shape[1]
    mae: NDArray[np.float64] = (errors / max(count, 1)).numpy()
    best = np.argmin(mae, axis=0)  # the first of equals: no band before any band
    chosen = np.array([candidates[b] for b in best], dtype=np.float64)
    after = mae[best, np.arange(N_RESOURCES)]
    keep = after < mae[0] * (1.0 - min_gain)
    band: NDArray[np.float64] = np.where(keep, chosen, 0.0)
    model.hold_band.copy_(torch.from_numpy(band.astype(np.float32)))
    return HoldCalibration(band, mae[0].copy(), np.where(keep, after, mae[0]))
