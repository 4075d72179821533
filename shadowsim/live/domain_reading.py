"""Reading one libvirt domain: state, allocation, usage counters and I/O limits.

What is read, per domain (all APIs exist in every libvirt driver used here):

* state: ``virDomainGetState``; a shut-off domain with a managed-save image is hibernated
  (``virDomainHasManagedSaveImage``). :func:`readiness_of` maps states to
  :class:`~shadowsim.readiness.Readiness`: running (or blocked) = RUNNING_IDLE, paused =
  PAUSED, shut off with a managed save = HIBERNATED, shut off = STOPPED; other states (being
  shut down, crashed, suspended to RAM) are transitional and map to None.
* allocation: current vCPUs and memory (``virDomainGetInfo``: vCPUs, KiB -> MiB), maxima
  (``virDomainGetVcpusFlags(VCPU_MAXIMUM)``, ``virDomainGetMaxMemory``); disk limit = sum
  over its disks of ``total_bytes_sec`` (or read + write) of ``virDomainGetBlockIoTune``,
  bytes/s -> KB/s; network limit = ``inbound.average`` + ``outbound.average`` of
  ``virDomainGetInterfaceParameters`` (libvirt gives KB/s). A device without a limit makes
  the resource unlimited (``None``); limits of a domain that is not running are not read
  (``None``). A domain without disks (interfaces) has a limit of 0.
* usage counters (running domains): CPU time, ns (``virDomainGetInfo``); disk bytes read +
  written (``virDomainBlockStats``, summed over disks); network bytes received +
  transmitted (``virDomainInterfaceStats``, summed over interfaces); memory in use, MiB, a
  gauge: guest ``available - usable`` (or ``- unused``) of ``virDomainMemoryStats`` when the
  balloon driver reports them, else the host-side ``rss``, else the current allocation.

Disk target names and interface MAC addresses come from the live XML
(``virDomainGetXMLDesc``), cached per domain id (devices may change when a domain restarts).
"""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from shadowsim.readiness import Readiness

KIB_PER_MIB = 1024.0
BYTES_PER_KB = 1024.0


@dataclass(frozen=True)
class Devices:
    """Disk target names (e.g. ``vda``) and network interfaces of a domain.

    Interfaces are named by MAC address (stable across restarts, valid for the live and the
    persistent definition), or by target name when the XML has no MAC.
    """

    disks: tuple[str, ...]
    interfaces: tuple[str, ...]


@dataclass(frozen=True)
class DomainReading:
    """One reading of a domain.

    Attributes:
        name: Domain name.
        uuid: Domain UUID.
        domain_id: Hypervisor id (-1 when not running; changes on every start).
        state: libvirt state code (``VIR_DOMAIN_*``).
        readiness: The state as a :class:`Readiness`, or None for transitional states.
        vcpus: Current vCPUs.
        max_vcpus: Most vCPUs the domain can have.
        memory_mib: Current memory (balloon target), MiB.
        max_memory_mib: Most memory it can have, MiB.
        cpu_time_ns: Cumulative CPU time, ns (0 when not running).
        memory_used_mib: Memory in use, MiB (0 when not running).
        disk_bytes: Cumulative disk bytes read + written.
        net_rx_bytes: Cumulative bytes received.
        net_tx_bytes: Cumulative bytes transmitted.
        disk_limit_kbs: Disk throughput limit, KB/s; None when unlimited.
        net_in_limit_kbs: Inbound limit, KB/s; None when unlimited.
        net_out_limit_kbs: Outbound limit, KB/s; None when unlimited.
        devices: Its disks and interfaces.
        at_s: ``time.monotonic()`` when the counters were read, s.
    """

    name: str
    uuid: str
    domain_id: int
    state: int
    readiness: Readiness | None
    vcpus: int
    max_vcpus: int
    memory_mib: float
    max_memory_mib: float
    cpu_time_ns: int
    memory_used_mib: float
    disk_bytes: int
    net_rx_bytes: int
    net_tx_bytes: int
    disk_limit_kbs: float | None
    net_in_limit_kbs: float | None
    net_out_limit_kbs: float | None
    devices: Devices
    at_s: float

    @property
    def running(self) -> bool:
        """True when the domain runs (its counters move)."""
        return self.readiness is Readiness.RUNNING_IDLE

    @property
    def net_bytes(self) -> int:
        """Cumulative bytes received + transmitted."""
        return self.net_rx_bytes + self.net_tx_bytes

    @property
    def net_limit_kbs(self) -> float | None:
        """Inbound + outbound limit, KB/s; None when either direction is unlimited."""
        if self.net_in_limit_kbs is None or self.net_out_limit_kbs is None:
            return None
        return self.net_in_limit_kbs + self.net_out_limit_kbs


def readiness_of(lv: ModuleType, state: int, managed_save: bool) -> Readiness | None:
    """The readiness a libvirt state stands for (None for transitional states)."""
    if state in (lv.VIR_DOMAIN_RUNNING, lv.VIR_DOMAIN_BLOCKED):
        return Readiness.RUNNING_IDLE
    if state == lv.VIR_DOMAIN_PAUSED:
        return Readiness.PAUSED
    if state == lv.VIR_DOMAIN_SHUTOFF:
        return Readiness.HIBERNATED if managed_save else Readiness.STOPPED
    return None


