"""Evaluation metrics shared by every policy comparison (see :mod:`.episode_metrics`)."""

from shadowsim.metrics.accumulator import MetricsAccumulator, compute_metrics
from shadowsim.metrics.episode_metrics import EpisodeMetrics

__all__ = ["EpisodeMetrics", "MetricsAccumulator", "compute_metrics"]
