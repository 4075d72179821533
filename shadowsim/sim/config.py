"""The :class:`ClusterConfig` schema of the simulator (usable with or without Hydra)."""

from __future__ import annotations

from dataclasses import dataclass, field

from shadowsim.errors import ConfigError
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.checks import check_fraction, check_int, check_vector
from shadowsim.sim.cost import PriceConfig
from shadowsim.sim.faults import FaultConfig
from shadowsim.sim.jit import Kernel, use_jit
from shadowsim.sim.kpis import QueueConfig
from shadowsim.sim.migration import MigrationConfig
from shadowsim.sim.placement import InitialAllocationConfig
from shadowsim.sim.pool import PoolConfig
from shadowsim.sim.scaling import ScalingConfig

_KEY = "cluster."


@dataclass(frozen=True)
class ClusterConfig:
    """Everything the simulator needs besides the workload.

    Hosts are identical. Vectors have one entry per resource: vCPU, MiB, KB/s (disk),
    KB/s (network).

    Attributes:
        n_hosts: Number of hosts, or None to size the cluster from the workload (enough
            hosts for the initial allocation, and the initial spares, at
            ``target_utilisation``).
        host_capacity: Physical capacity of one host per resource, or None (the default)
            for the default shape (64 vCPU, 256 GiB, 2,000,000 KB/s disk, 1,250,000 KB/s
            network) with each resource doubled until one host serves the largest
            component's peak demand and can allocate it times ``initial.headroom`` (within
            ``capacity x overcommit``). A given shape is used as is; when some component's
            peak demand exceeds ``capacity x overcommit`` the simulator raises a ConfigError
            naming ``cluster.host_capacity[r]`` and the fix (:mod:`shadowsim.sim.host_shape`).
        overcommit: Allocation limit per host as a multiple of its capacity (1.0 = none).
            Usage is always limited to the physical capacity.
        target_utilisation: Share of ``capacity x overcommit`` hosts are packed to at the
            start, in (0, 1].
        components_per_app: Components (VMs) per application, >= 1.
        component_shares: Share of an application's demand each component carries (sums
            to 1), or None for an equal split.
        initial: The initial allocation rule.
        scaling: Vertical-scaling latencies and bounds.
        pool: The spare pool.
        migration: Live migration.
        prices: Prices of resources and migrations.
        queue: The queueing model behind KPIs.
        faults: Host failures (disabled by default).
        control_every_ticks: Workload ticks per control interval (one advance()), >= 1.
        max_block_ticks: Most ticks accounted in one vectorised block (memory bound).
        seed: Seed of every random draw (failures).
        kernel: Which implementation does the per-tick work: the compiled kernels (JIT,
            needs numba), the numpy reference (NUMPY), or JIT when numba is installed
            (AUTO). Both give the same figures (:mod:`shadowsim.sim.jit`).
    """

    n_hosts: int | None = None
    host_capacity: tuple[float, ...] | None = None
    overcommit: tuple[float, ...] = (1.0, 1.0, 1.0, 1.0)
    target_utilisation: float = 0.7
    components_per_app: int = 2
    component_shares: tuple[float, ...] | None = None
    initial: InitialAllocationConfig = field(default_factory=InitialAllocationConfig)
    scaling: ScalingConfig = field(default_factory=ScalingConfig)
    pool: PoolConfig = field(default_factory=PoolConfig)
    migration: MigrationConfig = field(default_factory=MigrationConfig)
    prices: PriceConfig = field(default_factory=PriceConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    faults: FaultConfig = field(default_factory=FaultConfig)
    control_every_ticks: int = 1
    max_block_ticks: int = 64
    seed: int = 0
    kernel: Kernel = Kernel.AUTO

    def __post_init__(self) -> None:
        fix = object.__setattr__
        if self.n_hosts is not None:
            check_int(_KEY + "n_hosts", self.n_hosts, minimum=1)
        if self.host_capacity is not None:
            fix(
                self,
                "host_capacity",
                check_vector(
                    _KEY + "host_capacity", self.host_capacity, N_RESOURCES, positive=True
                ),
            )
        over = check_vector(_KEY + "overcommit", self.overcommit, N_RESOURCES, positive=True)
        if min(over) < 1.0:
            raise ConfigError(
                _KEY + "overcommit", f"ratios must be >= 1.0 (1.0 = none), got {over}"
            )
        fix(self, "overcommit", over)
        check_fraction(_KEY + "target_utilisation", self.target_utilisation, open_low=True)
        check_int(_KEY + "components_per_app", self.components_per_app, minimum=1)
        if self.component_shares is not None:
            shares = check_vector(
                _KEY + "component_shares",
                self.component_shares,
                self.components_per_app,
                positive=True,
            )
            if abs(sum(shares) - 1.0) > 1e-9:
                raise ConfigError(_KEY + "component_shares", f"must sum to 1, got {sum(shares)}")
            fix(self, "component_shares", shares)
        check_int(_KEY + "control_every_ticks", self.control_every_ticks, minimum=1)
        check_int(_KEY + "max_block_ticks", self.max_block_ticks, minimum=1)
        check_int(_KEY + "seed", self.seed, minimum=0)
        use_jit(self.kernel, _KEY + "kernel")
        for name, kind in (
            ("initial", InitialAllocationConfig),
            ("scaling", ScalingConfig),
            ("pool", PoolConfig),
            ("migration", MigrationConfig),
            ("prices", PriceConfig),
            ("queue", QueueConfig),
            ("faults", FaultConfig),
        ):
            if not isinstance(getattr(self, name), kind):
                raise ConfigError(
                    _KEY + name,
                    f"expected a {kind.__name__}, got {type(getattr(self, name)).__name__}",
                )
