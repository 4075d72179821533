"""The LSTM shadow forecaster: one global quantile LSTM over all applications.

One network serves every application; per-application normalisation (see
:mod:`~shadowsim.shadow.forecasters.lstm.features`) makes their scales comparable, and the
scales are part of the state. ``python -m experiments.bench_forecast compare_sharing=true``
measures this design against one model per application (on the Bitbrains traces the global
model had 9% lower CPU and 13% lower memory MAE at 1 h on a validation week).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from shadowsim.errors import ConfigError, ForecastError
from shadowsim.shadow.forecaster import FORECASTERS, Forecaster, check_horizon, check_origins
from shadowsim.shadow.forecasters.lstm.features import (
    Series,
    WindowSpec,
    build_windows,
    denormalise,
    fit_scales,
    pairs,
)
from shadowsim.shadow.forecasters.lstm.hold_band import calibrate_hold
from shadowsim.shadow.forecasters.lstm.model import QuantileLSTM
from shadowsim.shadow.forecasters.lstm.training import (
    Batches,
    TrainConfig,
    TrainReport,
    calibrate,
    evaluate,
    fine_tune,
    train,
)
from shadowsim.shadow.horizon import horizon_steps

log = logging.getLogger(__name__)

_MIN_ROWS = 8
"""Inference batches are padded to this many rows so that results never depend on batch size
(BLAS takes a different path for a single row)."""
_CHUNK_ROWS = 16384


@FORECASTERS.register("lstm")
class LSTMForecaster(Forecaster):
    """Global multivariate, multi-horizon quantile LSTM.

    Args:
        quantiles: Quantile levels predicted (pinball loss on each).
        interval_s: Tick length, s.
        horizon: Longest horizon it forecasts (duration or s); shorter requests are prefixes.
        context: History the LSTM reads before each forecast (duration or s).
        patch: Ticks per LSTM step (``context`` must be a multiple of ``patch`` ticks).
        season: Season of the seasonal inputs (duration or s), e.g. ``"1d"``.
        level_spans: Spans (durations or s) of exponentially weighted means over the last
            season, fed to the head as smoothed levels; empty for none.
        hidden: LSTM hidden size.
        layers: Stacked LSTM layers.
        head_hidden: Width of the head's hidden layer.
        dropout: Dropout rate.
        size_weight: Exponent ``a`` of the loss weight ``(scale / mean scale) ** a`` of each
            application and resource: 0 weighs every application alike in normalised units;
            1 approximates an error in the resource's own units (big applications count more).
        calibrate: Shift the quantiles other than the median so that their coverage on the
            validation window matches their level (conformal calibration).
        calibrate_hold: Choose the hold band per resource on the validation window (the
            median forecast is the last value where it differs from it by less than the
            band; see :mod:`~shadowsim.shadow.forecasters.lstm.hold_band`); False: no band.
        seed: Seed of weights and batch order.
        train: Training config (a :class:`TrainConfig` or a dict of its fields).
        update_window: Most recent history used by :meth:`update` (duration or s).
        update_epochs: Fine-tuning epochs per :meth:`update`.
        update_lr: Learning rate of a routine :meth:`update`.
        drift_lr: Higher learning rate of an :meth:`update` after drift (fast adaptation).
        drift_threshold: :meth:`update` detects drift when the loss on the new data exceeds
            this multiple of the validation loss at fit time.
    """

    name = "lstm"

    def __init__(
        self,
        quantiles: Sequence[float] = (0.5, 0.9),
        interval_s: float = 300.0,
        horizon: str | float = "1h",
        context: str | float = "3h",
        patch: int = 6,
        season: str | float = "1d",
        level_spans: Sequence[str | float] = (),
        hidden: int = 64,
        layers: int = 1,
        head_hidden: int = 128,
        dropout: float = 0.0,
        size_weight: float = 0.5,
        calibrate: bool = True,
        calibrate_hold: bool = True,
        seed: int = 0,
        train: TrainConfig | dict[str, Any] | None = None,
        update_window: str | float = "2d",
        update_epochs: int = 2,
        update_lr: float = 2e-4,
        drift_lr: float = 2e-3,
        drift_threshold: float = 1.5,
    ) -> None:
        super().__init__(quantiles, interval_s)
        self.train_cfg = train if isinstance(train, TrainConfig) else TrainConfig(**(train or {}))
        self.train_cfg.check()
        self.hparams: dict[str, Any] = {
            "horizon": horizon, "context": context, "patch": patch, "season": season,
            "level_spans": list(level_spans),
            "hidden": hidden, "layers": layers, "head_hidden": head_hidden, "dropout": dropout,
            "size_weight": size_weight, "calibrate": calibrate,
            "calibrate_hold": calibrate_hold, "seed": seed,
            "update_window": update_window, "update_epochs": update_epochs,
            "update_lr": update_lr, "drift_lr": drift_lr, "drift_threshold": drift_threshold,
        }  # fmt: skip
        for key in ("patch", "hidden", "layers", "head_hidden"):
            if not (isinstance(self.hparams[key], int) and self.hparams[key] >= 1):
                raise ConfigError(
                    f"forecaster.{key}", f"must be an int >= 1, got {self.hparams[key]!r}"
                )
        ctx = horizon_steps(context, self.interval_s, key="forecaster.context")
        if ctx % patch:
            raise ConfigError(
                "forecaster.context",
                f"{context!r} = {ctx} ticks is not a multiple of patch={patch} ticks",
            )
        self.spec = WindowSpec(
            n_steps=ctx // patch,
            patch=patch,
            season=horizon_steps(season, self.interval_s, key="forecaster.season"),
            horizon=horizon_steps(horizon, self.interval_s, key="forecaster.horizon"),
            level_spans=tuple(
                horizon_steps(v, self.interval_s, key="forecaster.level_spans") for v in level_spans
            ),
        )
        self.update_ticks = horizon_steps(
            update_window, self.interval_s, key="forecaster.update_window"
        )
        self.model = self._new_model()
        self.scale = np.ones((0, 4))
        self.report = TrainReport()

    def _new_model(self) -> QuantileLSTM:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.hparams["seed"]))
            return QuantileLSTM(
                self.spec.step_features,
                self.spec.extra_features,
                int(self.hparams["hidden"]),
                int(self.hparams["layers"]),
                int(self.hparams["head_hidden"]),
                self.spec.horizon,
                len(self.quantiles),
                float(self.hparams["dropout"]),
                median=self.quantiles.index(0.5) if 0.5 in self.quantiles else -1,
            ).eval()

    @property
    def min_history(self) -> int:
        """Fewest ticks of history :meth:`predict` needs."""
        return self.spec.min_history

    @property
    def min_fit_history(self) -> int:
        """Fewest ticks of history :meth:`fit` needs: context, one horizon to train on and
        the validation tail (``val_fraction`` of the history, at least a horizon and a tick)."""
        horizon, first = self.spec.horizon, self.spec.min_history
        n_ticks = first + 2 * horizon + 1
        while n_ticks - self._val_len(n_ticks) - horizon < first:
            n_ticks += 1
        return n_ticks

    def _val_len(self, n_ticks: int) -> int:
        """Validation ticks at the end of a fit history of ``n_ticks``."""
        return max(int(n_ticks * self.train_cfg.val_fraction), self.spec.horizon + 1)

    def _series(self, history: NDArray[np.float64], start_s: float, tick0: int = 0) -> Series:
        return Series(history, self.scale, start_s, self.interval_s, tick0)

    def fit(self, history: NDArray[np.float64], *, start_s: float = 0.0) -> LSTMForecaster:
        """Train from scratch on ``history`` (the last ``val_fraction`` validates); returns self."""
        hist = self.check_history(history, min_ticks=1)
        n_ticks = hist.shape[1]
        val_len = self._val_len(n_ticks)
        first, last_train = self.spec.min_history, n_ticks - val_len - self.spec.horizon
        if last_train < first:
            raise ForecastError(
                f"lstm: history of {n_ticks} ticks is too short: needs {self.spec.min_history} "
                f"ticks of context, {self.spec.horizon} of horizon and {val_len} for validation; "
                f"give at least {self.min_fit_history} ticks or shorten "
                "forecaster.context / season / horizon"
            )
        self.scale = fit_scales(hist)
        self.n_apps = hist.shape[0]
        series = self._series(hist, start_s)
        tr = np.arange(first, last_train + 1)
        va = np.arange(n_ticks - val_len, n_ticks - self.spec.horizon + 1)
        weight = self._loss_weight()
        train_data = Batches(series, *pairs(self.n_apps, tr), self.spec, weight)
        val_data = Batches(series, *pairs(self.n_apps, va), self.spec, weight)
        if len(val_data) > self.train_cfg.max_val_samples:
            keep = np.linspace(0, len(val_data) - 1, self.train_cfg.max_val_samples).astype(
                np.int64
            )
            val_data = val_data.subset(keep)
        self.model = self._new_model()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.hparams["seed"]))
            self.report = train(
                self.model, train_data, val_data, self._q(), self.train_cfg,
                seed=int(self.hparams["seed"]), desc=f"lstm ({self.n_apps} apps)",
            )  # fmt: skip
        if self.hparams["calibrate"]:
            shift = calibrate(self.model, val_data, self._q())
            log.info(
                "lstm: calibrated quantile shifts on validation (normalised units): %s",
                shift.numpy().round(3).tolist(),
            )
        if self.hparams["calibrate_hold"]:
            hold = calibrate_hold(self.model, val_data, self.scale)
            log.info(
                "lstm: hold band on validation (normalised units) %s: median MAE %s -> %s",
                hold.band.round(3).tolist(),
                np.round(hold.mae_before, 4).tolist(),
                np.round(hold.mae_after, 4).tolist(),
            )
        return self

    def _loss_weight(self) -> torch.Tensor | None:
        alpha = float(self.hparams["size_weight"])
        if alpha == 0.0:
            return None
        rel = self.scale / self.scale.mean(axis=0, keepdims=True)
        return torch.from_numpy((rel**alpha).astype(np.float32))

    def _q(self) -> torch.Tensor:
        return torch.tensor(self.quantiles, dtype=torch.float32)

    def update(
        self, history: NDArray[np.float64], *, start_s: float = 0.0, drift: bool | None = None
    ) -> LSTMForecaster:
        """Fine-tune online on the most recent ``update_window`` of ``history``.

        The learning rate is ``update_lr``, or the higher ``drift_lr`` after drift, so the
        model adapts fast to changed behaviour. The choice is logged.

        Args:
            history: ``(n_apps, n_ticks, 4)`` recent demand of the fitted applications.
            start_s: Unix time of ``history[:, 0]``, s.
            drift: True/False when the caller knows; None detects drift by comparing the loss
                on the new data with the validation loss at fit time.

        Returns:
            self.
        """
        hist = self.check_history(
            history, min_ticks=self.min_history + self.spec.horizon, fitted=True
        )
        n_ticks = hist.shape[1]
        first = max(self.min_history, n_ticks - self.update_ticks)
        data = Batches(
            self._series(hist, start_s),
            *pairs(self.n_apps, np.arange(first, n_ticks - self.spec.horizon + 1)),
            self.spec, self._loss_weight(),
        )  # fmt: skip
        q = self._q()
        recent = evaluate(self.model, data, q)
        ref = self.report.best_val_loss
        if drift is None:
            drift = bool(recent > float(self.hparams["drift_threshold"]) * ref)
            why = f"recent loss {recent:.4f} vs validation loss {ref:.4f}"
        else:
            why = f"caller says drift={drift}; recent loss {recent:.4f}"
        lr = float(self.hparams["drift_lr"] if drift else self.hparams["update_lr"])
        log.info(
            "lstm update: %s -> %s, learning rate %.2g on %d windows",
            why,
            "drift, fast adaptation" if drift else "no drift",
            lr,
            len(data),
        )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(self.hparams["seed"]) + 1)
            fine_tune(
                self.model,
                data,
                q,
                self.train_cfg,
                lr=lr,
                epochs=int(self.hparams["update_epochs"]),
                seed=int(self.hparams["seed"]) + 1,
            )
        return self

    def predict(
        self, history: NDArray[np.float64], horizon: int, *, start_s: float = 0.0
    ) -> NDArray[np.float64]:
        """``(n_apps, horizon, 4, n_quantiles)`` forecast after the end of ``history``."""
        hist = self.check_history(history, min_ticks=self.min_history, fitted=True)
        n_ticks = hist.shape[1]
        keep = self.min_history
        return self._forecast(hist[:, n_ticks - keep :], np.array([keep]), horizon, start_s,
                              tick0=n_ticks - keep)[:, 0]  # fmt: skip

    def predict_origins(
        self,
        demand: NDArray[np.float64],
        origins: NDArray[np.int64],
        horizon: int,
        *,
        start_s: float = 0.0,
    ) -> NDArray[np.float64]:
        """Batched forecasts at many origins; identical to :meth:`predict` at each."""
        demand = self.check_history(demand, min_ticks=self.min_history, fitted=True)
        origins = check_origins(origins, demand.shape[1])
        return self._forecast(demand, origins, horizon, start_s, tick0=0)

    def _forecast(
        self,
        demand: NDArray[np.float64],
        origins: NDArray[np.int64],
        horizon: int,
        start_s: float,
        *,
        tick0: int,
    ) -> NDArray[np.float64]:
        horizon = check_horizon(horizon)
        if horizon > self.spec.horizon:
            raise ForecastError(
                f"lstm: trained for a horizon of {self.spec.horizon} ticks, asked for {horizon}; "
                "retrain with a longer forecaster.horizon"
            )
        self.spec.check(demand.shape[1], origins)
        series = self._series(demand, start_s, tick0)
        apps, orgs = pairs(self.n_apps, origins)
        out = np.empty((len(apps), self.spec.horizon, 4, len(self.quantiles)), dtype=np.float32)
        # whole origins per chunk: every window is then built in the same array shape
        # (all applications at one origin) as in predict(), so the numbers agree exactly
        chunk = max(1, _CHUNK_ROWS // self.n_apps) * self.n_apps
        with torch.inference_mode():
            for start in range(0, len(apps), chunk):
                sel = slice(start, start + chunk)
                ctx, extra = build_windows(series, apps[sel], orgs[sel], self.spec)
                n = ctx.shape[0]
                if n < _MIN_ROWS:
                    ctx = torch.cat([ctx, ctx[-1:].expand(_MIN_ROWS - n, -1, -1)])
                    extra = torch.cat([extra, extra[-1:].expand(_MIN_ROWS - n, -1)])
                out[sel] = self.model(ctx, extra)[:n].numpy()
        zq = out.reshape(self.n_apps, len(origins), self.spec.horizon, 4, -1)[:, :, :horizon]
        return denormalise(zq, self.scale)

    def tiled(self, n_apps: int) -> LSTMForecaster:
        """The same network serving ``n_apps`` applications, per-app scales repeated.

        For load tests (e.g. batched inference for 1,000 applications); the copy shares no
        tensors with this forecaster.
        """
        meta, arrays = self.state()
        meta["n_apps"] = int(n_apps)
        arrays["scale"] = np.resize(self.scale, (int(n_apps), self.scale.shape[1]))
        return LSTMForecaster.from_state(meta, arrays)

    def state(self) -> tuple[dict[str, Any], dict[str, NDArray[Any]]]:
        """Hyper-parameters, train config and report as JSON; scales and weights as arrays."""
        meta = self.base_meta() | self.hparams
        meta["train"] = asdict(self.train_cfg)
        meta["report"] = asdict(self.report)
        arrays: dict[str, NDArray[Any]] = {"scale": self.scale.copy()}
        for key, value in self.model.state_dict().items():
            arrays[f"model.{key}"] = value.detach().cpu().numpy().copy()
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, NDArray[Any]]) -> LSTMForecaster:
        """Rebuild from :meth:`state` output (no pickle: plain arrays into a fresh network)."""
        skip = {"forecaster", "format_version", "n_apps", "interval_s", "quantiles", "report"}
        try:
            obj = cls(
                quantiles=meta["quantiles"],
                interval_s=meta["interval_s"],
                **{k: v for k, v in meta.items() if k not in skip},
            )
            obj.n_apps = int(meta["n_apps"])
            obj.scale = np.asarray(arrays["scale"], dtype=np.float64)
            report = dict(meta.get("report", {}))
            report["lr_changes"] = [tuple(c) for c in report.get("lr_changes", [])]
            obj.report = TrainReport(**report)
            weights = {
                k.removeprefix("model."): torch.from_numpy(np.asarray(v).copy())
                for k, v in arrays.items()
                if k.startswith("model.")
            }
            # states saved before the hold band existed forecast as they did: no band
            weights.setdefault("hold_band", torch.zeros_like(obj.model.hold_band))
            obj.model.load_state_dict(weights, strict=True)
        except (KeyError, TypeError, RuntimeError, ValueError) as err:
            raise ForecastError(f"lstm: incomplete or mismatched state: {err}") from err
        if obj.scale.shape != (obj.n_apps, 4):
            raise ForecastError(
                f"lstm: scale has shape {obj.scale.shape}, expected {(obj.n_apps, 4)}"
            )
        return obj
