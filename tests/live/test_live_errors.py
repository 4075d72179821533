"""Bad input to the live adapter: every error names the config key, file or domain at fault.

Config checks need no libvirt; the rest run on libvirt's test driver (node files written into
each test's tmp_path), as an operator would meet them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shadowsim.errors import BackendError, ConfigError, ShadowSimError
from shadowsim.live.backend import LibvirtBackend
from shadowsim.live.config import (
    AppConfig,
    ComponentSource,
    HostConfig,
    LiveConfig,
    LivePoolConfig,
)
from shadowsim.live.deployment import DeployConfig, LiveLoop
from shadowsim.live.spare_template import SpareTemplate

from .libvirt_nodes import APPS, Dom, demo_config, skip_without_libvirt, write_node

DEFAULT_HOST = {"uri": "test:///default"}
WEB = {"id": "web", "domains": ["web-0", "web-1"]}
DEPLOY = DeployConfig(ticks=2, warmup_ticks=13)


# --------------------------------------------------------------------------- LiveConfig
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"hosts": [DEFAULT_HOST | {"name": 5}]},
            r"'live\.hosts\[0\]\.name': must be a string, got 5",
        ),
        (
            {"apps": [WEB | {"id": ""}]},
            r"'live\.apps\[0\]\.id': must be a non-empty application id, got ''",
        ),
        (
            {"apps": [WEB | {"domains": "web-0"}]},
            r"'live\.apps\[0\]\.domains': must be a list of domain names, got 'web-0'",
        ),
        (
            {"apps": [WEB | {"domains": ["web-0", ""]}]},
            r"'live\.apps\[0\]\.domains': must be a list of domain names",
        ),
        (
            {"pool": {"template": 5}},
            r"'live\.pool\.template': must be a file path or null, got 5",
        ),
        (
            {"pool": {"template": ""}},
            r"'live\.pool\.template': must be a file path or null, got ''",
        ),
        (
            {"name_pattern": r"^(?P<app>.+)-(?P<index>\d+$"},
            r"'live\.name_pattern': is not a regular expression: missing \), unterminated",
        ),
        (
            {"name_pattern": 5},
            r"'live\.name_pattern': is not a regular expression",
        ),
        (
            {"apps": [WEB, {"id": "web", "domains": ["web-2"]}]},
            r"'live\.apps': lists an application id twice: \['web', 'web'\]",
        ),
        (
            {"apps": [WEB | {"critical": [True]}]},
            r"'live\.apps\[0\]\.critical': has 1 entries for 2 domains",
        ),
        (
            {"apps": [WEB, {"id": "api", "domains": ["api-0", "web-1"]}]},
            r"'live\.apps': names a domain twice: \['api-0', 'web-0', 'web-1', 'web-1'\]",
        ),
    ],
)
def test_live_config_errors_name_the_key(fields: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"hosts": [DEFAULT_HOST], "apps": [WEB]}
    with pytest.raises(ConfigError, match=message):
        LiveConfig(**(base | fields))


# --------------------------------------------------------------------------- DeployConfig
@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"forecaster": 5}, r"'deploy\.forecaster': must be a name, got 5"),
        ({"forecaster": None}, r"'deploy\.forecaster': must be a name, got None"),
        (
            {"forecaster_params": [("max_horizon", 600)]},
            r"'deploy\.forecaster_params': must be a mapping, got \[\('max_horizon', 600\)\]",
        ),
    ],
)
def test_deploy_config_errors_name_the_key(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        DeployConfig(**fields)


# --------------------------------------------------------------------------- spare template
DOMAIN_TAIL = "<os><type arch='x86_64'>hvm</type></os><devices/></domain>\n"


@pytest.mark.parametrize(
    ("xml", "message"),
    [
        (
            "<node><name>{{name}}</name></node>\n",
            r"bad\.xml: root element is <node>, expected <domain>",
        ),
        (
            "<domain type='test'><name>{{name}}</name><memory unit='MiB'>1024</memory>"
            + DOMAIN_TAIL,
            r"bad\.xml: needs <vcpu>N</vcpu> with a whole number",
        ),
        (
            "<domain type='test'><name>{{name}}</name><memory unit='MiB'>1024</memory>"
            "<vcpu>two</vcpu>" + DOMAIN_TAIL,
            r"bad\.xml: needs <vcpu>N</vcpu> with a whole number",
        ),
        (
            "<domain type='test'><name>{{name}}</name><memory unit='PiB'>1</memory>"
            "<vcpu>2</vcpu>" + DOMAIN_TAIL,
            r"bad\.xml: unknown memory unit 'pib'; use KiB, MiB or GiB",
        ),
        (
            "<domain type='test'><name>{{name}}</name><memory unit='GiB'>8</memory>"
            "<currentMemory unit='MiB'>one GiB</currentMemory><vcpu>2</vcpu>" + DOMAIN_TAIL,
            r"bad\.xml: memory 'one GiB' is not a number",
        ),
    ],
)
def test_spare_template_errors_name_the_file(tmp_path: Path, xml: str, message: str) -> None:
    path = tmp_path / "bad.xml"
    path.write_text(xml)
    with pytest.raises(ConfigError, match=r"'live\.pool\.template': .*" + message) as err:
        SpareTemplate.load(path)
    assert str(path) in str(err.value)


@skip_without_libvirt
def test_backend_refuses_a_bad_spare_template(tmp_path: Path) -> None:
    path = tmp_path / "bad-spare.xml"  # demo_config writes spare.xml
    path.write_text("<domain type='test'><name>{{name}}</name><vcpu>2</vcpu>" + DOMAIN_TAIL)
    pool = LivePoolConfig(template=str(path))
    with pytest.raises(
        ConfigError, match=r"'live\.pool\.template': .*bad-spare\.xml: needs a <memory>"
    ):
        LibvirtBackend(demo_config(tmp_path, pool=pool))


# --------------------------------------------------------------------------- components
def _hosts(tmp_path: Path, doms0: list[Dom], doms1: list[Dom]) -> tuple[HostConfig, ...]:
    return (
        HostConfig(write_node(tmp_path / "m0.xml", doms0), "m0"),
        HostConfig(write_node(tmp_path / "m1.xml", doms1), "m1"),
    )


def _backend(tmp_path: Path, hosts: tuple[HostConfig, ...], **fields: object) -> LibvirtBackend:
    return LibvirtBackend(demo_config(tmp_path, hosts=hosts, **fields))


WEB3 = ([Dom("web-0"), Dom("web-2")], [Dom("web-1")])


@skip_without_libvirt
def test_discovered_app_with_wrong_number_of_shares(tmp_path: Path) -> None:
    apps = (AppConfig("web", shares=(0.5, 0.5)),)
    with pytest.raises(ConfigError, match=r"'live\.apps\[0\]\.shares': has 2 entries for 3"):
        _backend(tmp_path, _hosts(tmp_path, *WEB3), components="naming", apps=apps)


@skip_without_libvirt
def test_discovered_app_with_wrong_number_of_critical_flags(tmp_path: Path) -> None:
    apps = (AppConfig("web", critical=(True, False)),)
    with pytest.raises(ConfigError, match=r"'live\.apps\[0\]\.critical': has 2 entries for 3"):
        _backend(tmp_path, _hosts(tmp_path, *WEB3), components="naming", apps=apps)


@skip_without_libvirt
def test_configured_domain_on_two_hosts_is_ambiguous(tmp_path: Path) -> None:
    hosts = _hosts(tmp_path, [Dom("web-0"), Dom("web-1")], [Dom("web-1")])
    apps = (AppConfig("web", ("web-0", "web-1")),)
    with pytest.raises(
        ConfigError,
        match=r"'live\.apps\[0\]\.domains\[1\]': domain 'web-1' exists on several hosts "
        r"\['m0', 'm1'\]",
    ):
        _backend(tmp_path, hosts, apps=apps)


@skip_without_libvirt
def test_component_metadata_without_index(tmp_path: Path) -> None:
    hosts = _hosts(tmp_path, [Dom("web-0", app="web", index=0)], [Dom("db-0")])
    node = tmp_path / "m0.xml"
    node.write_text(node.read_text().replace(" index='0'", ""))
    with pytest.raises(
        ConfigError,
        match=r"'live\.components': domain 'web-0': component metadata .* needs attributes "
        r"app and index",
    ):
        _backend(tmp_path, hosts, components=ComponentSource.METADATA, apps=())


@skip_without_libvirt
def test_component_index_that_is_not_a_number(tmp_path: Path) -> None:
    hosts = _hosts(tmp_path, [Dom("web-0"), Dom("web-a")], [Dom("web-1")])
    with pytest.raises(
        ConfigError, match=r"'live\.components': domain 'web-a': index 'a' is not a number"
    ):
        _backend(
            tmp_path,
            hosts,
            components=ComponentSource.NAMING,
            name_pattern=r"^(?P<app>[a-z]+)-(?P<index>\w+)$",
            apps=(),
        )


@skip_without_libvirt
def test_configured_app_without_components(tmp_path: Path) -> None:
    hosts = _hosts(tmp_path, [Dom("web-0", app="web", index=0)], [Dom("db-0")])
    apps = (AppConfig("web"), AppConfig("db"))
    with pytest.raises(
        ConfigError,
        match=r"'live\.apps': no domain on any host is a component of \['db'\] "
        r"\(source METADATA\)",
    ):
        _backend(tmp_path, hosts, components=ComponentSource.METADATA, apps=apps)


@skip_without_libvirt
def test_no_component_found(tmp_path: Path) -> None:
    hosts = _hosts(tmp_path, [Dom("frontend")], [Dom("backend")])
    with pytest.raises(
        ConfigError,
        match=r"'live\.components': found no component domains on \['test://.*m0\.xml', "
        r"'test://.*m1\.xml'\] with source NAMING: no domain name matches live\.name_pattern",
    ):
        _backend(tmp_path, hosts, components=ComponentSource.NAMING, apps=())


# --------------------------------------------------------------------------- backend at run time
@skip_without_libvirt
def test_deleted_component_domain_names_the_component(tmp_path: Path) -> None:
    with LibvirtBackend(demo_config(tmp_path)) as backend:
        backend.advance()
        dom = backend.domains[1]  # web-1 on h1, deleted behind the adapter's back
        dom.destroy()
        dom.undefine()
        with pytest.raises(
            BackendError, match=r"component 1 \(web-1 on host h1\): cannot read the domain: "
        ):
            backend.advance()


# --------------------------------------------------------------------------- LiveLoop
@skip_without_libvirt
def test_engine_before_start_says_what_to_call(tmp_path: Path) -> None:
    with LibvirtBackend(demo_config(tmp_path)) as backend:
        loop = LiveLoop(backend, DEPLOY)
        with pytest.raises(ShadowSimError, match=r"call LiveLoop\.start\(\) before"):
            _ = loop.engine


@skip_without_libvirt
def test_forecaster_params_that_do_not_fit_the_forecaster(tmp_path: Path) -> None:
    cfg = DeployConfig(ticks=2, warmup_ticks=13, forecaster_params={"seasn": "1d"})
    with LibvirtBackend(demo_config(tmp_path)) as backend:
        loop = LiveLoop(backend, cfg)
        with pytest.raises(
            ConfigError,
            match=r"'deploy\.forecaster_params': do not fit forecaster 'last_value': .*'seasn'",
        ):
            loop.start()


@skip_without_libvirt
def test_warm_up_too_short_for_the_forecaster(tmp_path: Path) -> None:
    cfg = DeployConfig(ticks=2, warmup_ticks=13, forecaster="seasonal_naive")
    with LibvirtBackend(demo_config(tmp_path)) as backend:
        loop = LiveLoop(backend, cfg)
        with pytest.raises(
            ConfigError,
            match=r"'deploy\.warmup_ticks': forecaster 'seasonal_naive' cannot be fitted on 13 "
            r"warm-up ticks .*raise deploy\.warmup_ticks",
        ):
            loop.start()


@skip_without_libvirt
def test_forecaster_artifact_for_other_applications(tmp_path: Path) -> None:
    from shadowsim.shadow.artifact import save_forecaster
    from shadowsim.shadow.forecasters.last_value import LastValueForecaster

    forecaster = LastValueForecaster(interval_s=60.0).fit(np.ones((2, 20, 4)))
    artifact = tmp_path / "forecaster"
    save_forecaster(forecaster, artifact, app_ids=("web", "api"))
    cfg = DeployConfig(ticks=2, warmup_ticks=13, forecaster_artifact=str(artifact))
    with LibvirtBackend(demo_config(tmp_path, apps=APPS)) as backend:
        loop = LiveLoop(backend, cfg)
        with pytest.raises(
            ConfigError,
            match=r"'deploy\.forecaster_artifact': the forecaster was fitted on 2 applications, "
            r"the live cluster has 3",
        ):
            loop.start()


# --------------------------------------------------------------------------- DomainTuner
@skip_without_libvirt
def test_a_network_limit_on_an_unknown_interface_changes_nothing(tmp_path: Path) -> None:
    """libvirt refuses an interface the domain does not have: the refusal comes before any
    interface is changed (the earlier limits are read first), so none is left half-set.
    (A refusal after some rules were made, and the limits put back, is in
    test_live_qemu_network.py: it needs a real hypervisor.)"""
    from shadowsim.live.binding import error_text, load_libvirt
    from shadowsim.live.domain_reading import Devices, DomainReader
    from shadowsim.live.tuning import DomainTuner
    from shadowsim.resources import Resource

    lv = load_libvirt()
    conn = lv.open(write_node(tmp_path / "node.xml", [Dom("web-0")]))
    try:
        dom = conn.lookupByName("web-0")
        (mac,) = DomainReader(lv).devices(dom).interfaces
        tuner = DomainTuner(lv, persist=False)
        tuner.set(dom, Resource.NETWORK, 500.0, Devices((), (mac,)), rx_share=0.6)
        earlier = dom.interfaceParameters(mac, 0)
        assert (earlier["inbound.average"], earlier["outbound.average"]) == (300, 200)
        missing = "52:54:00:ff:ff:ff"
        with pytest.raises(lv.libvirtError) as caught:
            tuner.set(dom, Resource.NETWORK, 2000.0, Devices((), (mac, missing)), rx_share=0.5)
        after = dom.interfaceParameters(mac, 0)
        assert (after["inbound.average"], after["outbound.average"]) == (300, 200)
        assert missing in error_text(caught.value)
    finally:
        conn.close()
