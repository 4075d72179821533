"""Training the quantile LSTM: pinball loss, adaptive learning rate, early stopping.

The learning rate adapts in two ways, both logged (logger ``shadowsim.shadow.forecasters.
lstm.training``) so the choice is visible:

* during training, ReduceLROnPlateau lowers it when the validation loss stops improving;
* in online fine-tuning (:func:`fine_tune`), the caller picks a higher rate after drift.

Everything is seeded: the same seed, data and config give the same weights on CPU.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from numpy.typing import NDArray
from torch import nn
from torch.optim.swa_utils import AveragedModel
from tqdm.auto import tqdm

from shadowsim.errors import ConfigError
from shadowsim.shadow.forecasters.lstm.features import (
    Series,
    WindowSpec,
    build_targets,
    build_windows,
)
from shadowsim.shadow.forecasters.lstm.model import QuantileLSTM, pinball_loss

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """How the LSTM is trained.

    Attributes:
        epochs: Most passes (of ``samples_per_epoch`` windows each).
        samples_per_epoch: (app, origin) windows drawn per epoch (all when fewer exist).
        batch_size: Windows per gradient step.
        lr: Initial learning rate.
        weight_decay: AdamW weight decay.
        plateau_patience: Epochs without validation improvement before the rate is cut.
        plateau_factor: Factor the rate is multiplied by on a plateau.
        min_lr: Lowest rate.
        early_stop_patience: Epochs without improvement before training stops.
        val_fraction: Share of the fit window (its end) held out for validation.
        max_val_samples: Most validation windows (evenly spaced subset).
        refit_epochs: Extra epochs on all windows (training + validation) after early
            stopping, at the final rate, so the newest data is learned too.
        grad_clip: Gradient norm clip.
        ema_decay: Decay of an exponential moving average of the weights, validated and
            kept instead of the raw weights (0 turns it off).
        progress: Show a tqdm progress bar.
    """

    epochs: int = 30
    samples_per_epoch: int = 40000
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    plateau_patience: int = 2
    plateau_factor: float = 0.5
    min_lr: float = 1e-5
    early_stop_patience: int = 5
    val_fraction: float = 0.2
    max_val_samples: int = 20000
    refit_epochs: int = 0
    grad_clip: float = 1.0
    ema_decay: float = 0.999
    progress: bool = True

    def check(self) -> None:
        """Raise :class:`ConfigError` on an out-of-range value."""
        positive = ("epochs", "samples_per_epoch", "batch_size", "lr", "max_val_samples")
        for key in positive:
            if not getattr(self, key) > 0:
                raise ConfigError(
                    f"forecaster.train.{key}", f"must be > 0, got {getattr(self, key)}"
                )
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(
                "forecaster.train.val_fraction", f"must be in (0, 1), got {self.val_fraction}"
            )
        if not 0.0 <= self.ema_decay < 1.0:
            raise ConfigError(
                "forecaster.train.ema_decay", f"must be in [0, 1), got {self.ema_decay}"
            )
        if not 0.0 < self.plateau_factor < 1.0:
            raise ConfigError(
                "forecaster.train.plateau_factor", f"must be in (0, 1), got {self.plateau_factor}"
            )


@dataclass
class TrainReport:
    """What happened in training.

    Attributes:
        epochs: Epochs run (including refit epochs).
        best_epoch: Epoch (1-based) with the lowest validation loss.
        best_val_loss: Lowest validation pinball loss (normalised units).
        final_lr: Learning rate at the end.
        lr_changes: ``(epoch, old_lr, new_lr)`` for every change.
        seconds: Wall-clock training time, s.
    """

    epochs: int = 0
    best_epoch: int = 0
    best_val_loss: float = math.inf
    final_lr: float = 0.0
    lr_changes: list[tuple[int, float, float]] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Batches:
    """The series a model trains on and the (app, origin) windows to draw from.

    Attributes:
        series: The raw series and its normalisation.
        apps: ``(n,)`` application of each window.
        origins: ``(n,)`` origin of each window.
        spec: Window geometry.
        weight: ``(n_apps, 4)`` loss weight of each application's resources, or None.
    """

    series: Series
    apps: NDArray[np.int64]
    origins: NDArray[np.int64]
    spec: WindowSpec
    weight: torch.Tensor | None = None

    def __len__(self) -> int:
        return int(self.apps.shape[0])

    def take(
        self, sel: NDArray[np.int64]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Context, extra inputs, targets and loss weights of windows ``sel``."""
        a, o = self.apps[sel], self.origins[sel]
        ctx, extra = build_windows(self.series, a, o, self.spec)
        weight = None if self.weight is None else self.weight[torch.from_numpy(a)]
        return ctx, extra, build_targets(self.series, a, o, self.spec.horizon), weight

    def subset(self, sel: NDArray[np.int64]) -> Batches:
        """The windows ``sel`` only."""
        return Batches(self.series, self.apps[sel], self.origins[sel], self.spec, self.weight)


