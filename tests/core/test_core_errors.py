"""Bad input to build_config, Catalog and ServedAllocation raises errors naming the key; the
errors themselves pickle (worker processes send them back)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass

import numpy as np
import pytest
from engine.cluster_fixtures import make_spec, make_state
from omegaconf import OmegaConf

from shadowsim.catalog import Catalog
from shadowsim.config_store import build_config
from shadowsim.errors import ConfigError, ShadowSimError, TraceFormatError, UnknownNameError
from shadowsim.metrics import ServedAllocation
from shadowsim.shadow.service import ShadowConfig
from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.jit import Kernel
from shadowsim.workloads.synthetic import SyntheticConfig
from shadowsim.workloads.workload import Priority

# --- build_config ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulatedShadow:
    """A job config holding a shadow-service config (which names its keys from ``shadow``)."""

    shadow: ShadowConfig


def test_build_config_reads_valid_values() -> None:
    cfg = build_config(
        ClusterConfig,
        {"host_capacity": [8, 16384, 5000, 5000], "kernel": "numpy", "faults": {}},
        key="cluster",
    )
    assert cfg.host_capacity == (8.0, 16384.0, 5000.0, 5000.0)
    assert cfg.kernel is Kernel.NUMPY


@pytest.mark.parametrize("value", ["big", 8.0])
def test_optional_value_that_fits_no_type(value: object) -> None:
    with pytest.raises(
        ConfigError, match=r"config key 'cluster\.host_capacity': cannot read .* as tuple\["
    ):
        build_config(ClusterConfig, {"host_capacity": value}, key="cluster")


def test_nested_config_that_is_not_a_mapping() -> None:
    with pytest.raises(
        ConfigError,
        match=r"config key 'cluster\.faults': expected a mapping of FaultConfig fields, got True",
    ):
        build_config(ClusterConfig, {"faults": True}, key="cluster")
    with pytest.raises(
        ConfigError,
        match=r"config key 'ClusterConfig': expected a mapping of ClusterConfig fields, got \[1",
    ):
        build_config(ClusterConfig, [1, 2])


def test_a_nested_configs_own_check_names_its_full_key() -> None:
    # MetadataConfig checks its shares itself (key "share_low"); nested two levels down
    with pytest.raises(
        ConfigError, match=r"config key 'workload\.metadata\.share_low': share_high \+ share_medium"
    ):
        build_config(SyntheticConfig, {"metadata": {"share_high": 0.5}}, key="workload")
    # a check that names a key from the top already is left as it is
    with pytest.raises(ConfigError, match=r"config key 'shadow\.accuracy_lead'"):
        build_config(SimulatedShadow, {"shadow": {"accuracy_lead": 0}}, key="job")


def test_enum_value_that_names_no_member() -> None:
    with pytest.raises(
        ConfigError, match=r"config key 'cluster\.kernel': 'gpu' is not one of AUTO, JIT, NUMPY"
    ):
        build_config(ClusterConfig, OmegaConf.create({"kernel": "gpu"}), key="cluster")


@pytest.mark.parametrize("value", [2.0, "1,1,1,1", {"cpu": 1.0}])
def test_tuple_value_that_is_not_a_list(value: object) -> None:
    with pytest.raises(
        ConfigError, match=r"config key 'cluster\.overcommit': expected a list, got "
    ):
        build_config(ClusterConfig, {"overcommit": value}, key="cluster")


@dataclass(frozen=True)
class _Window:
    """A schema with a fixed-length tuple field (no shadowsim schema has one yet)."""

    bounds: tuple[float, float] = (0.0, 1.0)


def test_fixed_length_tuple_of_the_wrong_length() -> None:
    assert build_config(_Window, {"bounds": [1, 2]}).bounds == (1.0, 2.0)
    with pytest.raises(ConfigError, match=r"config key 'window\.bounds': expected 2 values, got 3"):
        build_config(_Window, {"bounds": [1, 2, 3]}, key="window")


@pytest.mark.parametrize("value", [["web", "batch"], "web=1", 0.5])
def test_dict_value_that_is_not_a_mapping(value: object) -> None:
    with pytest.raises(
        ConfigError, match=r"config key 'workload\.archetype_mix': expected a mapping, got "
    ):
        build_config(SyntheticConfig, {"archetype_mix": value}, key="workload")


# --- Catalog --------------------------------------------------------------------------------


def test_catalog_name_registered_twice() -> None:
    catalog: Catalog[type] = Catalog("forecaster")
    catalog.add("naive", int)
    catalog.add("naive", int)  # the same entry again is fine
    with pytest.raises(ShadowSimError, match=r"forecaster 'naive' is already registered"):
        catalog.add("naive", float)
    assert catalog.get("naive") is int

    @catalog.register("seasonal")
    class Seasonal:
        pass

    with pytest.raises(ShadowSimError, match=r"forecaster 'seasonal' is already registered"):

        @catalog.register("seasonal")
        class Other:
            pass


# --- ServedAllocation -----------------------------------------------------------------------


@pytest.mark.parametrize("tick_s", [0.0, -300.0, float("nan"), float("inf")])
def test_served_allocation_tick_must_be_positive(tick_s: float) -> None:
    with pytest.raises(
        ConfigError, match=r"config key 'metrics\.tick_s': must be a positive number of s"
    ):
        ServedAllocation.for_latency((0.0,) * 4, tick_s)


def test_served_allocation_snapshots_of_another_cluster() -> None:
    one = make_spec(priorities=(Priority.LOW,), per_app=1, n_hosts=1)
    two = make_spec(priorities=(Priority.LOW, Priority.HIGH), per_app=1, n_hosts=1)
    alloc = np.ones((1, 4))
    before = make_state(one, app_allocation=alloc, app_demand=alloc)
    serving = ServedAllocation((True, False, False, False))
    serving.start(before)
    same = make_state(one, app_allocation=2 * alloc, app_demand=alloc, tick=1)
    assert serving.served(same)[0, 0] == 1.0  # CPU: the previous snapshot's allocation
    other = make_state(two, app_allocation=np.ones((2, 4)), app_demand=np.ones((2, 4)), tick=2)
    with pytest.raises(
        ShadowSimError,
        match=r"snapshot of tick 2 has allocation shape \(2, 4\), the previous one \(1, 4\): "
        r"start\(\) a new episode",
    ):
        serving.served(other)


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("workload.path", "no such folder; pass workload.path=DIR"),
        UnknownNameError("policy", "hpaa", ["hpa", "vpa"]),
        TraceFormatError("/data/vm.csv", "not a number", line=7, column="cpu"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_errors_survive_pickling_with_their_fields_and_notes(error: ShadowSimError) -> None:
    """A worker process (SubprocVecEnv, Ray Tune trials) sends its errors back pickled."""
    error.add_note("while doing X")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.__dict__ == error.__dict__
    assert copy.__notes__ == ["while doing X"]
