"""The :class:`LiveConfig` schema of the libvirt adapter (works with and without Hydra).

Values are given in the project's units: vCPU, MiB, KB/s (1 KB = 1024 bytes), s. Nested
configs may be instances or mappings of their fields (as YAML gives them); enums may be
given by name. Every error names the dotted key under ``live.``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum

from shadowsim.engine.config_checks import (
    check_bool,
    check_enum,
    check_floats,
    check_int,
    check_number,
    check_sub_config,
    set_value,
)
from shadowsim.errors import ConfigError
from shadowsim.readiness import N_READINESS
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.cost import PriceConfig
from shadowsim.sim.kpis import QueueConfig
from shadowsim.workloads.workload import Priority

_KEY = "live."


class ComponentSource(Enum):
    """Where the adapter learns which libvirt domain runs which application component."""

    CONFIG = "config"
    """``live.apps[i].domains`` lists the domain names of each application, in order."""
    METADATA = "metadata"
    """Each component domain carries ``<component app="ID" index="N"/>`` in the namespace
    :data:`~shadowsim.live.components.COMPONENT_NS` (``virsh metadata``)."""
    NAMING = "naming"
    """Domain names match ``live.name_pattern``, a regular expression with the named groups
    ``app`` and ``index`` (e.g. ``web-0``, ``web-1``)."""


class VcpuRounding(Enum):
    """How a fractional vCPU target becomes a whole number of vCPUs (libvirt counts them)."""

    CEIL = "ceil"
    """Round up: never less than asked (the default: protects the SLA)."""
    NEAREST = "nearest"
    """Round to the nearest whole vCPU (half up)."""


class ClockKind(Enum):
    """The clock :meth:`~shadowsim.live.backend.LibvirtBackend.advance` waits on."""

    WALL = "wall"
    """Real time: ``advance`` sleeps until the next control tick."""
    MANUAL = "manual"
    """A clock that jumps to the next tick at once (tests, dry runs, replays)."""


@dataclass(frozen=True)
class HostConfig:
    """One hypervisor host: a libvirt connection.

    Attributes:
        uri: libvirt connection URI, e.g. ``qemu:///system``, ``qemu+ssh://host2/system``,
            ``test:///default`` or ``test:///abs/path/node.xml`` (libvirt's test driver).
        name: Label used in reports (default: the URI).
        capacity: Capacity per resource (vCPU, MiB, KB/s disk, KB/s network), or None to
            read vCPU and memory from the host (``virNodeGetInfo``) and take the I/O
            capacities from ``live.io_capacity``.
    """

    uri: str
    name: str = ""
    capacity: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.uri, str) or not self.uri.strip():
            raise ConfigError(
                "uri", f"must be a libvirt URI such as qemu:///system, got {self.uri!r}"
            )
        if not isinstance(self.name, str):
            raise ConfigError("name", f"must be a string, got {self.name!r}")
        if not self.name:
            set_value(self, "name", self.uri)
        if self.capacity is not None:
            set_value(
                self,
                "capacity",
                check_floats("capacity", self.capacity, length=N_RESOURCES, low=0.0, low_open=True),
            )


@dataclass(frozen=True)
class AppConfig:
    """One application: its components' domains, priority and SLA.

    Attributes:
        id: Application id (as in the workload and the forecaster).
        domains: Names of its component domains, in component order (source CONFIG);
            empty for the other sources (they find the domains).
        priority: Business priority class (name or member of
            :class:`~shadowsim.workloads.workload.Priority`).
        sla_response_s: Response-time target, s (> 0).
        sla_max_error_rate: Highest tolerated error rate, in [0, 1].
        shares: Share of the application's demand each component carries (sums to 1), or
            None for an equal split.
        critical: Per component, True when it must never be moved to a spare; None for the
            simulator's rule (the first component, and every component of a HIGH app).
    """

    id: str
    domains: tuple[str, ...] = ()
    priority: Priority = Priority.MEDIUM
    sla_response_s: float = 0.5
    sla_max_error_rate: float = 0.01
    shares: tuple[float, ...] | None = None
    critical: tuple[bool, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise ConfigError("id", f"must be a non-empty application id, got {self.id!r}")
        domains = self.domains
        if isinstance(domains, str) or not all(isinstance(d, str) and d for d in domains):
            raise ConfigError("domains", f"must be a list of domain names, got {domains!r}")
        set_value(self, "domains", tuple(domains))
        set_value(self, "priority", check_enum("priority", Priority, self.priority))
        set_value(
            self,
            "sla_response_s",
            check_number("sla_response_s", self.sla_response_s, low=0.0, low_open=True),
        )
        set_value(
            self,
            "sla_max_error_rate",
            check_number("sla_max_error_rate", self.sla_max_error_rate, low=0.0, high=1.0),
        )
        if self.shares is not None:
            shares = check_floats("shares", self.shares, low=0.0, low_open=True)
            if abs(sum(shares) - 1.0) > 1e-9:
                raise ConfigError("shares", f"must sum to 1, got {shares} (sum {sum(shares)})")
            set_value(self, "shares", shares)
        if self.critical is not None:
            flags = tuple(check_bool(f"critical[{i}]", v) for i, v in enumerate(self.critical))
            set_value(self, "critical", flags)


@dataclass(frozen=True)
class LivePoolConfig:
    """The spare pool on the hosts: spare domains defined from a template.

    Attributes:
        template: Path of a libvirt domain XML file spares are defined from; its ``<name>``
            and ``<uuid>`` are replaced, MAC addresses and device target names dropped (so
            libvirt generates unique ones), and the text ``{{name}}`` is replaced by the
            spare's name (e.g. in a disk image path). None: spares cannot be provisioned
            (pool targets above what exists are refused).
        name_prefix: Spare domains are named ``<prefix>h<host>-<serial>``; existing domains
            with this prefix that are not components are adopted as spares at start.
        initial_target: Target count per readiness state (running-idle, paused,
            hibernated, stopped) at start; the pool is reconciled toward it at once.
        holding_cost: Cost of holding a spare per state, as a fraction of the price of a
            running VM of its size.
        max_per_state: Highest target count accepted per state.
        release_shifted: After a shift to a spare, shut the component's old domain down
            (graceful ACPI shutdown), as the simulator releases it. False leaves it running.
    """

    template: str | None = None
    name_prefix: str = "shadowsim-spare-"
    initial_target: tuple[int, ...] = (0, 0, 0, 0)
    holding_cost: tuple[float, ...] = (1.0, 0.3, 0.05, 0.02)
    max_per_state: int = 64
    release_shifted: bool = True

    def __post_init__(self) -> None:
        if self.template is not None and (not isinstance(self.template, str) or not self.template):
            raise ConfigError("template", f"must be a file path or null, got {self.template!r}")
        prefix = self.name_prefix
        if not isinstance(prefix, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", prefix):
            raise ConfigError(
                "name_prefix", f"must be letters, digits, '_', '.' or '-', got {self.name_prefix!r}"
            )
        max_per_state = check_int("max_per_state", self.max_per_state, low=0)
        set_value(self, "max_per_state", max_per_state)
        target = self.initial_target
        if isinstance(target, str) or len(target) != N_READINESS:
            raise ConfigError("initial_target", f"needs {N_READINESS} counts, got {target!r}")
        counts = tuple(
            check_int(f"initial_target[{i}]", v, low=0, high=max_per_state)
            for i, v in enumerate(target)
        )
        set_value(self, "initial_target", counts)
        set_value(
            self,
            "holding_cost",
            check_floats("holding_cost", self.holding_cost, length=N_READINESS, low=0.0),
        )
        set_value(self, "release_shifted", check_bool("release_shifted", self.release_shifted))


@dataclass(frozen=True)
class LiveConfig:
    """Settings of :class:`~shadowsim.live.backend.LibvirtBackend`.

    Attributes:
        hosts: The hypervisor hosts, one libvirt connection each (host index = position).
        interval_s: Control interval: time between two ticks, s (> 0).
        clock: What ``advance`` waits on (WALL in production, MANUAL in tests).
        max_ticks: Ticks after which the backend reports ``done`` (None: never).
        components: Where component domains are found (:class:`ComponentSource`).
        apps: Applications (ids, priorities, SLAs; domain names for source CONFIG).
        name_pattern: Regular expression with groups ``app`` and ``index`` (source NAMING).
        vcpu_rounding: How fractional vCPU targets are rounded.
        min_allocation: Smallest allocation of a component domain per resource.
        overcommit: Allocation limit of a host as a multiple of its capacity, per resource
            (>= 1); vCPU and memory scale-ups, migrations, shifts and spares beyond it are
            clamped or refused (disk and network limits are caps on shared devices and are
            not checked against it).
        io_capacity: Disk and network capacity of a host, KB/s, when its ``capacity`` is
            not given (libvirt does not know them).
        persist: Also write scaling changes to the persistent domain definition (so they
            survive a restart); False changes the running domain only.
        pool: The spare pool.
        prices: Prices for the cost accounting (as in the simulator).
        queue: The queueing model behind the KPI estimates (as in the simulator).
        start_time_s: Unix time of backend time 0, s, or None for the time of start.
    """

    hosts: tuple[HostConfig, ...] = (HostConfig("qemu:///system"),)
    interval_s: float = 300.0
    clock: ClockKind = ClockKind.WALL
    max_ticks: int | None = None
    components: ComponentSource = ComponentSource.CONFIG
    apps: tuple[AppConfig, ...] = ()
    name_pattern: str = r"^(?P<app>.+)-(?P<index>\d+)$"
    vcpu_rounding: VcpuRounding = VcpuRounding.CEIL
    min_allocation: tuple[float, ...] = (1.0, 128.0, 100.0, 100.0)
    overcommit: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    io_capacity: tuple[float, ...] = (2_000_000.0, 1_250_000.0)
    persist: bool = False
    pool: LivePoolConfig = field(default_factory=LivePoolConfig)
    prices: PriceConfig = field(default_factory=PriceConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    start_time_s: float | None = None

    def __post_init__(self) -> None:
        hosts = self.hosts
        if isinstance(hosts, str | HostConfig) or not hosts:
            raise ConfigError(_KEY + "hosts", f"must be a non-empty list of hosts, got {hosts!r}")
        set_value(
            self,
            "hosts",
            tuple(
                check_sub_config(f"{_KEY}hosts[{i}]", HostConfig, h) for i, h in enumerate(hosts)
            ),
        )
        uris = [h.uri for h in self.hosts]
        if len(set(uris)) != len(uris):
            raise ConfigError(_KEY + "hosts", f"lists a URI twice: {uris}")
        set_value(
            self,
            "interval_s",
            check_number(_KEY + "interval_s", self.interval_s, low=0.0, low_open=True),
        )
        set_value(self, "clock", check_enum(_KEY + "clock", ClockKind, self.clock))
        if self.max_ticks is not None:
            set_value(self, "max_ticks", check_int(_KEY + "max_ticks", self.max_ticks, low=1))
        set_value(
            self, "components", check_enum(_KEY + "components", ComponentSource, self.components)
        )
        apps = tuple(
            check_sub_config(f"{_KEY}apps[{i}]", AppConfig, a) for i, a in enumerate(self.apps)
        )
        set_value(self, "apps", apps)
        self._check_apps()
        try:
            pattern = re.compile(self.name_pattern)
        except (re.error, TypeError) as err:
            raise ConfigError(_KEY + "name_pattern", f"is not a regular expression: {err}") from err
        if not {"app", "index"} <= set(pattern.groupindex):
            raise ConfigError(
                _KEY + "name_pattern", "needs the named groups (?P<app>...) and (?P<index>\\d+)"
            )
        set_value(
            self,
            "vcpu_rounding",
            check_enum(_KEY + "vcpu_rounding", VcpuRounding, self.vcpu_rounding),
        )
        set_value(
            self,
            "min_allocation",
            check_floats(
                _KEY + "min_allocation",
                self.min_allocation,
                length=N_RESOURCES,
                low=0.0,
                low_open=True,
            ),
        )
        set_value(
            self,
            "overcommit",
            check_floats(_KEY + "overcommit", self.overcommit, length=N_RESOURCES, low=1.0),
        )
        set_value(
            self,
            "io_capacity",
            check_floats(_KEY + "io_capacity", self.io_capacity, length=2, low=0.0, low_open=True),
        )
        set_value(self, "persist", check_bool(_KEY + "persist", self.persist))
        subs = (("pool", LivePoolConfig), ("prices", PriceConfig), ("queue", QueueConfig))
        for name, cls in subs:
            set_value(self, name, check_sub_config(_KEY + name, cls, getattr(self, name)))
        if self.start_time_s is not None:
            set_value(self, "start_time_s", check_number(_KEY + "start_time_s", self.start_time_s))

    def _check_apps(self) -> None:
        ids = [a.id for a in self.apps]
        if len(set(ids)) != len(ids):
            raise ConfigError(_KEY + "apps", f"lists an application id twice: {ids}")
        for i, app in enumerate(self.apps):
            key = f"{_KEY}apps[{i}]"
            if self.components is ComponentSource.CONFIG:
                if not app.domains:
                    raise ConfigError(
                        key + ".domains",
                        f"application {app.id!r} lists no domains; with live.components=CONFIG "
                        "every application names its component domains",
                    )
                n = len(app.domains)
                if app.shares is not None and len(app.shares) != n:
                    raise ConfigError(
                        key + ".shares", f"has {len(app.shares)} entries for {n} domains"
                    )
                if app.critical is not None and len(app.critical) != n:
                    raise ConfigError(
                        key + ".critical", f"has {len(app.critical)} entries for {n} domains"
                    )
            elif app.domains:
                raise ConfigError(
                    key + ".domains",
                    f"must be empty with live.components={self.components.name}: the domains "
                    "are found on the hosts",
                )
        if self.components is ComponentSource.CONFIG and not self.apps:
            raise ConfigError(
                _KEY + "apps",
                "is empty; with live.components=CONFIG list the applications and their domains "
                "(or use METADATA / NAMING discovery)",
            )
        names = [d for a in self.apps for d in a.domains]
        if len(set(names)) != len(names):
            raise ConfigError(_KEY + "apps", f"names a domain twice: {sorted(names)}")