def _ema_fn(
    decay: float,
) -> Callable[[torch.Tensor, torch.Tensor, torch.Tensor | int], torch.Tensor]:
    """EMA update with warm-up: the decay is ``min(decay, (1 + n) / (10 + n))`` at step ``n``,
    so short trainings are not stuck near the initial weights."""

    def avg(ema: torch.Tensor, current: torch.Tensor, n: torch.Tensor | int) -> torch.Tensor:
        d = min(decay, (1.0 + float(n)) / (10.0 + float(n)))
        return d * ema + (1.0 - d) * current

    return avg


def evaluate(
    model: nn.Module, data: Batches, quantiles: torch.Tensor, batch_size: int = 4096
) -> float:
    """Mean pinball loss of ``model`` over all windows of ``data``."""
    model.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for start in range(0, len(data), batch_size):
            sel = np.arange(start, min(start + batch_size, len(data)))
            ctx, extra, target, weight = data.take(sel)
            loss = pinball_loss(model(ctx, extra), target, quantiles, weight)
            total += float(loss) * len(sel)
            count += len(sel)
    return total / max(count, 1)


def _epoch(
    model: QuantileLSTM,
    opt: torch.optim.Optimizer,
    data: Batches,
    quantiles: torch.Tensor,
    cfg: TrainConfig,
    gen: torch.Generator,
    ema: AveragedModel | None = None,
) -> float:
    model.train()
    order = torch.randperm(len(data), generator=gen)[: cfg.samples_per_epoch].numpy()
    total = 0.0
    for start in range(0, len(order), cfg.batch_size):
        ctx, extra, target, weight = data.take(order[start : start + cfg.batch_size])
        loss = pinball_loss(model(ctx, extra), target, quantiles, weight)
        opt.zero_grad()
        loss.backward()  # type: ignore[no-untyped-call]
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        if ema is not None:
            ema.update_parameters(model)
        total += float(loss.detach()) * len(target)
    return total / max(len(order), 1)


