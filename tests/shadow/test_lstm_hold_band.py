"""The LSTM's hold band: what it does to a forecast, how it is chosen, and how it is saved."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shadowsim.shadow.forecaster import forecaster_from_state
from shadowsim.shadow.forecasters.lstm import LSTMForecaster
from shadowsim.shadow.forecasters.lstm.features import pairs
from shadowsim.shadow.forecasters.lstm.hold_band import calibrate_hold
from shadowsim.shadow.forecasters.lstm.model import QuantileLSTM
from shadowsim.shadow.forecasters.lstm.training import Batches

from .lstm_helpers import one_torch_thread, small  # noqa: F401 (autouse fixture)

T0 = 1_375_308_000.0  # a Unix time, s
PERIOD = 48


def step_series(n_apps: int, n_ticks: int, seed: int) -> np.ndarray:
    """Levels held for random stretches (mean 60 ticks), then a jump: persistence is exact
    but at the jumps, which nothing can time."""
    rng = np.random.default_rng(seed)
    out = np.empty((n_apps, n_ticks, 4))
    for a in range(n_apps):
        for r in range(4):
            t = 0
            while t < n_ticks:
                length = int(rng.geometric(1 / 60))
                out[a, t : t + length, r] = rng.choice([0.5, 4.0, 8.0])
                t += length
    return out


def test_hold_replaces_only_medians_near_the_last_value() -> None:
    model = QuantileLSTM(4, 4, 8, 1, 8, horizon=3, n_quantiles=2, median=0).eval()
    last = torch.zeros(2, 1, 4, 1)
    out = torch.tensor([0.05, -0.3, 0.2, 0.01]).reshape(1, 1, 4, 1).expand(2, 3, 4, 1)
    out = torch.cat([out, out + 1.0], dim=-1)
    assert torch.equal(model.hold(out.clone(), last), out)  # no band yet: unchanged
    band = torch.tensor([0.1, 0.1, 0.1, 0.0])
    held = model.hold(out.clone(), last, band)
    # CPU (0.05) held; memory (-0.3) and disk (0.2) beyond the band; network's band is off
    expected = np.float32([0.0, -0.3, 0.2, 0.01])
    np.testing.assert_array_equal(held[:, :, :, 0].numpy(), np.broadcast_to(expected, (2, 3, 4)))
    assert torch.equal(held[..., 1], out[..., 1])  # the P90 is untouched
    model.hold_band.copy_(band)
    assert torch.equal(model.hold(out.clone(), last), held)
    no_median = QuantileLSTM(4, 4, 8, 1, 8, horizon=3, n_quantiles=2, median=-1).eval()
    assert torch.equal(no_median.hold(out.clone(), last, band), out)
    model.train()  # fine-tuning sees the network's own outputs
    assert torch.equal(model.hold(out.clone(), last), out)


def test_forward_keeps_quantiles_ordered_with_a_band() -> None:
    torch.manual_seed(0)
    model = QuantileLSTM(6, 5, 8, 1, 16, horizon=4, n_quantiles=3, median=1).eval()
    model.hold_band.fill_(0.5)
    with torch.inference_mode():
        out = model(torch.randn(64, 5, 6), torch.randn(64, 5))
    assert (torch.diff(out, dim=-1) >= 0).all()


def test_eval_forward_with_gradients_matches_inference() -> None:
    torch.manual_seed(1)
    model = QuantileLSTM(6, 5, 8, 1, 16, horizon=4, n_quantiles=2, median=0).eval()
    model.hold_band.fill_(0.3)
    ctx, extra = torch.randn(32, 5, 6), torch.randn(32, 5)
    with torch.inference_mode():
        expected = model(ctx, extra)
    out = model(ctx, extra.requires_grad_())  # e.g. input saliency: out of place
    out.sum().backward()
    assert extra.grad is not None
    assert torch.equal(out.detach(), expected)


def test_band_chosen_on_step_series_lowers_validation_error(caplog) -> None:
    d = step_series(8, 1400, seed=3)
    with caplog.at_level("INFO", logger="shadowsim.shadow.forecasters.lstm.forecaster"):
        f = small(train={"epochs": 2}).fit(d[:, :1100], start_s=T0)
    assert "hold band on validation" in caplog.text
    band = f.model.hold_band.numpy()
    assert (band > 0).any(), band
    # out of sample, the band does what it promised on validation: a lower median error
    origins = np.arange(1100, 1388)
    target = np.stack([d[:, o : o + 12] for o in origins], axis=1)
    with_band = np.abs(f.predict_origins(d, origins, 12, start_s=T0)[..., 0] - target).mean()
    f.model.hold_band.zero_()
    without = np.abs(f.predict_origins(d, origins, 12, start_s=T0)[..., 0] - target).mean()
    assert with_band < without, (with_band, without)


@pytest.mark.parametrize(
    ("offset", "expected"),
    [(0.04, 0.05), (2.0, 0.0)],  # the smallest band holding every median; none within reach
)
def test_calibration_picks_the_band_that_helps_or_none(offset: float, expected: float) -> None:
    d = np.full((3, 500, 4), 2.0)  # flat: the last value is exact
    f = small(train={"epochs": 1}, calibrate_hold=False).fit(d, start_s=T0)
    out = f.model.head[-1]
    with torch.no_grad():  # the median is the last value + ``offset``, the P90 above it
        out.weight.zero_()
        out.bias.view(f.spec.horizon, 4, 2)[..., 0] = offset
        out.bias.view(f.spec.horizon, 4, 2)[..., 1] = 0.0
    origins = np.arange(400, 488)
    val = Batches(f._series(d, T0), *pairs(3, origins), f.spec)
    result = calibrate_hold(f.model, val, f.scale)
    np.testing.assert_array_equal(result.band, np.full(4, expected))
    assert torch.equal(f.model.hold_band, torch.full((4,), expected))
    if expected:
        assert (result.mae_after == 0).all()
        assert (result.mae_before > 0).all()
    else:
        np.testing.assert_array_equal(result.mae_after, result.mae_before)


def test_calibrate_hold_off_and_state_round_trip() -> None:
    d = step_series(4, 900, seed=5)
    off = small(train={"epochs": 1}, calibrate_hold=False).fit(d[:, :700], start_s=T0)
    assert (off.model.hold_band.numpy() == 0).all()
    f = small(train={"epochs": 1}).fit(d[:, :700], start_s=T0)
    f.model.hold_band.copy_(torch.tensor([0.2, 0.1, 0.0, 0.05]))
    meta, arrays = f.state()
    assert "model.hold_band" in arrays
    g = forecaster_from_state(meta, {k: v.copy() for k, v in arrays.items()})
    np.testing.assert_array_equal(g.predict(d, 12, start_s=T0), f.predict(d, 12, start_s=T0))
    # online and batched forecasts agree with a band, as without
    origins = np.array([720, 800, 850])
    batched = f.predict_origins(d, origins, 12, start_s=T0)
    for i, o in enumerate(origins):
        np.testing.assert_array_equal(batched[:, i], f.predict(d[:, :o], 12, start_s=T0))
    # a state saved before the band existed loads with none
    del arrays["model.hold_band"]
    old = LSTMForecaster.from_state(meta, arrays)
    assert (old.model.hold_band.numpy() == 0).all()
    f.model.hold_band.zero_()
    np.testing.assert_array_equal(old.predict(d, 12, start_s=T0), f.predict(d, 12, start_s=T0))
