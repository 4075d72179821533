"""The quantile LSTM network: multivariate, direct multi-horizon, monotone quantiles.

The LSTM reads a short patched context of the normalised demand (all four resources and
calendar features); its last hidden state, with extra inputs (last value, the last season's
mean and max, and the values one season before each target tick), feeds an MLP head that
outputs every step of the horizon at once. The lowest quantile is the last value plus a
learned offset; each higher one adds a softplus gap, so quantiles never cross. A per-resource
shift of each quantile (buffer ``q_shift``, fitted on validation data by
:func:`~shadowsim.shadow.forecasters.lstm.training.calibrate`) corrects its coverage; a
running maximum keeps the order after the shift.
"""

from __future__ import annotations

import torch
from torch import nn

from shadowsim.resources import N_RESOURCES


class QuantileLSTM(nn.Module):
    """LSTM encoder + MLP head predicting ``(horizon, 4, n_quantiles)`` in normalised units.

    Args:
        step_features: Features per LSTM step.
        extra_features: Features fed straight to the head; the first 4 are the last value.
        hidden: LSTM hidden size.
        layers: Stacked LSTM layers.
        head_hidden: Width of the head's hidden layer.
        horizon: Ticks forecast.
        n_quantiles: Quantile levels predicted.
        dropout: Dropout between LSTM layers and in the head.
    """

    def __init__(
        self,
        step_features: int,
        extra_features: int,
        hidden: int,
        layers: int,
        head_hidden: int,
        horizon: int,
        n_quantiles: int,
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        self.horizon = horizon
        self.n_quantiles = n_quantiles
        self.lstm = nn.LSTM(
            step_features,
            hidden,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        out = nn.Linear(head_hidden, horizon * N_RESOURCES * n_quantiles)
        with torch.no_grad():  # start close to "last value, fixed-width band"
            out.weight.mul_(0.1)
            out.bias.zero_()
        self.q_shift: torch.Tensor
        self.register_buffer("q_shift", torch.zeros(N_RESOURCES, n_quantiles))
        self.head = nn.Sequential(
            nn.Linear(hidden + extra_features, head_hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            out,
        )

    def forward(self, context: torch.Tensor, extra: torch.Tensor) -> torch.Tensor:
        """Quantiles ``(batch, horizon, 4, n_quantiles)``, increasing along the last axis.

        Args:
            context: ``(batch, n_steps, step_features)``.
            extra: ``(batch, extra_features)``; ``extra[:, :4]`` is the last value.
        """
        h = self.lstm(context)[0][:, -1]
        raw: torch.Tensor = self.head(torch.cat([h, extra], dim=-1))
        raw = raw.view(-1, self.horizon, N_RESOURCES, self.n_quantiles)
        low = extra[:, None, :N_RESOURCES, None] + raw[..., :1]
        if self.n_quantiles == 1:
            return low + self.q_shift
        gaps = torch.cumsum(nn.functional.softplus(raw[..., 1:]), dim=-1)
        out = torch.cat([low, low + gaps], dim=-1) + self.q_shift
        monotone: torch.Tensor = torch.cummax(out, dim=-1).values
        return monotone


def pinball_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    quantiles: torch.Tensor,
    weight: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean pinball (quantile) loss, optionally weighted.

    Args:
        pred: ``(batch, horizon, 4, n_quantiles)`` predicted quantiles.
        target: ``(batch, horizon, 4)`` observations.
        quantiles: ``(n_quantiles,)`` levels.
        weight: ``(batch, 4)`` weight of each window's resources, or None.
    """
    diff = target[..., None] - pred
    loss = torch.maximum(quantiles * diff, (quantiles - 1.0) * diff)
    if weight is None:
        return loss.mean()
    return (loss * weight[:, None, :, None]).mean()
