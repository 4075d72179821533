"""LibvirtBackend on libvirt's test driver: observation, scaling, refused actions."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from shadowsim.actions import (
    MigrateAction,
    ScaleAction,
    ScaleAllAction,
    ShiftToSpareAction,
)
from shadowsim.backend import ClusterBackend
from shadowsim.errors import BackendError, ConfigError
from shadowsim.live.backend import LibvirtBackend
from shadowsim.live.config import AppConfig, HostConfig, VcpuRounding
from shadowsim.resources import Resource
from shadowsim.sim.cost import CostModel

from .libvirt_nodes import APPS, Dom, demo_config, skip_without_libvirt, write_node

pytestmark = skip_without_libvirt

NAN = np.nan


def _targets(rows: dict[int, list[float]], n_apps: int = 3) -> np.ndarray:
    out = np.full((n_apps, 4), NAN)
    for app, row in rows.items():
        out[app] = row
    return out


def test_spec_and_initial_state(tmp_path: Path) -> None:
    with LibvirtBackend(demo_config(tmp_path, io_capacity=(5000.0, 3000.0))) as backend:
        assert isinstance(backend, ClusterBackend)
        spec = backend.spec
        assert spec.app_ids == ("web", "api", "batch")
        assert (spec.n_apps, spec.n_components, spec.n_hosts) == (3, 6, 2)
        np.testing.assert_array_equal(spec.component_app, [0, 0, 1, 1, 2, 2])
        np.testing.assert_allclose(spec.component_share, 0.5)
        # web is HIGH: both critical; otherwise only the first component
        np.testing.assert_array_equal(spec.component_critical, [1, 1, 1, 0, 1, 0])
        np.testing.assert_allclose(spec.host_capacity, [[16, 65536, 5000, 3000]] * 2)
        state = backend.observe()
        assert state.tick == -1
        assert state.time_s == 0.0
        np.testing.assert_array_equal(state.usage, 0.0)
        expected = [[2, 2048]] * 4 + [[1, 1024]] * 2
        np.testing.assert_allclose(state.allocation[:, :2], expected)
        # no I/O limits: unlimited = the host's capacity
        np.testing.assert_allclose(state.allocation[:, 2:], [[5000, 3000]] * 6)
        np.testing.assert_array_equal(state.host_of, [0, 1, 0, 1, 0, 1])
        assert not state.kpis.sla_violated.any()


def test_advance_measures_usage_in_project_units(tmp_path: Path) -> None:
    with LibvirtBackend(demo_config(tmp_path, max_ticks=2)) as backend:
        # with the manual clock the two readings would be a few ms of real time apart, and a
        # stall of this process would move the measured rate by more than 5%: wait a little
        time.sleep(0.25)
        state = backend.advance()
        assert state.tick == 0
        assert state.time_s == pytest.approx(60.0)
        assert state.usage.shape == (6, 4)
        assert state.usage.dtype == np.float64
        # the test driver's CPU time follows the wall clock: one fully busy vCPU
        np.testing.assert_allclose(state.usage[:, Resource.CPU], 1.0, rtol=0.05)
        # guest memory in use (balloon stats): half of the current memory, MiB
        np.testing.assert_allclose(state.usage[:, Resource.MEMORY], [1024] * 4 + [512] * 2)
        assert (state.usage[:, Resource.DISK] > 0).all()
        assert (state.usage[:, Resource.NETWORK] > 0).all()
        np.testing.assert_array_equal(state.demand, state.usage)
        np.testing.assert_allclose(state.kpis.demand, state.app_sum(state.usage, backend.spec))
        np.testing.assert_allclose(state.host_used[0], state.usage[[0, 2, 4]].sum(axis=0))
        assert backend.kpis_are_estimates
        assert state.kpis.response_time_s.shape == (3,)
        assert (state.kpis.response_time_s > 0).all()
        prices = CostModel(backend.config.prices)
        # allocation cost: the allocation in force at its price over the 60 s interval
        rate = prices.allocation_rate(state.allocation)
        assert state.cost.allocation == pytest.approx(rate * 60)
        assert state.cost_total.total == pytest.approx(state.cost.total)
        assert not state.usage.flags.writeable
        backend.advance()
        assert backend.done
        with pytest.raises(BackendError, match="done"):
            backend.advance()


def test_scaling_up_and_down_is_visible_in_the_domains(tmp_path: Path) -> None:
    with LibvirtBackend(demo_config(tmp_path)) as backend:
        backend.advance()
        targets = _targets({0: [8, 6144, 2000, 1000], 2: [NAN, 1024, NAN, NAN]})
        (result,) = backend.apply([ScaleAllAction(targets)])
        assert result.accepted, result.reason
        outcome = result.outcome
        assert outcome is not None
        np.testing.assert_array_equal(outcome.accepted[0], True)
        np.testing.assert_allclose(outcome.applied[0], [8, 6144, 2000, 1000])
        assert outcome.applied[2, 1] == pytest.approx(1024)
        assert np.isnan(outcome.applied[1]).all()
        web0 = backend.domains[0]
        info = web0.info()
        assert info[3] == 4
        assert info[2] == 3072 * 1024
        assert web0.blockIoTune("vda", 0)["total_bytes_sec"] == 1000 * 1024
        (mac,) = backend.reader.devices(web0).interfaces
        bandwidth = web0.interfaceParameters(mac, 0)
        assert bandwidth["inbound.average"] + bandwidth["outbound.average"] == 500
        assert backend.domains[4].info()[2] == 512 * 1024  # batch scaled down
        state = backend.advance()
        np.testing.assert_allclose(state.allocation[0], [4, 3072, 1000, 500])
        np.testing.assert_array_equal(state.pending_allocation, state.allocation)
        assert state.usage[0, Resource.MEMORY] == pytest.approx(1536)  # half of the new memory


def test_targets_are_clamped_to_domain_maxima_and_rounded(tmp_path: Path) -> None:
    with LibvirtBackend(demo_config(tmp_path, vcpu_rounding=VcpuRounding.NEAREST)) as backend:
        (big,) = backend.apply([ScaleAction(1, Resource.CPU, 40.0)])
        assert big.accepted
        assert "1 entries clamped" in big.reason
        assert big.outcome is not None
        assert big.outcome.applied[1, 0] == 16
        (mem,) = backend.apply([ScaleAction(1, Resource.MEMORY, 10**6)])
        assert mem.outcome is not None
        assert mem.outcome.applied[1, 1] == 2 * 8192
        (frac,) = backend.apply([ScaleAction(2, Resource.CPU, 3.2)])  # 1.6 each -> 2 (nearest)
        assert frac.outcome is not None
        assert frac.outcome.applied[2, 0] == 4
        assert frac.outcome.clamped[2, 0]
        # each host (16 vCPUs) holds web 2 + api 8 + batch 2: room for 4 more, not for 8
        (room,) = backend.apply([ScaleAction(0, Resource.CPU, 20.0)])
        assert room.outcome is not None
        assert room.outcome.applied[0, 0] == 6 + 6
        assert room.outcome.clamped[0, 0]


def test_refused_actions_are_reported(tmp_path: Path) -> None:
    uri0, uri1 = tmp_path / "h0.xml", tmp_path / "h1.xml"
    cfg = demo_config(
        tmp_path,
        hosts=(
            HostConfig(
                write_node(uri0, [Dom("web-0"), Dom("api-0"), Dom("batch-0", runstate=5)]),
                capacity=(16, 65536, 1e13, 1e6),
            ),
            HostConfig(write_node(uri1, [Dom("web-1"), Dom("api-1"), Dom("batch-1")])),
        ),
    )
    with LibvirtBackend(cfg) as backend:
        results = backend.apply(
            [
                # 7.5e12 KB/s on web-0 is beyond what libvirt accepts: its own words
                ScaleAllAction(_targets({0: [NAN, NAN, 1.5e13, NAN]})),
                ScaleAction(2, Resource.MEMORY, 4096.0),  # batch-0 is shut off
                ScaleAllAction(np.ones((2, 4))),
                ScaleAction(7, Resource.CPU, 1.0),
                ScaleAllAction(_targets({1: [-1, NAN, NAN, NAN]})),
                ScaleAllAction(_targets({})),
                MigrateAction(3, 0),  # the test driver cannot migrate
                MigrateAction(3, 1),
                ShiftToSpareAction(0),  # web is HIGH: critical
                "scale everything",
            ]
        )
        libvirt_no, off, shape, app, negative, hold, migrate, same, shift, unknown = results
        assert not libvirt_no.accepted
        assert "libvirt refused on domain web-0" in libvirt_no.reason
        assert "block I/O throttle limit" in libvirt_no.reason
        assert libvirt_no.outcome is not None
        assert not libvirt_no.outcome.accepted[0, 2]
        assert not off.accepted
        assert "batch-0 is not running" in off.reason
        assert not shape.accepted
        assert "shape (3, 4)" in shape.reason
        assert not app.accepted
        assert "unknown app 7" in app.reason
        assert not negative.accepted
        assert "negative target" in negative.reason
        assert hold.accepted
        assert "nothing to change" in hold.reason
        assert not migrate.accepted
        assert "libvirt cannot migrate api-1" in migrate.reason
        assert "not supported" in migrate.reason
        assert not same.accepted
        assert "already runs on host 1" in same.reason
        assert not shift.accepted
        assert "critical" in shift.reason
        assert not unknown.accepted
        assert "unknown action type str" in unknown.reason
        state = backend.advance()
        assert state.usage[4].tolist() == [0.0, 0.0, 0.0, 0.0]  # shut off: uses nothing


def test_persist_also_changes_the_definition(tmp_path: Path) -> None:
    with LibvirtBackend(demo_config(tmp_path, persist=True)) as backend:
        (result,) = backend.apply([ScaleAction(1, Resource.MEMORY, 6144.0)])
        assert result.accepted, result.reason
        lv = backend.lv
        inactive = backend.domains[2].XMLDesc(lv.VIR_DOMAIN_XML_INACTIVE)
        assert "<currentMemory unit='KiB'>3145728</currentMemory>" in inactive


def test_missing_domain_is_a_config_error_with_suggestions(tmp_path: Path) -> None:
    apps = (AppConfig("web", ("web-0", "wbe-1")), *APPS[1:])
    with pytest.raises(ConfigError, match=r"Did you mean 'web-1'") as err:
        LibvirtBackend(demo_config(tmp_path, apps=apps))
    assert err.value.key == "live.apps[0].domains[1]"


def test_unreachable_host_names_the_uri(tmp_path: Path) -> None:
    bad = HostConfig(f"test://{tmp_path / 'nope.xml'}")
    with pytest.raises(BackendError, match=r"live.hosts\[0\]: cannot open libvirt connection"):
        LibvirtBackend(demo_config(tmp_path, hosts=(bad,)))


def test_wall_clock_waits_for_each_tick_and_reports_lateness(tmp_path: Path) -> None:
    import time

    from shadowsim.live.config import ClockKind

    with LibvirtBackend(demo_config(tmp_path, clock=ClockKind.WALL, interval_s=0.05)) as backend:
        first = backend.advance()
        second = backend.advance()
        assert first.time_s >= 0.05  # slept until each tick
        assert second.time_s >= 0.1
        assert first.time_s >= 0.05
        assert second.time_s >= 0.1
        assert backend.last_notes == []
        time.sleep(0.2)  # the control loop overran: the next tick starts late
        backend.advance()
        assert any("late" in note and "live.interval_s" in note for note in backend.last_notes)
