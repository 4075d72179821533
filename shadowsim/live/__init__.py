"""The live adapter: :class:`LibvirtBackend` runs policies against real hypervisors.

It implements the same :class:`~shadowsim.backend.ClusterBackend` protocol as the simulator,
so the allocation engine, the one observation builder and every policy run unchanged.
libvirt-python loads only when a backend is built (``pip install shadowsim[live]``; see
:mod:`shadowsim.live.binding`). Production uses ``qemu:///system`` (or ``qemu+ssh://``);
the demo and most tests use libvirt's test driver (``test:///default`` or
``test:///path/node.xml``), real libvirt code with a simulated hypervisor, and
``tests/live/test_live_qemu.py`` real QEMU guests (KVM or TCG) on two libvirt daemons.

Mapping of the protocol onto libvirt
------------------------------------
* **Hosts** are libvirt connections, one URI per host (``live.hosts``); capacity from
  ``virNodeGetInfo`` (vCPU, MiB) or the config; disk/network capacity from the config.
* **Components** are libvirt domains: from ``live.apps[i].domains``, from a metadata
  element on each domain, or from a naming convention (:mod:`shadowsim.live.components`).
* **observe / advance**: ``advance`` waits for the next tick (``live.interval_s``, on a
  wall or manual clock) and reads every component (:mod:`shadowsim.live.domain_reading`):
  usage = deltas over the interval of CPU time -> vCPU, disk and interface byte counters ->
  KB/s, and memory stats -> MiB (:mod:`shadowsim.live.usage_meter`); ``demand`` is the
  measured usage (demand beyond an allocation is not observable on a hypervisor).
  Allocation = current vCPUs, memory, and configured block I/O tune / interface bandwidth
  (unlimited = the host's capacity). Actions land when ``apply`` returns, but for memory:
  a balloon target the guest reaches in its own time, shown as ``pending_allocation``
  until it does (:mod:`shadowsim.live.balloon`).
* **ScaleAction / ScaleAllAction** -> ``setVcpusFlags`` / ``setMemoryFlags`` (live, within
  the domain's maxima, whole vCPUs), ``setBlockIoTune`` and ``setInterfaceParameters``
  (:mod:`shadowsim.live.scaling`, :mod:`shadowsim.live.tuning`); per-entry outcomes, with
  libvirt's error text when it refuses.
* **MigrateAction** -> ``virDomainMigrate`` to the destination host's connection, rejected
  with libvirt's reason when the driver cannot migrate (:mod:`shadowsim.live.moves`).
* **Spare pool**: spare domains in :class:`~shadowsim.readiness.Readiness` states mapped to
  libvirt states: RUNNING_IDLE = running, PAUSED = paused, HIBERNATED = managed save,
  STOPPED = shut off. **PoolTargetAction** converts, provisions (``defineXML`` from the
  template XML) and releases (``undefine``) spares (:mod:`shadowsim.live.spare_pool`);
  **ShiftToSpareAction** activates a spare (resume / restore / create) and records the
  component on it.
* **KPIs**: response time and errors are not observable from the hypervisor; they are
  estimated with the simulator's queueing model on the measured usage
  (:mod:`shadowsim.live.kpi_estimate`) and flagged by
  ``LibvirtBackend.kpis_are_estimates``. Costs use the simulator's price model.
"""

from shadowsim.live.backend import LibvirtBackend
from shadowsim.live.binding import LibvirtUnavailableError, libvirt_available, load_libvirt
from shadowsim.live.clock import Clock, ManualClock, WallClock
from shadowsim.live.config import (
    AppConfig,
    ClockKind,
    ComponentSource,
    HostConfig,
    LiveConfig,
    LivePoolConfig,
    VcpuRounding,
)

__all__ = [
    "AppConfig",
    "Clock",
    "ClockKind",
    "ComponentSource",
    "HostConfig",
    "LibvirtBackend",
    "LibvirtUnavailableError",
    "LiveConfig",
    "LivePoolConfig",
    "ManualClock",
    "VcpuRounding",
    "WallClock",
    "libvirt_available",
    "load_libvirt",
]
