"""The env's step (AllocationEngine.step_values) and the engine's StepOutcome agree exactly."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from env_fixtures import small_env, small_workload

from shadowsim.engine.engine_config import EngineConfig
from shadowsim.sim.jit import Kernel, jit_available

KERNELS = [Kernel.NUMPY] + ([Kernel.JIT] if jit_available() else [])


def _plain(info: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in info.items() if key != "guardrail_report"}


@pytest.mark.parametrize("kernel", KERNELS)
def test_step_values_equal_the_step_outcome(kernel: Kernel) -> None:
    workload = small_workload(n_apps=8)
    config = EngineConfig(kernel=kernel, guardrails={"host_capacity_share": 0.4})  # type: ignore[arg-type]
    envs = [small_env(workload, engine=config, episode_ticks=30) for _ in range(2)]
    for env in envs:
        env.reset(seed=5)
    envs[0].action_space.seed(2)
    for _ in range(30):
        action = envs[0].action_space.sample()
        observation, reward, terminated, truncated, info = envs[0].step(action)
        outcome = envs[1].engine.step(action)
        assert reward == outcome.reward
        assert info["reward_terms"] == outcome.terms.as_dict()
        assert _plain(info) == _plain(outcome.info)
        assert info["guardrail_report"] == outcome.guardrails
        assert terminated is False
        assert truncated == (envs[1].engine.steps >= envs[1].engine.max_steps)
        for key, value in observation.items():
            np.testing.assert_array_equal(value, outcome.observation[key], err_msg=key)
    assert truncated