def parse_devices(xml: str) -> Devices:
    """Disk (``device='disk'``) targets and interfaces (MAC address, else target) of an XML."""
    root = ET.fromstring(xml)
    disks = tuple(
        str(t.get("dev"))
        for d in root.iterfind("./devices/disk")
        if d.get("device", "disk") == "disk"
        and (t := d.find("target")) is not None
        and t.get("dev")
    )
    nics: list[str] = []
    for nic in root.iterfind("./devices/interface"):
        mac, target = nic.find("mac"), nic.find("target")
        if mac is not None and mac.get("address"):
            nics.append(str(mac.get("address")))
        elif target is not None and target.get("dev"):
            nics.append(str(target.get("dev")))
    return Devices(disks, tuple(nics))


class DomainReader:
    """Reads domains, caching what only changes when a domain restarts.

    Args:
        lv: The libvirt module.
    """

    def __init__(self, lv: ModuleType) -> None:
        self.lv = lv
        self._devices: dict[tuple[str, int], Devices] = {}
        self._max_vcpus: dict[str, int] = {}

    def devices(self, dom: Any) -> Devices:
        """The domain's devices (from its live XML, cached per domain id)."""
        key = (str(dom.UUIDString()), int(dom.ID()))
        found = self._devices.get(key)
        if found is None:
            found = parse_devices(str(dom.XMLDesc(0)))
            self._devices[key] = found
        return found

    def forget(self, dom: Any) -> None:
        """Drop what is cached about ``dom`` (after it changed, e.g. restarted or moved)."""
        uuid = str(dom.UUIDString())
        self._devices = {k: v for k, v in self._devices.items() if k[0] != uuid}
        self._max_vcpus.pop(uuid, None)

    def read(self, dom: Any) -> DomainReading:
        """Read ``dom`` (raises ``libvirt.libvirtError`` when libvirt fails)."""
        lv = self.lv
        state = int(dom.state()[0])
        info = dom.info()
        at_s = time.monotonic()
        uuid = str(dom.UUIDString())
        managed = state == lv.VIR_DOMAIN_SHUTOFF and bool(dom.hasManagedSaveImage(0))
        readiness = readiness_of(lv, state, managed)
        max_vcpus = self._max_vcpus.get(uuid)
        if max_vcpus is None:
            max_vcpus = int(dom.vcpusFlags(lv.VIR_DOMAIN_VCPU_MAXIMUM))
            self._max_vcpus[uuid] = max_vcpus
        devices = self.devices(dom)
        running = readiness is Readiness.RUNNING_IDLE
        memory_mib = float(info[2]) / KIB_PER_MIB
        cpu_ns = int(info[4]) if running else 0
        used = memory_mib
        disk = rx = tx = 0
        if running:
            used = self._memory_used(dom, memory_mib)
            for dev in devices.disks:
                stats = dom.blockStats(dev)
                disk += int(stats[1]) + int(stats[3])
            for dev in devices.interfaces:
                stats = dom.interfaceStats(dev)
                rx += int(stats[0])
                tx += int(stats[4])
        disk_limit, net_in, net_out = self._limits(dom, devices, running)
        return DomainReading(
            name=str(dom.name()),
            uuid=uuid,
            domain_id=int(dom.ID()),
            state=state,
            readiness=readiness,
            vcpus=int(info[3]),
            max_vcpus=max_vcpus,
            memory_mib=memory_mib,
            max_memory_mib=float(info[1]) / KIB_PER_MIB,
            cpu_time_ns=cpu_ns,
            memory_used_mib=used if running else 0.0,
            disk_bytes=disk,
            net_rx_bytes=rx,
            net_tx_bytes=tx,
            disk_limit_kbs=disk_limit,
            net_in_limit_kbs=net_in,
            net_out_limit_kbs=net_out,
            devices=devices,
            at_s=at_s,
        )

    @staticmethod
    def _memory_used(dom: Any, current_mib: float) -> float:
        stats = dom.memoryStats()
        free = stats.get("usable", stats.get("unused"))
        if "available" in stats and free is not None:
            return max(0.0, float(stats["available"]) - float(free)) / KIB_PER_MIB
        if "rss" in stats:
            return float(stats["rss"]) / KIB_PER_MIB
        return current_mib

    def _limits(
        self, dom: Any, devices: Devices, running: bool
    ) -> tuple[float | None, float | None, float | None]:
        if not running:
            return None, None, None
        flags = self.lv.VIR_DOMAIN_AFFECT_LIVE
        disk: float | None = 0.0
        for dev in devices.disks:
            tune = dom.blockIoTune(dev, flags)
            total = float(tune.get("total_bytes_sec", 0))
            if not total:
                read = float(tune.get("read_bytes_sec", 0))
                write = float(tune.get("write_bytes_sec", 0))
                total = read + write if read and write else 0.0
            if not total:
                disk = None
                break
            disk = (disk or 0.0) + total / BYTES_PER_KB
        net_in: float | None = 0.0
        net_out: float | None = 0.0
        for dev in devices.interfaces:
            params = dom.interfaceParameters(dev, flags)
            inbound = float(params.get("inbound.average", 0))
            outbound = float(params.get("outbound.average", 0))
            net_in = None if net_in is None or not inbound else net_in + inbound
            net_out = None if net_out is None or not outbound else net_out + outbound
        return disk, net_in, net_out
