"""Live adapter parts that need no libvirt: configs, template, KPI estimates, usage rates."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from shadowsim.config_store import build_config
from shadowsim.errors import ConfigError
from shadowsim.live.balloon import BalloonTargets
from shadowsim.live.config import (
    AppConfig,
    ClockKind,
    ComponentSource,
    HostConfig,
    LiveConfig,
    LivePoolConfig,
)
from shadowsim.live.deployment import DeployConfig
from shadowsim.live.domain_reading import Devices, DomainReading, parse_devices
from shadowsim.live.kpi_estimate import estimate_kpis
from shadowsim.live.spare_template import SPARE_NS, SpareTemplate
from shadowsim.live.usage_meter import UsageMeter
from shadowsim.readiness import Readiness
from shadowsim.sim.kpis import QueueConfig
from shadowsim.workloads.workload import Priority

REPO = Path(__file__).resolve().parents[2]
WEB = AppConfig("web", ("web-0", "web-1"))


def test_config_from_yaml_like_mapping() -> None:
    cfg = build_config(
        LiveConfig,
        {
            "hosts": [{"uri": "test:///default", "capacity": [8, 16384, 1000, 1000]}],
            "clock": "manual",
            "apps": [
                {"id": "web", "domains": ["a", "b"], "priority": "HIGH", "shares": [0.7, 0.3]}
            ],
            "pool": {"initial_target": [0, 1, 0, 0]},
        },
        "live",
    )
    assert cfg.clock is ClockKind.MANUAL
    assert cfg.hosts[0].name == "test:///default"
    assert cfg.hosts[0].capacity == (8.0, 16384.0, 1000.0, 1000.0)
    assert cfg.apps[0].priority is Priority.HIGH
    assert cfg.apps[0].shares == (0.7, 0.3)
    assert cfg.pool.initial_target == (0, 1, 0, 0)


@pytest.mark.parametrize(
    ("fields", "key", "words"),
    [
        ({"hosts": ()}, "live.hosts", "non-empty"),
        ({"hosts": (HostConfig("a"), HostConfig("a"))}, "live.hosts", "twice"),
        ({"apps": ()}, "live.apps", "CONFIG"),
        ({"apps": (AppConfig("web"),)}, "live.apps[0].domains", "lists no domains"),
        ({"apps": (replace(WEB, shares=(1.0,)),)}, "live.apps[0].shares", "1 entries for 2"),
        ({"interval_s": 0}, "live.interval_s", "(0.0"),
        ({"clock": "wal"}, "live.clock", "Did you mean 'wall'"),
        ({"name_pattern": "(?P<app>.+)"}, "live.name_pattern", "(?P<index>"),
        ({"overcommit": (0.5, 1, 1, 1)}, "live.overcommit[0]", "[1.0, inf]"),
        ({"pool": {"initial_target": [1, 1]}}, "live.pool.initial_target", "needs 4"),
        ({"pool": {"nme_prefix": "x"}}, "live.pool.nme_prefix", "Did you mean 'name_prefix'"),
        ({"hosts": ({"uri": ""},)}, "live.hosts[0].uri", "libvirt URI"),
        (
            {"components": ComponentSource.METADATA, "apps": (WEB,)},
            "live.apps[0].domains",
            "must be empty",
        ),
    ],
)
def test_config_errors_name_the_key(fields: dict[str, object], key: str, words: str) -> None:
    base: dict[str, object] = {"hosts": (HostConfig("test:///default"),), "apps": (WEB,)}
    with pytest.raises(ConfigError) as err:
        LiveConfig(**(base | fields))
    assert err.value.key == key
    assert words in str(err.value)


def test_app_config_validates_its_fields() -> None:
    with pytest.raises(ConfigError, match="sum to 1"):
        AppConfig("a", ("x", "y"), shares=(0.5, 0.6))
    with pytest.raises(ConfigError, match="Did you mean 'high'"):
        AppConfig("a", ("x",), priority="HIHG")
    with pytest.raises(ConfigError, match="letters, digits"):
        LivePoolConfig(name_prefix="bad prefix")


def test_deploy_config_needs_a_full_window_of_warm_up() -> None:
    with pytest.raises(ConfigError) as err:
        DeployConfig(warmup_ticks=4, engine={"observation": {"window": 6}})
    assert err.value.key == "deploy.warmup_ticks"
    assert DeployConfig(warmup_ticks=13).engine.observation.window == 12


def test_import_is_light_and_a_missing_binding_says_how_to_install() -> None:
    code = (
        "import sys\n"
        "import shadowsim.live\n"
        "assert 'libvirt' not in sys.modules, 'shadowsim.live imported libvirt'\n"
        "sys.modules['libvirt'] = None  # as if libvirt-python were not installed\n"
        "from shadowsim.live import LibvirtUnavailableError, load_libvirt\n"
        "try:\n"
        "    load_libvirt()\n"
        "except LibvirtUnavailableError as err:\n"
        "    print(err)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    ).stdout
    assert "pip install shadowsim[live]" in out
    assert "libvirt-dev" in out
    assert "pkg-config" in out


def test_template_renders_a_unique_spare(tmp_path: Path) -> None:
    path = tmp_path / "t.xml"
    path.write_text(
        "<domain type='kvm' id='3'><name>x</name><uuid>u</uuid><memory unit='GiB'>4</memory>"
        "<currentMemory unit='MiB'>1536</currentMemory><vcpu current='2'>4</vcpu><devices>"
        "<disk device='disk'><source file='/img/{{name}}.qcow2'/><target dev='vda'/></disk>"
        "<interface type='network'><mac address='52:54:00:00:00:01'/><target dev='vnet0'/>"
        "</interface></devices></domain>"
    )
    template = SpareTemplate.load(path)
    assert (template.vcpus, template.memory_mib) == (2, 1536.0)
    root = ET.fromstring(template.render("spare-7"))
    assert root.findtext("name") == "spare-7"
    assert root.find("uuid") is None
    assert "id" not in root.attrib
    assert root.find("./devices/interface/mac") is None
    assert root.find("./devices/interface/target") is None
    assert root.find("./devices/disk/source").get("file") == "/img/spare-7.qcow2"  # type: ignore[union-attr]
    assert root.find(f"./metadata/{{{SPARE_NS}}}spare") is not None


def test_template_errors_name_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.xml"
    path.write_text("<domain>\n  <name>x</nam>\n</domain>")
    with pytest.raises(ConfigError, match=r"broken.xml, line 2, column \d+: not valid XML") as err:
        SpareTemplate.load(path)
    assert err.value.key == "live.pool.template"
    with pytest.raises(ConfigError, match="cannot read the spare template"):
        SpareTemplate.load(tmp_path / "missing.xml")
    path.write_text("<domain><vcpu>2</vcpu></domain>")
    with pytest.raises(ConfigError, match="needs a <memory> element"):
        SpareTemplate.load(path)


def test_devices_prefer_mac_addresses() -> None:
    devices = parse_devices(
        "<domain><devices><disk device='disk'><target dev='vda'/></disk>"
        "<disk device='cdrom'><target dev='hdc'/></disk>"
        "<interface><mac address='aa:bb:cc:dd:ee:ff'/><target dev='vnet1'/></interface>"
        "<interface><target dev='vnet2'/></interface></devices></domain>"
    )
    assert devices == Devices(("vda",), ("aa:bb:cc:dd:ee:ff", "vnet2"))


def test_kpi_estimates_follow_the_queueing_model() -> None:
    queue = QueueConfig(request_cpu_s=0.1, buffer_s=0.0, max_utilisation=0.99, timeout_s=30.0)
    usage = np.array([[1.0, 500.0, 10.0, 10.0], [2.0, 1200.0, 10.0, 10.0]])
    alloc = np.array([[2.0, 1000.0, 100.0, 100.0], [2.0, 1000.0, 100.0, 100.0]])
    kpis = estimate_kpis(
        usage,
        alloc,
        np.array([0, 0]),
        np.array([0.5, 0.5]),
        np.array([0.2]),
        np.array([0.01]),
        queue,
        60.0,
    )
    # component 0: rho 0.5 -> 0.1 / (2 * 0.5) = 0.1 s; component 1: rho capped 0.99 -> 5 s
    assert kpis.response_time_s[0] == pytest.approx(0.5 * 0.1 + 0.5 * 0.1 / (2 * 0.01))
    # component 1 uses 200 MiB beyond its memory: dropped, error 200/1200
    assert kpis.dropped[0, 1] == pytest.approx(200.0)
    assert kpis.error_rate[0] == pytest.approx(0.5 * 200.0 / 1200.0)
    assert kpis.throughput_rps[0] == pytest.approx(10.0 + 20.0 * (1 - 200.0 / 1200.0))
    assert kpis.sla_violated[0]
    np.testing.assert_allclose(kpis.demand[0], usage.sum(axis=0))


def _reading(
    uuid: str,
    dom_id: int,
    at_s: float,
    cpu_s: float,
    disk: int,
    rx: int,
    tx: int,
    running: bool = True,
) -> DomainReading:
    return DomainReading(
        name="d",
        uuid=uuid,
        domain_id=dom_id,
        state=1,
        readiness=Readiness.RUNNING_IDLE if running else Readiness.STOPPED,
        vcpus=2,
        max_vcpus=4,
        memory_mib=1024.0,
        max_memory_mib=2048.0,
        cpu_time_ns=int(cpu_s * 1e9),
        memory_used_mib=700.0,
        disk_bytes=disk,
        net_rx_bytes=rx,
        net_tx_bytes=tx,
        disk_limit_kbs=None,
        net_in_limit_kbs=None,
        net_out_limit_kbs=None,
        devices=Devices((), ()),
        at_s=at_s,
    )


def test_usage_meter_turns_counters_into_rates_and_reports_gaps() -> None:
    meter = UsageMeter(2)
    meter.baseline(0, _reading("a", 1, 10.0, 100.0, 0, 0, 0))
    first = meter.measure(
        [
            _reading("a", 1, 20.0, 115.0, 1024 * 200, 1024 * 30, 1024 * 10),
            _reading("b", 2, 20.0, 1, 0, 0, 0),
        ]
    )
    np.testing.assert_allclose(first[0], [1.5, 700.0, 20.0, 4.0])
    assert meter.rx_share[0] == pytest.approx(0.75)
    np.testing.assert_allclose(first[1], [0.0, 700.0, 0.0, 0.0])  # no earlier reading
    assert len(meter.gaps) == 1
    assert "component 1" in meter.gaps[0]
    restarted = meter.measure(
        [_reading("a", 7, 30.0, 1.0, 0, 0, 0), _reading("b", 2, 30.0, 3.0, 0, 0, 0, running=False)]
    )
    assert restarted[0, 0] == 0.0
    assert "restarted" in meter.gaps[0]
    np.testing.assert_allclose(restarted[1], 0.0)  # shut off: uses nothing


def test_balloon_targets_stay_pending_until_reached_or_the_domain_restarts() -> None:
    balloons = BalloonTargets()
    readings = [_reading(u, 1, 0.0, 0.0, 0, 0, 0) for u in ("a", "b", "c")]
    allocation = np.tile([2.0, 1024.0, 100.0, 100.0], (3, 1))
    balloons.set(0, 512.0, readings[0])
    balloons.set(1, 2000.0, readings[1])
    balloons.set(2, 768.0, readings[2])
    pending = balloons.pending(allocation, readings)
    np.testing.assert_array_equal(pending[:, 1], [512.0, 2000.0, 768.0])
    np.testing.assert_array_equal(np.delete(pending, 1, axis=1), np.delete(allocation, 1, axis=1))
    # 0's guest got within 1 % of its target; 1 restarted (new domain id); 2 has not moved
    allocation[0, 1] = 515.0
    later = [readings[0], _reading("b", 2, 1.0, 0.0, 0, 0, 0), readings[2]]
    np.testing.assert_array_equal(balloons.pending(allocation, later)[:, 1], [515, 1024, 768])
    assert (balloons.target(0), balloons.target(1), balloons.target(2)) == (None, None, 768.0)
    balloons.forget(2)
    assert len(balloons) == 0


def test_cost_account_accrues_at_the_rates_in_force() -> None:
    from shadowsim.live.cost_account import CostAccount

    costs = CostAccount(now_s=10.0)
    costs.set_rates(allocation_cu_s=2.0, pool_cu_s=0.5)
    costs.accrue(20.0)  # 10 s at the first rates
    costs.set_rates(allocation_cu_s=1.0, pool_cu_s=0.0)
    costs.charge_move(0.25)
    costs.accrue(30.0)  # 10 s at the second rates
    assert (costs.interval.allocation, costs.interval.pool) == (30.0, 5.0)
    assert costs.interval.migration == 0.25
    assert costs.migrations == 1
    costs.close_interval()
    costs.accrue(31.0)
    assert costs.interval.total == 1.0
    assert costs.total.total == 30.0 + 5.0 + 0.25 + 1.0
