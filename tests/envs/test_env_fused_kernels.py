"""Whole episodes with the compiled engine kernels equal those with the numpy reference.

Bit for bit here (observations, rewards, guardrail counts), the host-capacity cut included:
its sums may differ from the reference's ``matmul`` by rounding only, which these seeded
episodes do not hit.
"""

from __future__ import annotations

import numpy as np
import pytest
from env_fixtures import small_env, small_workload

from shadowsim.engine.engine_config import EngineConfig
from shadowsim.sim.jit import Kernel, jit_available

pytestmark = pytest.mark.skipif(not jit_available(), reason="numba is not installed")


@pytest.mark.parametrize(
    ("mode", "capacity_share"), [("discrete", 1.0), ("discrete", 0.3), ("continuous", 0.5)]
)
def test_compiled_engine_replays_the_reference_episode(mode: str, capacity_share: float) -> None:
    workload = small_workload(n_apps=8)
    envs = [
        small_env(
            workload,
            engine=EngineConfig(
                kernel=kernel,
                action={"mode": mode, "max_target": 3.0},  # type: ignore[arg-type]
                guardrails={"host_capacity_share": capacity_share},  # type: ignore[arg-type]
            ),
            episode_ticks=40,
        )
        for kernel in (Kernel.NUMPY, Kernel.JIT)
    ]
    assert type(envs[1].engine_config.kernel) is Kernel
    envs[0].action_space.seed(1)
    actions = [envs[0].action_space.sample() for _ in range(40)]
    first = [env.reset(seed=7) for env in envs]
    for key in first[0][0]:
        np.testing.assert_array_equal(first[1][0][key], first[0][0][key], err_msg=key)
    counts: dict[str, int] = {}
    for action in actions:
        (obs_r, rew_r, _, trunc_r, info_r), (obs_f, rew_f, _, trunc_f, info_f) = (
            env.step(action) for env in envs
        )
        for key in obs_r:
            np.testing.assert_array_equal(obs_f[key], obs_r[key], err_msg=key)
        assert rew_f == rew_r
        assert info_f["guardrails"] == info_r["guardrails"]
        assert info_f["rejected"] == info_r["rejected"]
        assert info_f["sla_violations"] == info_r["sla_violations"]
        assert trunc_f == trunc_r
        for rule, n in info_r["guardrails"].items():
            counts[rule] = counts.get(rule, 0) + n
    type_names = {type(part).__name__ for part in vars(envs[1].engine).values()}
    assert {"FusedGuardrails", "FusedObservationBuilder", "FusedActionCodec"} <= type_names
    if capacity_share < 1.0:
        assert counts.get("CAPACITY", 0) > 0  # the pro-rata cut ran in both
