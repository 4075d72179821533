"""Applications ranked by their share of a forecaster's error (shadow.error_concentration)."""

from __future__ import annotations

import numpy as np
import pytest
from rich.console import Console

from experiments.bench_forecast import concentration_table
from shadowsim.errors import ForecastError
from shadowsim.resources import Resource
from shadowsim.shadow.error_concentration import top_error_apps
from shadowsim.shadow.evaluation import BenchmarkResult, ForecastScores


def _scores(p50: np.ndarray, actual: np.ndarray) -> ForecastScores:
    """Scores of P50 forecasts ``(A, origins, h, 4)`` (P90 = P50 + 1) against ``actual``."""
    scores = ForecastScores.empty(p50.shape[0], p50.shape[2], (0.5, 0.9))
    return scores.add(np.stack([p50, p50 + 1.0], axis=-1), actual)


def _pair() -> tuple[dict[str, ForecastScores], np.ndarray]:
    rng = np.random.default_rng(0)
    actual = rng.uniform(0, 1, size=(6, 10, 3, 4))
    off = np.array([0.1, 3.0, 0.2, 1.0, 0.0, 0.5])[:, None, None, None]  # app 1 worst, 4 exact
    good = actual + off
    other = actual + 0.25
    return {"lstm": _scores(good, actual), "ets": _scores(other, actual)}, off[:, 0, 0, 0]


def test_apps_are_ranked_by_their_share_of_the_error() -> None:
    scores, off = _pair()
    top = top_error_apps(scores, Resource.MEMORY, ranked_by="lstm", steps=3, top=3)
    assert top.apps.tolist() == [1, 3, 5]
    np.testing.assert_allclose(top.share, off[[1, 3, 5]] / off.sum())
    assert top.total_share == pytest.approx(4.5 / 4.8)
    np.testing.assert_allclose(top.mae["lstm"], [3.0, 1.0, 0.5])
    np.testing.assert_allclose(top.mae["ets"], [0.25, 0.25, 0.25])
    assert top.n_apps == 6


def test_steps_limit_what_is_counted() -> None:
    scores, _ = _pair()
    scores["lstm"].abs_err[0, 2, 0] += 1000.0  # a huge error at step 3 only
    assert top_error_apps(scores, Resource.CPU, ranked_by="lstm", steps=3, top=1).apps[0] == 0
    assert top_error_apps(scores, Resource.CPU, ranked_by="lstm", steps=2, top=1).apps[0] == 1


def test_unscored_apps_are_not_listed_and_zero_error_gives_zero_shares() -> None:
    actual = np.ones((3, 4, 2, 4))
    scores = _scores(actual.copy(), actual)  # perfect forecasts
    scores.count[2] = 0.0  # application 2 never active
    top = top_error_apps({"lstm": scores}, Resource.CPU, ranked_by="lstm", steps=2, top=5)
    assert top.apps.tolist() == [0, 1]
    assert top.share.tolist() == [0.0, 0.0]
    assert top.n_apps == 2


def test_bad_arguments_are_named() -> None:
    scores, _ = _pair()
    with pytest.raises(ForecastError, match="no scores for 'lsmt'; scored: lstm, ets"):
        top_error_apps(scores, Resource.CPU, ranked_by="lsmt", steps=3)
    with pytest.raises(ForecastError, match="top and steps must be >= 1, got 0 and 3"):
        top_error_apps(scores, Resource.CPU, ranked_by="lstm", steps=3, top=0)
    scores["ets"] = _scores(np.zeros((2, 1, 3, 4)), np.zeros((2, 1, 3, 4)))
    with pytest.raises(ForecastError, match="different applications"):
        top_error_apps(scores, Resource.CPU, ranked_by="lstm", steps=3)


def test_benchmark_table_lists_the_top_apps_per_resource() -> None:
    scores, _ = _pair()
    result = BenchmarkResult(scores={name: {"1h": s} for name, s in scores.items()})
    ids = [f"vm{i}" for i in range(6)]
    console = Console(width=200, record=True)
    console.print(concentration_table(result, "1h", 3, ids, top=2))
    text = " ".join(console.export_text().split())  # the title wraps at the table's width
    assert "where lstm's error is at 1h: the 2 applications with the largest share" in text
    assert text.count("vm1") == 4  # the worst application on every resource
    assert "top 2 of 6" in text
    assert "cpu [vCPU]" in text
