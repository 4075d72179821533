"""Setting one domain's allocation of one resource through libvirt.

* CPU: ``virDomainSetVcpusFlags(n, AFFECT_LIVE)`` (whole vCPUs, up to the domain's maximum;
  the guest must support vCPU hot-plug).
* Memory: ``virDomainSetMemoryFlags(KiB, AFFECT_LIVE)``, the balloon target (up to the
  domain's maximum memory; the guest needs a balloon driver).
* Disk: ``virDomainSetBlockIoTune`` with ``total_bytes_sec`` (read + write) and
  ``total_bytes_sec_max`` both set to the limit (no burst above it), split equally over the
  domain's disks; KB/s -> bytes/s.
* Network: ``virDomainSetInterfaceParameters`` with ``inbound.average`` and
  ``outbound.average`` (KB/s), the total split between the directions in proportion to the
  traffic last measured (at least 10 % each), and equally over the interfaces.

With ``persist`` the persistent definition is changed too, by a second call with
``AFFECT_CONFIG`` (some drivers refuse ``AFFECT_LIVE | AFFECT_CONFIG`` in one call). Every
method raises ``libvirt.libvirtError`` when libvirt refuses; callers report the text.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from shadowsim.live.binding import error_code, error_text
from shadowsim.live.domain_reading import BYTES_PER_KB, KIB_PER_MIB, Devices
from shadowsim.resources import Resource

UNPLUG_TIMEOUT_NOTE = (
    "libvirt stopped waiting for the guest to release the vCPU(s): the guest may still "
    "release them, and libvirt, whose count the backend reports, may not notice (seen with "
    "QEMU 7.2, which announced only the removal of the vCPU's local APIC); check the guest's "
    "online CPUs before relying on the count"
)
"""Added to libvirt's error when a vCPU unplug times out."""
MIN_DIRECTION_SHARE = 0.1
"""Smallest share of a network limit given to either direction."""
_UINT_MAX = 2**32 - 1  # libvirt's bandwidth fields are unsigned int (KB/s)


class DomainTuner:
    """Applies resource targets to domains.

    Args:
        lv: The libvirt module.
        persist: Also change the persistent definition.
    """

    def __init__(self, lv: ModuleType, persist: bool) -> None:
        self.lv = lv
        self.flag_sets: tuple[int, ...] = (lv.VIR_DOMAIN_AFFECT_LIVE,)
        if persist:
            self.flag_sets += (lv.VIR_DOMAIN_AFFECT_CONFIG,)

    def set(
        self,
        dom: Any,
        resource: Resource,
        value: float,
        devices: Devices,
        rx_share: float = 0.5,
    ) -> None:
        """Set ``dom``'s allocation of ``resource`` to ``value`` (vCPU, MiB, KB/s).

        Args:
            dom: The domain.
            resource: Which resource.
            value: New allocation; vCPUs must be whole.
            devices: The domain's disks and interfaces (for disk and network).
            rx_share: Share of network traffic received (sets the inbound/outbound split).
        """
        for flags in self.flag_sets:
            self._set(dom, resource, value, devices, rx_share, flags)

    def _set(
        self,
        dom: Any,
        resource: Resource,
        value: float,
        devices: Devices,
        rx_share: float,
        flags: int,
    ) -> None:
        match resource:
            case Resource.CPU:
                try:
                    dom.setVcpusFlags(round(value), flags)
                except Exception as err:
                    if error_code(err) == self.lv.VIR_ERR_OPERATION_TIMEOUT:
                        err.add_note(UNPLUG_TIMEOUT_NOTE)
                    raise
            case Resource.MEMORY:
                dom.setMemoryFlags(round(value * KIB_PER_MIB), flags)
            case Resource.DISK:
                per_disk = round(value * BYTES_PER_KB / len(devices.disks))
                params = {"total_bytes_sec": per_disk, "total_bytes_sec_max": per_disk}
                for dev in devices.disks:
                    dom.setBlockIoTune(dev, params, flags)
            case Resource.NETWORK:
                share = min(max(rx_share, MIN_DIRECTION_SHARE), 1.0 - MIN_DIRECTION_SHARE)
                per_nic = value / len(devices.interfaces)
                params = {
                    "inbound.average": min(max(1, round(per_nic * share)), _UINT_MAX),
                    "outbound.average": min(max(1, round(per_nic * (1.0 - share))), _UINT_MAX),
                }
                _set_interfaces(dom, devices.interfaces, params, flags)


_LIMIT_FIELDS = ("average", "peak", "burst")


def _set_interfaces(
    dom: Any, interfaces: tuple[str, ...], params: dict[str, int], flags: int
) -> None:
    """Set ``params`` on each interface; when libvirt refuses one, put back the limits
    every interface had before, then raise libvirt's error.

    libvirt applies a limit as several ``tc`` commands and leaves the first ones in place
    when a later one fails (seen with a host kernel without the ``sfq`` qdisc or the
    ``police`` action: a root ``htb`` qdisc stayed and throttled the guest while libvirt
    reported no limit). Setting the earlier values again makes libvirt clear what it left.
    The error carries a note of what was put back (or why that failed too).
    """
    before = [dom.interfaceParameters(dev, flags) for dev in interfaces]
    for i, dev in enumerate(interfaces):
        try:
            dom.setInterfaceParameters(dev, params, flags)
        except Exception as err:
            failed = []
            for j in range(i + 1):
                old = {
                    f"{way}.{field}": int(before[j].get(f"{way}.{field}", 0))
                    for way in ("inbound", "outbound")
                    for field in _LIMIT_FIELDS
                }
                try:
                    dom.setInterfaceParameters(interfaces[j], old, flags)
                except Exception as undo_err:
                    failed.append(f"{interfaces[j]}: {error_text(undo_err)}")
            if failed:
                err.add_note(
                    "putting back the earlier limits failed too, so the interface's traffic "
                    f"shaping may not be what libvirt reports ({'; '.join(failed)})"
                )
            else:
                err.add_note("the earlier limits were put back")
            raise
