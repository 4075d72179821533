"""Comparison plots of policies' :class:`~shadowsim.metrics.episode_metrics.EpisodeMetrics`.

matplotlib loads lazily and renders off-screen (Agg), so this works on headless machines.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from shadowsim.metrics.episode_metrics import EpisodeMetrics
from shadowsim.resources import RESOURCES


def plot_comparison(
    results: Mapping[str, EpisodeMetrics], path: str | Path, title: str = ""
) -> Path:
    """Write a PNG comparing policies: cost against SLA violations, and relative slack.

    Left: each policy's total cost (cu) against its SLA-violation rate over all and over
    HIGH-priority application-ticks (the bottom left is best). Right: relative slack per
    resource, (allocated - used) / allocated.

    Args:
        results: Metrics per policy name (for several seeds, pass their mean).
        path: Where to write the PNG.
        title: Figure title.

    Returns:
        The written path.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    names = list(results)
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), constrained_layout=True)
    for i, name in enumerate(names):
        m = results[name]
        color = f"C{i % 10}"
        left.scatter(100 * m.sla_violation_rate, m.cost, color=color, marker="o", s=60)
        left.scatter(100 * m.sla_violation_rate_high, m.cost, color=color, marker="^", s=60)
        left.annotate(
            name,
            (100 * m.sla_violation_rate, m.cost),
            fontsize=8,
            xytext=(4, 4),
            textcoords="offset points",
        )
    left.set_xscale("symlog", linthresh=0.1)
    left.set_xlabel("SLA-violation rate, % of application-ticks (o all, ^ HIGH priority)")
    left.set_ylabel("total cost, cu")
    left.set_title("cost against violations (bottom left is best)")
    left.grid(alpha=0.3)

    width = 0.8 / max(len(names), 1)
    x = np.arange(len(RESOURCES))
    for i, name in enumerate(names):
        slack = [100 * s for s in results[name].relative_slack]
        right.bar(x + i * width, slack, width, label=name, color=f"C{i % 10}")
    right.set_xticks(x + width * (len(names) - 1) / 2, [r.name.lower() for r in RESOURCES])
    right.set_ylabel("relative slack, %")
    right.set_title("(allocated - used) / allocated")
    right.legend(fontsize=8)
    right.grid(axis="y", alpha=0.3)
    if title:
        fig.suptitle(title)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
