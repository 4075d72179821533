"""Shared by the LSTM tests (not a conftest): a small, fast LSTM and one torch thread."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch

from shadowsim.shadow.forecasters.lstm import LSTMForecaster, TrainConfig


def small(**kw: Any) -> LSTMForecaster:
    """An LSTM small enough to train in seconds on a 4 h "day" (keyword overrides)."""
    train = {"epochs": 3, "samples_per_epoch": 3000, "progress": False} | kw.pop("train", {})
    args = {"horizon": "1h", "context": "1h", "patch": 3, "season": "4h", "hidden": 16,
            "head_hidden": 32, "train": TrainConfig(**train)} | kw  # fmt: skip
    return LSTMForecaster(**args)


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Autouse in the modules that import it: torch on one thread, restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