def train(
    model: QuantileLSTM,
    train_data: Batches,
    val_data: Batches,
    quantiles: torch.Tensor,
    cfg: TrainConfig,
    *,
    seed: int,
    desc: str = "lstm",
) -> TrainReport:
    """Train ``model`` in place with AdamW, ReduceLROnPlateau and early stopping.

    The weights of the best validation epoch are restored; then ``cfg.refit_epochs`` more
    epochs run on training and validation windows together.

    Args:
        model: Network to train.
        train_data: Training windows.
        val_data: Validation windows (after the training ones in time).
        quantiles: ``(n_quantiles,)`` levels.
        cfg: Training config.
        seed: Seed of the batch order.
        desc: Progress bar label.

    Returns:
        A :class:`TrainReport`.
    """
    t0 = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=cfg.plateau_factor, patience=cfg.plateau_patience, min_lr=cfg.min_lr
    )
    report = TrainReport()
    ema = AveragedModel(model, avg_fn=_ema_fn(cfg.ema_decay)) if cfg.ema_decay > 0 else None
    judged: nn.Module = model if ema is None else ema.module
    best_state = {k: v.detach().clone() for k, v in judged.state_dict().items()}
    log.info(
        "%s: training on %d windows, validating on %d; learning rate %.2g",
        desc,
        len(train_data),
        len(val_data),
        cfg.lr,
    )
    bar = tqdm(range(1, cfg.epochs + 1), desc=desc, disable=not cfg.progress, leave=False)
    for epoch in bar:
        train_loss = _epoch(model, opt, train_data, quantiles, cfg, gen, ema)
        val_loss = evaluate(judged, val_data, quantiles)
        report.epochs = epoch
        if val_loss < report.best_val_loss:
            report.best_val_loss, report.best_epoch = val_loss, epoch
            best_state = {k: v.detach().clone() for k, v in judged.state_dict().items()}
        old_lr = opt.param_groups[0]["lr"]
        sched.step(val_loss)
        new_lr = opt.param_groups[0]["lr"]
        bar.set_postfix(train=f"{train_loss:.4f}", val=f"{val_loss:.4f}", lr=f"{new_lr:.1e}")
        if new_lr != old_lr:
            report.lr_changes.append((epoch, old_lr, new_lr))
            log.info(
                "%s: epoch %d: validation loss plateaued at %.4f; learning rate %.2g -> %.2g",
                desc,
                epoch,
                report.best_val_loss,
                old_lr,
                new_lr,
            )
        if epoch - report.best_epoch >= cfg.early_stop_patience:
            log.info(
                "%s: early stop at epoch %d (best %d, val loss %.4f)",
                desc,
                epoch,
                report.best_epoch,
                report.best_val_loss,
            )
            break
    model.load_state_dict(best_state)
    if cfg.refit_epochs:
        everything = Batches(
            train_data.series,
            np.concatenate([train_data.apps, val_data.apps]),
            np.concatenate([train_data.origins, val_data.origins]),
            train_data.spec,
            train_data.weight,
        )
        lr = opt.param_groups[0]["lr"]
        log.info(
            "%s: refitting %d epochs on all %d windows at learning rate %.2g",
            desc,
            cfg.refit_epochs,
            len(everything),
            lr,
        )
        for _ in range(cfg.refit_epochs):
            _epoch(model, opt, everything, quantiles, cfg, gen)
            report.epochs += 1
    report.final_lr = float(opt.param_groups[0]["lr"])
    report.seconds = time.perf_counter() - t0
    model.eval()
    return report


def calibrate(
    model: QuantileLSTM, data: Batches, quantiles: torch.Tensor, batch_size: int = 4096
) -> torch.Tensor:
    """Shift each quantile (except the median) so its coverage on ``data`` is its level.

    Conformal-style: for level ``q`` and resource ``r`` the shift is the ``q``-quantile of
    ``target - forecast_q`` over all windows and steps, in normalised units. The shifts are
    stored in ``model.q_shift`` (part of its state) and returned.
    """
    model.eval()
    model.q_shift.zero_()
    preds, targets = [], []
    with torch.inference_mode():
        for start in range(0, len(data), batch_size):
            sel = np.arange(start, min(start + batch_size, len(data)))
            ctx, extra, target, _ = data.take(sel)
            preds.append(model(ctx, extra))
            targets.append(target)
    pred, target = torch.cat(preds), torch.cat(targets)
    shift = torch.zeros_like(model.q_shift)
    for k, q in enumerate(quantiles.tolist()):
        if q == 0.5:
            continue
        resid = (target - pred[..., k]).reshape(-1, pred.shape[2])
        if resid.shape[0] > 2_000_000:  # torch.quantile's input limit is 16M elements
            resid = resid[torch.linspace(0, resid.shape[0] - 1, 2_000_000).long()]
        shift[:, k] = torch.quantile(resid, q, dim=0)
    model.q_shift.copy_(shift)
    return shift


def fine_tune(
    model: QuantileLSTM,
    data: Batches,
    quantiles: torch.Tensor,
    cfg: TrainConfig,
    *,
    lr: float,
    epochs: int,
    seed: int,
) -> float:
    """Online fine-tuning at a fixed learning rate ``lr``; returns the final training loss."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=cfg.weight_decay)
    loss = math.nan
    for _ in range(epochs):
        loss = _epoch(model, opt, data, quantiles, cfg, gen)
    model.eval()
    return loss
