"""The compiled pool sizing inputs (engine.fused.pool_sizing) against the numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from shadowsim.engine.fused.pool_sizing import FusedPoolSizer
from shadowsim.engine.pool_sizing import PoolSizer, PoolSizingConfig
from shadowsim.workloads.workload import Priority
from tests.engine.cluster_fixtures import make_spec

pytest.importorskip("numba")


class _Hosts:
    """What the levels read of a snapshot."""

    def __init__(self, used: np.ndarray, capacity: np.ndarray) -> None:
        self.host_used = used
        self.host_capacity = capacity


def _pair(seed: int) -> tuple[PoolSizer, FusedPoolSizer]:
    classes = list(Priority)
    spec = make_spec(tuple(classes[(seed + a) % len(classes)] for a in range(7)))
    config = PoolSizingConfig(error_cap=0.8)
    return PoolSizer(spec, config), FusedPoolSizer(spec, config)


@pytest.mark.parametrize("seed", range(20))
def test_levels_and_targets_are_the_references_bit_for_bit(seed: int) -> None:
    rng = np.random.default_rng(seed)
    reference, fused = _pair(seed)
    error = rng.exponential(0.3, size=(7, 4))
    n_hosts = int(rng.integers(1, 12))
    capacity = rng.uniform(0, 64, size=(n_hosts, 4)) * (rng.random((n_hosts, 4)) > 0.1)
    used = capacity * rng.uniform(0, 1.3, size=capacity.shape)
    state = _Hosts(used, capacity)
    expected = reference.levels(state, error)  # type: ignore[arg-type]
    assert fused.levels(state, error) == expected  # type: ignore[arg-type]
    level, load = expected
    share = reference.auto_share(state, error, error_level=level, load_level=load)  # type: ignore[arg-type]
    assert share == reference.auto_share(state, error)  # type: ignore[arg-type]
    assert fused.targets(share, error, error_level=level) == reference.targets(share, error)


@pytest.mark.parametrize(
    ("where", "expected_error", "load_is_nan"),
    [("error", 0.8, False), ("used", None, True), ("capacity", None, True)],
)
def test_nan_inputs_give_the_references_levels(
    where: str, expected_error: float | None, load_is_nan: bool
) -> None:
    reference, fused = _pair(0)
    error = np.full((7, 4), 0.1)
    used = np.full((3, 4), 2.0)
    capacity = np.full((3, 4), 8.0)
    {"error": error, "used": used, "capacity": capacity}[where][1, 1] = np.nan
    state = _Hosts(used, capacity)
    ref_error, ref_load = reference.levels(state, error)  # type: ignore[arg-type]
    got_error, got_load = fused.levels(state, error)  # type: ignore[arg-type]
    assert got_error == ref_error
    assert np.isnan(got_load) == np.isnan(ref_load) == load_is_nan
    if expected_error is not None:
        assert got_error == expected_error  # NaN error: the cap
    if not load_is_nan:
        assert got_load == ref_load == 0.25


def test_other_layouts_fall_back_to_the_reference() -> None:
    reference, fused = _pair(1)
    error = np.asfortranarray(np.random.default_rng(1).random((7, 4)))
    capacity = np.asfortranarray(np.full((20, 4), 4.0))
    used = np.asfortranarray(np.random.default_rng(2).random((20, 4)))
    state = _Hosts(used, capacity)
    assert fused.levels(state, error) == reference.levels(state, error)  # type: ignore[arg-type]
    error32 = np.ascontiguousarray(error, dtype=np.float32)
    state32 = _Hosts(np.ascontiguousarray(used), np.ascontiguousarray(capacity))
    got = fused.levels(state32, error32)  # type: ignore[arg-type]
    assert got == reference.levels(state32, error32)  # type: ignore[arg-type]


def test_the_compiled_engine_builds_the_compiled_sizer() -> None:
    from shadowsim.sim.jit import Kernel
    from tests.envs.env_fixtures import small_env

    kinds = {}
    for kernel in (Kernel.JIT, Kernel.NUMPY):
        env = small_env(engine={"kernel": kernel})
        env.reset(seed=0)
        kinds[kernel] = type(env.engine.pool_sizer)
    assert kinds == {Kernel.JIT: FusedPoolSizer, Kernel.NUMPY: PoolSizer}
