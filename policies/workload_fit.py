"""Settings fitted to a short workload: the test window and the history windows shrunk.

The defaults assume weeks of data (a one-week test window, a day of warm-up and of initial
allocation, days of forecaster training). Short traces (PlanetLab: one or two days;
Alibaba: eight) would not fit them: :func:`fit_env_to_workload` shrinks the env's and the
cluster's windows, :func:`fit_to_workload` the shadow service's too. Every change comes
with a note to print: nothing is changed silently. Long workloads are returned unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from shadowsim.shadow.service import ShadowConfig
from shadowsim.sim.config import ClusterConfig
from shadowsim_envs.env_config import EnvConfig


@dataclass(frozen=True)
class FittedSettings:
    """Settings shrunk to fit a short workload, and what was changed.

    Attributes:
        env: Env settings (test window, warm-up).
        cluster: Cluster settings (initial-allocation window).
        shadow: Shadow-service settings (training and validation windows, forecaster).
        notes: One line per change, to print: nothing is changed silently.
    """

    env: EnvConfig
    cluster: ClusterConfig
    shadow: ShadowConfig
    notes: tuple[str, ...] = ()


def fit_env_to_workload(
    n_ticks: int,
    interval_s: float,
    env: EnvConfig,
    cluster: ClusterConfig,
    *,
    max_test_share: float = 0.5,
) -> tuple[EnvConfig, ClusterConfig, list[str]]:
    """Shrink the test window, the warm-up, the initial-allocation window and the training
    episodes to a workload.

    The test window takes at most ``max_test_share`` of the workload and still leaves a day
    of history before it (with a day or less: the share); the warm-up and the initial
    allocation's window take at most a third of the history before the test window; a
    training episode at most half of what is left after that history (a forecaster that
    needs more history than the warm-up still has the env's error to say so).

    Args:
        n_ticks: Length of the workload, ticks.
        interval_s: Tick length, s.
        env: Env settings to fit.
        cluster: Cluster settings to fit.
        max_test_share: Largest share of the workload the test window may take.

    Returns:
        The fitted env and cluster settings and a note per change.
    """
    notes: list[str] = []
    day = max(1, round(86_400.0 / interval_s))
    seed_ticks = env.engine.accuracy_seed_ticks
    want_test = round(env.test_window_s / interval_s)
    test = max(1, min(want_test, int(n_ticks * max_test_share)))
    if n_ticks - day - seed_ticks >= 1:  # leave a day of history when there is more than one
        test = min(test, n_ticks - day - seed_ticks)
    if test < want_test:
        notes.append(f"test window {want_test} -> {test} ticks (the workload has {n_ticks} ticks)")
        env = replace(env, test_window_s=test * interval_s)
    pre = n_ticks - test
    window = env.engine.observation.window
    if env.warmup_ticks > pre // 3:
        warmup = max(window, pre // 3)
        notes.append(f"env.warmup_ticks {env.warmup_ticks} -> {warmup}")
        env = replace(env, warmup_ticks=warmup)
    initial_ticks = round(cluster.initial.window_s / interval_s)
    if initial_ticks > pre // 3:
        lead = max(1, pre // 3)
        notes.append(
            f"cluster.initial.window_s {cluster.initial.window_s:g} -> {lead * interval_s:g} s"
        )
        cluster = replace(cluster, initial=replace(cluster.initial, window_s=lead * interval_s))
    lead_in = env.lead_in_ticks
    if lead_in is None:
        lead_in = round(cluster.initial.window_s / interval_s)
    room = pre - max(env.warmup_ticks, lead_in, seed_ticks + 1)
    if env.episode_ticks > room >= 2:  # training episodes: half the room, for random starts
        notes.append(f"env.episode_ticks {env.episode_ticks} -> {room // 2}")
        env = replace(env, episode_ticks=room // 2)
    return env, cluster, notes


def fit_to_workload(
    n_ticks: int,
    interval_s: float,
    env: EnvConfig,
    cluster: ClusterConfig,
    shadow: ShadowConfig,
    *,
    max_test_share: float = 0.5,
) -> FittedSettings:
    """:func:`fit_env_to_workload`, then the shadow service's windows scaled to the history
    before the test window, and its forecaster replaced by ``last_value`` when its fit needs
    more history than that leaves (:attr:`Forecaster.min_fit_history
    <shadowsim.shadow.forecaster.Forecaster.min_fit_history>`).

    Returns:
        The fitted settings with a note per change.
    """
    env, cluster, notes = fit_env_to_workload(
        n_ticks, interval_s, env, cluster, max_test_share=max_test_share
    )
    pre = n_ticks - round(env.test_window_s / interval_s)
    seed_ticks = env.engine.accuracy_seed_ticks
    ticks = shadow.ticks(interval_s)
    if ticks["train"] + ticks["validation"] > pre:
        validation = max(ticks["horizon"], pre // 4)
        train = max(1, pre - validation - seed_ticks)
        notes.append(
            f"shadow windows train {ticks['train']} -> {train}, "
            f"validation {ticks['validation']} -> {validation} ticks"
        )
        shadow = replace(
            shadow,
            train_window=f"{train * interval_s:g}s",
            validation_window=f"{validation * interval_s:g}s",
            accuracy_window=f"{min(ticks['accuracy'], validation) * interval_s:g}s",
        )
        needed = shadow.make_forecaster(interval_s).min_fit_history
        if needed > train:
            notes.append(
                f"shadow.forecaster {shadow.forecaster} needs {needed} ticks of training "
                f"history, {train} fit: using last_value"
            )
            shadow = replace(shadow, forecaster="last_value", forecaster_params={})
    return FittedSettings(env, cluster, shadow, tuple(notes))
