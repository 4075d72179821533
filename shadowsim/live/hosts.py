"""The hypervisor hosts: one libvirt connection per host, and their capacities.

Host ``h`` is ``live.hosts[h]``. Its capacity is ``live.hosts[h].capacity`` when given,
otherwise vCPU = the host's active CPUs and memory = its RAM in MiB (``virNodeGetInfo``), and
disk / network = ``live.io_capacity`` (libvirt does not know I/O capacities).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.errors import BackendError
from shadowsim.live.binding import error_code, error_text, is_libvirt_error
from shadowsim.live.config import LiveConfig
from shadowsim.resources import N_RESOURCES, Resource


class HostSet:
    """Open connections to every configured host.

    Args:
        lv: The libvirt module.
        config: The adapter's settings (hosts and I/O capacities).

    Raises:
        BackendError: A connection cannot be opened (the message names the URI and
            libvirt's reason).
    """

    def __init__(self, lv: ModuleType, config: LiveConfig) -> None:
        self.lv = lv
        self.names = tuple(h.name for h in config.hosts)
        self.uris = tuple(h.uri for h in config.hosts)
        self.conns: list[Any] = []
        try:
            for i, host in enumerate(config.hosts):
                self.conns.append(self._open(i, host.uri))
            self.capacity = self._capacity(config)
        except BaseException:
            self.close()
            raise
        self.capacity.setflags(write=False)

    @property
    def n_hosts(self) -> int:
        """Number of hosts."""
        return len(self.conns)

    def _open(self, index: int, uri: str) -> Any:
        try:
            return self.lv.open(uri)
        except self.lv.libvirtError as err:
            raise BackendError(
                f"live.hosts[{index}]: cannot open libvirt connection {uri!r}: {error_text(err)}. "
                "Check the URI, that libvirtd (or virtqemud) runs on the host, and that this "
                "user may connect (e.g. member of the 'libvirt' group, or use qemu+ssh://)"
            ) from err

    def _capacity(self, config: LiveConfig) -> NDArray[np.float64]:
        cap = np.zeros((self.n_hosts, N_RESOURCES))
        for h, (host, conn) in enumerate(zip(config.hosts, self.conns, strict=True)):
            if host.capacity is not None:
                cap[h] = host.capacity
                continue
            try:
                info = conn.getInfo()
            except self.lv.libvirtError as err:
                raise BackendError(
                    f"live.hosts[{h}] ({host.uri}): cannot read the host's CPUs and memory: "
                    f"{error_text(err)}; give live.hosts[{h}].capacity instead"
                ) from err
            cap[h, Resource.CPU] = float(info[2])
            cap[h, Resource.MEMORY] = float(info[1])
            cap[h, Resource.DISK] = config.io_capacity[0]
            cap[h, Resource.NETWORK] = config.io_capacity[1]
        return cap

    def lookup(self, host: int, name: str) -> Any | None:
        """The domain called ``name`` on ``host``, or None when there is none."""
        try:
            return self.conns[host].lookupByName(name)
        except self.lv.libvirtError as err:
            if error_code(err) == self.lv.VIR_ERR_NO_DOMAIN:
                return None
            raise BackendError(
                f"host {self.names[host]}: looking up domain {name!r} failed: {error_text(err)}"
            ) from err

    def domains(self, host: int) -> list[Any]:
        """Every domain defined on ``host`` (running or not)."""
        try:
            return list(self.conns[host].listAllDomains(0))
        except self.lv.libvirtError as err:
            raise BackendError(
                f"host {self.names[host]}: listing domains failed: {error_text(err)}"
            ) from err

    def domain_names(self) -> list[str]:
        """Names of every domain on every host (for "did you mean" messages)."""
        return sorted({str(d.name()) for h in range(self.n_hosts) for d in self.domains(h)})

    def close(self) -> None:
        """Close every connection (errors on close are ignored: nothing is left to do)."""
        for conn in self.conns:
            try:
                conn.close()
            except Exception as err:  # closing a dead connection must not mask the cause
                if not is_libvirt_error(err):
                    raise
        self.conns = []
