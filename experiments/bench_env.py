"""Environment throughput: env steps/s at 100 applications, with and without precomputed forecasts,
and stable-baselines3 PPO training throughput.

Run ``python -m experiments.bench_env`` (one CPU thread). Prints a table and, as the last line,
one JSON object::

    {"n_apps": 100, "fast": {...}, "fast_hold": {...}, "online": {...}, "ppo": {...}, ...}

Each env mode reports ``steps_per_s`` (resets excluded; random valid actions, or the hold action
for ``fast_hold``), ``steps_per_s_with_resets`` and ``reset_s`` (a new episode; fast mode reuses
forecasts of earlier episodes where they overlap) and ``reset_cold_s`` (a reset with no
forecasts kept, i.e. the first episode), the process CPU time per step (``cpu_us``, which a
shared machine inflates less than wall time), the median step time (``median_step_us``, and
``steps_per_s_at_median_step``: the rate at that speed; the headline ``steps_per_s`` is the
mean, which slow steps and other processes raise), and the split of a step's time between the
simulator backend (``backend_us`` = ``apply_us`` + ``advance_us``) and the rest of the engine
(``engine_us``: decoding, guardrails, pool sizing, shifting, forecasts, observation, reward,
info). The split comes from a second pass over the same episodes with the simulator wrapped in
timers (``timed_step_us``: that pass's step time, timers included); the headline figures come
from the first, unwrapped pass. ``fast_numpy_engine`` repeats ``fast`` with the engine's numpy
reference instead of its compiled kernels (``EngineConfig.kernel``), i.e. the engine as it was
before them. Arguments (all optional): ``--n-apps``, ``--steps``, ``--ppo-steps``, ``--seed``,
``--repeat`` (runs per env mode, default 3; the fastest is reported).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from shadowsim.actions import Action, ActionResult
from shadowsim.backend import ClusterBackend
from shadowsim.cluster_state import ClusterSpec, ClusterState
from shadowsim.sim.jit import Kernel
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim.workloads.workload import Workload
from shadowsim_envs.cluster_env import ClusterEnv

TARGET_STEPS_PER_S = 5000.0


class TimedBackend:
    """A :class:`ClusterBackend` that adds up the wall time spent in another backend."""

    def __init__(self, inner: ClusterBackend) -> None:
        self.inner = inner
        self.apply_s = 0.0
        self.advance_s = 0.0

    @property
    def seconds(self) -> float:
        """Wall time in ``apply`` and ``advance``, s."""
        return self.apply_s + self.advance_s

    @property
    def spec(self) -> ClusterSpec:
        """The wrapped backend's spec."""
        return self.inner.spec

    @property
    def now_s(self) -> float:
        """The wrapped backend's time, s."""
        return self.inner.now_s

    @property
    def done(self) -> bool:
        """The wrapped backend's end flag."""
        return self.inner.done

    def observe(self) -> ClusterState:
        """The wrapped backend's latest snapshot."""
        return self.inner.observe()

    def apply(self, actions: Sequence[Action]) -> list[ActionResult]:
        """Apply through the wrapped backend, timed."""
        t0 = time.perf_counter()
        results = self.inner.apply(actions)
        self.apply_s += time.perf_counter() - t0
        return results

    def advance(self) -> ClusterState:
        """Advance the wrapped backend, timed."""
        t0 = time.perf_counter()
        state = self.inner.advance()
        self.advance_s += time.perf_counter() - t0
        return state


def _workload(n_apps: int, seed: int) -> Workload:
    return SyntheticGenerator(SyntheticConfig(n_apps=n_apps, n_ticks=8064, seed=seed)).load()


