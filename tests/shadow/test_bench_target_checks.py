"""The benchmark's target checks (experiments.bench_forecast.target_checks)."""

from __future__ import annotations

from experiments.bench_forecast import target_checks

_RES = ("cpu", "memory", "disk", "network")


def _metrics(mae: float, cover: float) -> dict[str, dict[str, dict[str, float]]]:
    return {r: {"1h": {"mae": mae, "p90_coverage": cover}} for r in _RES}


def test_lstm_alone_gets_coverage_and_latency_checks_only() -> None:
    checks = target_checks({"lstm": _metrics(1.0, 0.9)}, "1h", 10.0)
    assert len(checks) == 5
    assert all(ok for _, ok in checks)
    assert not any("MAE" in text for text, _ in checks)


def test_mae_gain_is_checked_against_the_best_baseline() -> None:
    metrics = {
        "lstm": _metrics(0.85, 0.97),
        "last_value": _metrics(1.0, 0.9),
        "ets": _metrics(0.93, 0.9),
    }
    checks = dict(target_checks(metrics, "1h", 25.0))
    mae = {text: ok for text, ok in checks.items() if "MAE" in text}
    assert len(mae) == 2
    assert all("best baseline ets" in text for text in mae)
    assert not any(mae.values())  # 8.6% below ets: short of 10%
    assert not any(ok for text, ok in checks.items() if "coverage" in text)
    assert not checks["batched inference: 25.0 ms (target < 20 ms)"]
