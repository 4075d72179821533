"""Test-driver node files for the live adapter tests (written into each test's tmp_path).

libvirt's test driver (``test:///ABS/PATH/node.xml``) is real libvirt code with a simulated
hypervisor: every connection opened on a node file gets its own fresh copy of the node.
Its CPU time counter follows the wall clock (one busy vCPU), its disk and interface counters
grow with time, and with a ``<memballoon>`` the guest memory in use is half the current
memory. ``skip_without_libvirt`` skips a module when the binding is not installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from shadowsim.live.binding import libvirt_available
from shadowsim.live.config import AppConfig, ClockKind, HostConfig, LiveConfig, LivePoolConfig

SKIP_REASON = (
    "libvirt-python is not installed: run .ci/install_libvirt.sh (apt-get install libvirt-dev "
    "pkg-config; pip install shadowsim[live]); CI installs it, so these tests run there"
)
skip_without_libvirt = pytest.mark.skipif(not libvirt_available(), reason=SKIP_REASON)

COMPONENT_NS = "https://shadowsim.dev/xmlns/live/component/1"


@dataclass(frozen=True)
class Dom:
    """A domain of a test node.

    Attributes:
        name: Domain name.
        vcpus: Current vCPUs.
        max_vcpus: Maximum vCPUs.
        memory_mib: Current memory, MiB.
        max_memory_mib: Maximum memory, MiB.
        disks: Number of disks.
        nics: Number of network interfaces.
        runstate: libvirt state at start (1 running, 3 paused, 5 shut off).
        app: With ``index``, a component metadata element for METADATA discovery.
        index: Component index within ``app``.
    """

    name: str
    vcpus: int = 2
    max_vcpus: int = 8
    memory_mib: int = 2048
    max_memory_mib: int = 8192
    disks: int = 1
    nics: int = 1
    runstate: int = 1
    app: str | None = None
    index: int | None = None

    def xml(self) -> str:
        disks = "".join(
            f"<disk type='file' device='disk'><source file='/img/{self.name}-{i}.qcow2'/>"
            f"<target dev='vd{chr(97 + i)}' bus='virtio'/></disk>"
            for i in range(self.disks)
        )
        nics = "<interface type='network'><source network='default'/></interface>" * self.nics
        meta = ""
        if self.app is not None:
            meta = (
                f"<metadata><c:component xmlns:c='{COMPONENT_NS}' app='{self.app}' "
                f"index='{self.index}'/></metadata>"
            )
        return (
            "<domain type='test' xmlns:test='http://libvirt.org/schemas/domain/test/1.0'>"
            f"<name>{self.name}</name>"
            f"<memory unit='MiB'>{self.max_memory_mib}</memory>"
            f"<currentMemory unit='MiB'>{self.memory_mib}</currentMemory>"
            f"<vcpu current='{self.vcpus}'>{self.max_vcpus}</vcpu>"
            "<os><type arch='x86_64'>hvm</type></os>"
            f"{meta}<devices>{disks}{nics}<memballoon model='virtio'/></devices>"
            f"<test:runstate>{self.runstate}</test:runstate></domain>"
        )


def write_node(path: Path, domains: list[Dom], cpus: int = 16, memory_mib: int = 65536) -> str:
    """Write a node file with ``domains``; returns its ``test://`` URI."""
    cpu = (
        f"<cpu><mode>256</mode><nodes>1</nodes><sockets>1</sockets><cores>{cpus}</cores>"
        f"<threads>1</threads><active>{cpus}</active><mhz>2400</mhz><model>x86_64</model></cpu>"
    )
    body = "".join(d.xml() for d in domains)
    path.write_text(f"<node>{cpu}<memory>{memory_mib * 1024}</memory>{body}</node>\n")
    return f"test://{path.resolve()}"


def write_template(path: Path) -> Path:
    """A spare template: 2 of 8 vCPUs, 1 of 8 GiB, one disk, one interface."""
    path.write_text(
        "<domain type='test'><name>{{name}}</name><uuid>00000000-0000-0000-0000-000000000001"
        "</uuid><memory unit='GiB'>8</memory><currentMemory unit='MiB'>1024</currentMemory>"
        "<vcpu current='2'>8</vcpu><os><type arch='x86_64'>hvm</type></os><devices>"
        "<disk type='file' device='disk'><source file='/img/{{name}}.qcow2'/>"
        "<target dev='vda' bus='virtio'/></disk><interface type='network'>"
        "<mac address='52:54:00:00:00:01'/><source network='default'/></interface>"
        "<memballoon model='virtio'/></devices></domain>\n"
    )
    return path


def two_hosts(tmp_path: Path, *, extra0: list[Dom] | None = None) -> tuple[str, str]:
    """Two 16-vCPU / 64 GiB hosts with web-0, api-0, batch-0 and web-1, api-1, batch-1."""
    host0 = [Dom("web-0"), Dom("api-0"), Dom("batch-0", vcpus=1, memory_mib=1024)]
    host1 = [Dom("web-1"), Dom("api-1"), Dom("batch-1", vcpus=1, memory_mib=1024)]
    return (
        write_node(tmp_path / "host0.xml", host0 + (extra0 or [])),
        write_node(tmp_path / "host1.xml", host1),
    )


APPS = (
    AppConfig("web", ("web-0", "web-1"), priority="HIGH"),
    AppConfig("api", ("api-0", "api-1")),
    AppConfig("batch", ("batch-0", "batch-1"), priority="LOW"),
)


def demo_config(tmp_path: Path, **overrides: object) -> LiveConfig:
    """A two-host LiveConfig on fresh node files with a manual clock (fields overridable)."""
    uri0, uri1 = two_hosts(tmp_path)
    fields: dict[str, object] = {
        "hosts": (HostConfig(uri0, "h0"), HostConfig(uri1, "h1")),
        "interval_s": 60.0,
        "clock": ClockKind.MANUAL,
        "apps": APPS,
        "pool": LivePoolConfig(template=str(write_template(tmp_path / "spare.xml"))),
    }
    fields.update(overrides)
    return LiveConfig(**fields)