def bench_env_mode(
    workload: Workload,
    *,
    fast: bool,
    steps: int,
    seed: int,
    hold: bool = False,
    kernel: Kernel = Kernel.AUTO,
) -> dict[str, float]:
    """Steps/s in one env mode, with the backend/engine split.

    Args:
        workload: The workload replayed.
        fast: Precomputed forecasts (else online, tick by tick).
        steps: Env steps timed (episodes of up to one week, resets timed apart).
        seed: Seed of the env and of the sampled actions.
        hold: Send the hold action (else random valid actions, which keep the guardrails
            and the simulator's scaling busy every tick).
        kernel: The engine's per-step kernels (``EngineConfig.kernel``).
    """
    episode = min(steps, 2016)
    env = ClusterEnv(
        workload=workload,
        fast=fast,
        episode_ticks=episode,
        seed=seed,
        engine={"kernel": kernel},
    )
    env.action_space.seed(seed)
    if hold:
        actions = [env.codec.hold_action]
    else:
        actions = [env.action_space.sample() for _ in range(min(steps, 512))]
    env.reset(seed=seed + 10_000)  # compiled kernels load (or compile) on first use
    env.step(actions[0])
    bare = _run_steps(env, actions, steps, seed, timed=False)
    split = _run_steps(env, actions, steps, seed, timed=True)
    done = bare.steps
    timed_step_s = split.step_s / split.steps
    return {
        "steps": done,
        "steps_per_s": done / bare.step_s,
        "steps_per_s_with_resets": done / (bare.step_s + bare.reset_s),
        "step_us": 1e6 * bare.step_s / done,
        "median_step_us": 1e6 * bare.median_step_s,
        "steps_per_s_at_median_step": 1.0 / bare.median_step_s,
        "cpu_us": 1e6 * bare.cpu_s / done,
        "timed_step_us": 1e6 * timed_step_s,
        "backend_us": 1e6 * (split.apply_s + split.advance_s) / split.steps,
        "apply_us": 1e6 * split.apply_s / split.steps,
        "advance_us": 1e6 * split.advance_s / split.steps,
        "engine_us": 1e6 * (split.step_s - split.apply_s - split.advance_s) / split.steps,
        "reset_s": bare.reset_s / bare.resets,
        "reset_cold_s": _cold_reset_s(env, seed),
    }


@dataclass(frozen=True)
class StepRun:
    """Timings of ``steps`` env steps (episodes restarted as needed).

    Attributes:
        steps: Env steps taken.
        step_s: Wall time of the steps, s (resets excluded).
        cpu_s: Process CPU time of the steps, s.
        reset_s: Wall time of the resets, s.
        resets: Resets made.
        apply_s: Wall time in ``Simulator.apply`` (0 unless timed), s.
        advance_s: Wall time in ``Simulator.advance`` (0 unless timed), s.
        median_step_s: Median wall time of one step, s (less moved by other processes than
            the mean ``step_s / steps``).
    """

    steps: int
    step_s: float
    cpu_s: float
    reset_s: float
    resets: int
    apply_s: float = 0.0
    advance_s: float = 0.0
    median_step_s: float = 0.0


def _run_steps(
    env: ClusterEnv, actions: list[Any], steps: int, seed: int, *, timed: bool
) -> StepRun:
    """Step ``env`` ``steps`` times through episodes seeded ``seed``, ``seed + 1``, ...;
    ``timed``: with the simulator wrapped in a :class:`TimedBackend` (for the split; the
    wrapper's own cost is why the headline figures come from an unwrapped run)."""
    step_s = cpu_s = reset_s = apply_s = advance_s = 0.0
    done = resets = 0
    durations: list[float] = []
    while done < steps:
        t0 = time.perf_counter()
        env.reset(seed=seed + resets)
        reset_s += time.perf_counter() - t0
        resets += 1
        wrapper = TimedBackend(env.engine.backend) if timed else None
        if wrapper is not None:
            env.engine.backend = wrapper
        truncated = False
        marks: list[float] = []  # each step's start, then the episode's end
        clock = time.perf_counter
        c0 = time.process_time()
        t0 = clock()
        while not truncated and done < steps:
            marks.append(clock())
            _, _, _, truncated, _ = env.step(actions[done % len(actions)])
            done += 1
        end = clock()
        step_s += end - t0
        marks.append(end)
        durations.extend(np.diff(marks).tolist())
        cpu_s += time.process_time() - c0
        if wrapper is not None:
            apply_s += wrapper.apply_s
            advance_s += wrapper.advance_s
    return StepRun(
        done, step_s, cpu_s, reset_s, resets, apply_s, advance_s, float(np.median(durations))
    )


def _cold_reset_s(env: ClusterEnv, seed: int) -> float:
    """One reset with no forecasts kept from earlier episodes (the first episode's cost), s."""
    clear = getattr(env.provider, "clear", None)
    if clear is not None:
        clear()
    t0 = time.perf_counter()
    env.reset(seed=seed + 20_000)
    return time.perf_counter() - t0


def best_of(runs: int, bench: Callable[[], dict[str, float]]) -> dict[str, float]:
    """The run with the most steps/s out of ``runs`` (a shared machine only slows runs down)."""
    results = [bench() for _ in range(max(1, runs))]
    return max(results, key=lambda row: row["steps_per_s"])


