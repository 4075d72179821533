"""The spare pool and shifts on libvirt's test driver, and component discovery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from shadowsim.actions import PoolTargetAction, ShiftToSpareAction
from shadowsim.errors import ConfigError
from shadowsim.live.backend import LibvirtBackend
from shadowsim.live.components import COMPONENT_NS
from shadowsim.live.config import AppConfig, ComponentSource, HostConfig, LivePoolConfig
from shadowsim.readiness import Readiness
from shadowsim.workloads.workload import Priority

from .libvirt_nodes import Dom, demo_config, skip_without_libvirt, write_node, write_template

pytestmark = skip_without_libvirt


def _libvirt_states(backend: LibvirtBackend) -> dict[str, tuple[int, bool]]:
    """Spare name -> (libvirt state code, has a managed-save image)."""
    return {
        sp.name: (int(sp.dom.state()[0]), bool(sp.dom.hasManagedSaveImage(0)))
        for sp in backend.pool.spares
    }


def _pool_config(tmp_path: Path, target: tuple[int, ...]) -> LivePoolConfig:
    template = str(write_template(tmp_path / "spare.xml"))
    return LivePoolConfig(template=template, initial_target=target)


def test_pool_states_are_libvirt_states(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path, pool=_pool_config(tmp_path, (1, 1, 1, 1)))
    with LibvirtBackend(cfg) as backend:
        lv = backend.lv
        state = backend.observe()
        np.testing.assert_array_equal(state.pool_count, [1, 1, 1, 1])
        np.testing.assert_array_equal(state.pool_target, [1, 1, 1, 1])
        expected = {
            Readiness.RUNNING_IDLE: (lv.VIR_DOMAIN_RUNNING, False),
            Readiness.PAUSED: (lv.VIR_DOMAIN_PAUSED, False),
            Readiness.HIBERNATED: (lv.VIR_DOMAIN_SHUTOFF, True),
            Readiness.STOPPED: (lv.VIR_DOMAIN_SHUTOFF, False),
        }
        seen = _libvirt_states(backend)
        for spare in backend.pool.spares:
            assert seen[spare.name] == expected[spare.readiness]
            assert spare.name.startswith("shadowsim-spare-h")
            assert (spare.vcpus, spare.memory_mib) == (2, 1024.0)
        # a running spare holds its vCPUs and memory, a paused one its memory
        held = backend.pool.held_by_host().sum(axis=0)
        np.testing.assert_allclose(held, [2, 2048, 0, 0])
        assert backend.advance().cost.pool > 0


def test_pool_target_converts_provisions_and_releases(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path, pool=_pool_config(tmp_path, (1, 1, 1, 1)))
    with LibvirtBackend(cfg) as backend:
        lv = backend.lv
        before = {sp.name for sp in backend.pool.spares}
        (result,) = backend.apply([PoolTargetAction((0, 3, 0, 0))])
        assert result.accepted
        assert result.reason == ""
        np.testing.assert_array_equal(backend.pool.counts(), [0, 3, 0, 0])
        # the running and the hibernated spare were converted, the stopped one released
        stopped = next(sp.name for sp in backend.pool.spares if sp.readiness is Readiness.PAUSED)
        names = {sp.name for sp in backend.pool.spares}
        assert stopped in names
        assert names < before
        assert len(before - names) == 1
        assert all(s == (lv.VIR_DOMAIN_PAUSED, False) for s in _libvirt_states(backend).values())
        for name in before - names:
            assert all(backend.hosts.lookup(h, name) is None for h in range(2))  # undefined
        (grow,) = backend.apply([PoolTargetAction((0, 4, 0, 1))])
        assert grow.accepted
        assert len({sp.name for sp in backend.pool.spares} - names) == 2
        np.testing.assert_array_equal(backend.pool.counts(), [0, 4, 0, 1])
        (down,) = backend.apply([PoolTargetAction((0, 0, 0, 1))])
        assert down.accepted
        assert list(_libvirt_states(backend).values()) == [(lv.VIR_DOMAIN_SHUTOFF, False)]
        assert backend.advance().pool_count.tolist() == [0, 0, 0, 1]
        (bad,) = backend.apply([PoolTargetAction((0, 0, 99, 0))])
        assert not bad.accepted
        assert "max_per_state" in bad.reason


def test_pool_without_template_reports_what_is_missing(tmp_path: Path) -> None:
    with LibvirtBackend(demo_config(tmp_path, pool=LivePoolConfig())) as backend:
        (result,) = backend.apply([PoolTargetAction((0, 1, 0, 0))])
        assert result.accepted
        assert "1 spare(s) missing" in result.reason
        assert "live.pool.template" in result.reason
        assert backend.pool.counts().sum() == 0


def test_existing_spares_are_adopted(tmp_path: Path) -> None:
    host0 = [
        Dom("web-0"),
        Dom("api-0"),
        Dom("batch-0"),
        Dom("shadowsim-spare-h0-0007", runstate=3),
        Dom("shadowsim-spare-h0-0002", runstate=5),
    ]
    host1 = [Dom("web-1"), Dom("api-1"), Dom("batch-1")]
    hosts = (
        HostConfig(write_node(tmp_path / "a.xml", host0)),
        HostConfig(write_node(tmp_path / "b.xml", host1)),
    )
    cfg = demo_config(tmp_path, hosts=hosts, pool=_pool_config(tmp_path, (0, 1, 0, 1)))
    with LibvirtBackend(cfg) as backend:
        assert backend.pool.counts().tolist() == [0, 1, 0, 1]
        (grow,) = backend.apply([PoolTargetAction((0, 2, 0, 1))])
        assert grow.accepted
        assert any(sp.name.endswith("-0008") for sp in backend.pool.spares)  # serial continues


def test_shift_activates_a_spare_and_records_the_component(tmp_path: Path) -> None:
    cfg = demo_config(tmp_path, pool=_pool_config(tmp_path, (0, 1, 0, 0)))
    with LibvirtBackend(cfg) as backend:
        lv = backend.lv
        backend.advance()
        (paused,) = backend.pool.spares
        old = backend.domains[3]  # api-1, not critical
        (result,) = backend.apply([ShiftToSpareAction(3)])
        assert result.accepted, result.reason
        assert backend.domains[3] is paused.dom
        assert backend.domain_names[3] == paused.name
        assert paused.dom.state()[0] == lv.VIR_DOMAIN_RUNNING  # resumed
        info = paused.dom.info()
        assert (info[3], info[2]) == (2, 2048 * 1024)  # sized like api-1
        tag = paused.dom.metadata(lv.VIR_DOMAIN_METADATA_ELEMENT, COMPONENT_NS, 0)
        assert 'app="api"' in tag
        assert 'index="1"' in tag
        assert old.state()[0] == lv.VIR_DOMAIN_SHUTOFF  # released
        # the pool is refilled to its target with a new paused spare
        assert backend.pool.counts().tolist() == [0, 1, 0, 0]
        state = backend.advance()
        assert state.on_spare.tolist() == [False, False, False, True, False, False]
        assert state.host_of[3] == paused.host
        assert state.migrations == 1
        assert state.cost.migration > 0
        assert any("component 3" in note for note in backend.last_notes)  # new domain: no rates
        state = backend.advance()
        assert state.usage[3, 0] == pytest.approx(1.0, rel=0.05)
        # no spare left of any kind: the next shift is refused with the reason
        backend.apply([PoolTargetAction((0, 0, 0, 0))])
        (empty,) = backend.apply([ShiftToSpareAction(5)])
        assert not empty.accepted
        assert "pool is empty" in empty.reason


def _discovery_hosts(tmp_path: Path, doms0: list[Dom], doms1: list[Dom]) -> tuple[HostConfig, ...]:
    return (
        HostConfig(write_node(tmp_path / "m0.xml", doms0)),
        HostConfig(write_node(tmp_path / "m1.xml", doms1)),
    )


@pytest.mark.parametrize("source", [ComponentSource.METADATA, ComponentSource.NAMING])
def test_components_are_discovered(tmp_path: Path, source: ComponentSource) -> None:
    hosts = _discovery_hosts(
        tmp_path,
        [Dom("db-1", app="db", index=1), Dom("web-0", app="web", index=0), Dom("other")],
        [Dom("db-0", app="db", index=0), Dom("shadowsim-spare-h1-0000", runstate=5)],
    )
    apps: tuple[Any, ...] = (AppConfig("web", priority="HIGH", sla_response_s=0.1),)
    pool = _pool_config(tmp_path, (0, 0, 0, 1))
    cfg = demo_config(tmp_path, hosts=hosts, components=source, apps=apps, pool=pool)
    with LibvirtBackend(cfg) as b:
        assert b.spec.app_ids == ("web", "db")  # configured apps first, then by id
        assert b.domain_names == ["web-0", "db-0", "db-1"]
        assert b.host_of.tolist() == [0, 1, 0]
        assert b.spec.priority.tolist() == [Priority.HIGH, Priority.MEDIUM]
        assert b.spec.sla_response_s[0] == 0.1
        assert [sp.name for sp in b.pool.spares] == ["shadowsim-spare-h1-0000"]  # adopted


def test_discovery_errors_name_the_domains(tmp_path: Path) -> None:
    hosts = _discovery_hosts(
        tmp_path, [Dom("a-0", app="a", index=0)], [Dom("b-0", app="a", index=0)]
    )
    with pytest.raises(ConfigError, match="'a-0' and 'b-0' both claim component 0"):
        LibvirtBackend(
            demo_config(tmp_path, hosts=hosts, components=ComponentSource.METADATA, apps=())
        )
    gap = _discovery_hosts(tmp_path, [Dom("a-0"), Dom("a-2")], [Dom("x")])
    with pytest.raises(ConfigError, match=r"indices \[0, 2\]"):
        LibvirtBackend(demo_config(tmp_path, hosts=gap, components=ComponentSource.NAMING, apps=()))
