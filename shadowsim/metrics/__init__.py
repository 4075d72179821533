"""Evaluation metrics shared by every policy comparison (see :mod:`.episode_metrics`)."""

from shadowsim.metrics.accumulator import MetricsAccumulator, compute_metrics
from shadowsim.metrics.episode_metrics import EpisodeMetrics
from shadowsim.metrics.served_allocation import ServedAllocation

__all__ = ["EpisodeMetrics", "MetricsAccumulator", "ServedAllocation", "compute_metrics"]