def bench_ppo(workload: Workload, *, steps: int, seed: int, mode: str) -> dict[str, float]:
    """Wall-clock PPO training throughput (env steps + updates) on the fast env.

    ``mode`` is the action mode (``"discrete"``: the project's default PPO policy class,
    ``grouped_multi_input``, whose vectorised multi-categorical distribution covers the A * 4
    scale choices; ``"continuous"``: a diagonal Gaussian over the A * 4 targets). Distribution
    argument validation is switched off (``Distribution.set_default_validate_args(False)``).
    ``experiments.bench_sb3`` compares policy classes and PPO settings in detail.
    """
    from stable_baselines3 import PPO

    from shadowsim_policies.sb3.grouped_policy import GroupedMultiInputActorCriticPolicy

    torch.distributions.Distribution.set_default_validate_args(False)
    env = ClusterEnv(
        workload=workload,
        fast=True,
        episode_ticks=288,
        seed=seed,
        engine={"action": {"mode": mode}},
    )
    n_steps = min(256, steps)
    policy = GroupedMultiInputActorCriticPolicy
    batch = min(64, n_steps)  # no batch larger than the rollout (smoke runs have n_steps < 64)
    model = PPO(policy, env, n_steps=n_steps, batch_size=batch, n_epochs=2, seed=seed, verbose=0)
    t0 = time.perf_counter()
    model.learn(total_timesteps=steps)
    elapsed = time.perf_counter() - t0
    return {"timesteps": float(steps), "seconds": elapsed, "timesteps_per_s": steps / elapsed}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark, print the table, and print the JSON summary as the last line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-apps", type=int, default=100)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--ppo-steps", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    np.random.seed(args.seed)
    workload = _workload(args.n_apps, args.seed)

    def run_mode(**kwargs: Any) -> dict[str, float]:
        steps = kwargs.pop("steps", args.steps)
        return best_of(
            args.repeat,
            lambda: bench_env_mode(workload, steps=steps, seed=args.seed, **kwargs),
        )

    rows = {
        "fast": run_mode(fast=True),
        "fast_hold": run_mode(fast=True, hold=True),
        "fast_numpy_engine": run_mode(fast=True, kernel=Kernel.NUMPY),
        "online": run_mode(fast=False, steps=max(200, args.steps // 4)),
    }
    ppo = {
        mode: bench_ppo(workload, steps=steps, seed=args.seed, mode=mode)
        for mode, steps in (("discrete", args.ppo_steps // 2), ("continuous", args.ppo_steps))
    }
    load = os.getloadavg()[0]
    print(f"shadowsim env benchmark: {args.n_apps} applications, one CPU thread")
    print(f"(load average {load:.2f} on {os.cpu_count()} CPUs while it ran)")
    header = f"{'mode':<18}{'steps/s':>9}{'w/ resets':>11}{'step us':>9}{'median':>8}{'cpu us':>8}"
    header += f"{'apply us':>10}{'advance us':>12}{'engine us':>11}{'reset s':>9}{'cold s':>8}"
    print(header)
    for name, row in rows.items():
        print(
            f"{name:<18}{row['steps_per_s']:>9.0f}{row['steps_per_s_with_resets']:>11.0f}"
            f"{row['step_us']:>9.0f}{row['median_step_us']:>8.0f}{row['cpu_us']:>8.0f}"
            f"{row['apply_us']:>10.0f}"
            f"{row['advance_us']:>12.0f}{row['engine_us']:>11.0f}{row['reset_s']:>9.2f}"
            f"{row['reset_cold_s']:>8.2f}"
        )
    print(
        "fast: random valid actions; fast_hold: the hold action; fast_numpy_engine: fast with "
        "the engine's numpy reference; online: random, online forecasts; apply/advance: the "
        "simulator (Simulator.apply/advance); reset s: a new episode; cold s: the first one; "
        "median: the median step's us (steps/s is from the mean: slow steps and other "
        "processes raise it)"
    )
    if args.repeat > 1:
        print(f"(best of {args.repeat} runs per env mode)")
    for mode, row in ppo.items():
        print(
            f"PPO {mode:<10} (grouped_multi_input, n_steps 256): {row['timesteps_per_s']:.0f} "
            f"timesteps/s ({row['timesteps']:.0f} in {row['seconds']:.1f} s)"
        )
    met = rows["fast"]["steps_per_s"] >= TARGET_STEPS_PER_S
    print(f"target >= {TARGET_STEPS_PER_S:.0f} fast env steps/s: {'met' if met else 'NOT met'}")
    summary = {
        "n_apps": args.n_apps,
        **rows,
        "ppo": ppo,
        "load_average": load,
        "target_steps_per_s": TARGET_STEPS_PER_S,
        "target_met": met,
    }
    print(json.dumps(summary))
    return summary


if __name__ == "__main__":
    main()
