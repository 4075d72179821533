"""Pre-copy live migration: how long it takes, its downtime and how much it copies.

Model (one VM of ``M`` MiB of allocated memory, link bandwidth ``B`` MiB/s, dirty rate
``D`` MiB/s):

* round 0 copies all ``M`` MiB in ``M / B`` s; each next round copies what was dirtied
  during the previous one, ``min(D * t_prev, M)`` MiB;
* rounds continue while more than ``stop_copy_mib`` MiB remain and fewer than
  ``max_rounds`` rounds were made (when ``D >= B`` the rounds never shrink and the
  migration stops at ``max_rounds``);
* stop-and-copy: the VM is paused, the remainder is copied and the VM resumes on the
  destination after ``switchover_s``; downtime = ``remaining / B + switchover_s``.

While the pre-copy rounds run the component is served at ``degradation`` times its
allocation of the compressible resources (the copy competes for CPU and network); during
the downtime it is not served at all. The destination host reserves the component's
allocation from the start; the source keeps it until the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from shadowsim.sim.checks import check_fraction, check_int, check_non_negative, check_positive


@dataclass(frozen=True)
class MigrationConfig:
    """Live-migration parameters.

    Attributes:
        bandwidth_mib_s: Migration link bandwidth, MiB/s (> 0).
        dirty_rate_mib_s: Rate at which a running VM dirties memory, MiB/s (>= 0).
        stop_copy_mib: Remaining dirty memory at which pre-copy stops, MiB (>= 0).
        max_rounds: Most pre-copy rounds (>= 1).
        switchover_s: Fixed pause to resume on the destination, s (>= 0).
        degradation: Service factor during pre-copy, in [0, 1] (1 = no degradation).
    """

    bandwidth_mib_s: float = 1000.0
    dirty_rate_mib_s: float = 100.0
    stop_copy_mib: float = 64.0
    max_rounds: int = 30
    switchover_s: float = 0.2
    degradation: float = 0.8

    def __post_init__(self) -> None:
        key = "cluster.migration."
        check_positive(key + "bandwidth_mib_s", self.bandwidth_mib_s)
        check_non_negative(key + "dirty_rate_mib_s", self.dirty_rate_mib_s)
        check_non_negative(key + "stop_copy_mib", self.stop_copy_mib)
        check_int(key + "max_rounds", self.max_rounds, minimum=1)
        check_non_negative(key + "switchover_s", self.switchover_s)
        check_fraction(key + "degradation", self.degradation)


@dataclass(frozen=True)
class MigrationPlan:
    """Timing of one live migration.

    Attributes:
        precopy_s: Duration of the pre-copy rounds (degraded service), s.
        downtime_s: Stop-and-copy pause plus switchover (no service), s.
        copied_mib: Total memory sent over the link, MiB.
        rounds: Pre-copy rounds made.
    """

    precopy_s: float
    downtime_s: float
    copied_mib: float
    rounds: int

    @property
    def duration_s(self) -> float:
        """Start to finish, s."""
        return self.precopy_s + self.downtime_s


def plan_migration(memory_mib: float, config: MigrationConfig) -> MigrationPlan:
    """Plan the pre-copy migration of a VM with ``memory_mib`` MiB of memory.

    Args:
        memory_mib: Memory to move, MiB (>= 0).
        config: Link and VM parameters.

    Returns:
        Its timing and the volume copied.
    """
    bandwidth = config.bandwidth_mib_s
    remaining = max(memory_mib, 0.0)
    precopy = 0.0
    copied = 0.0
    rounds = 0
    while remaining > config.stop_copy_mib and rounds < config.max_rounds:
        round_s = remaining / bandwidth
        precopy += round_s
        copied += remaining
        rounds += 1
        remaining = min(config.dirty_rate_mib_s * round_s, memory_mib)
    downtime = remaining / bandwidth + config.switchover_s
    return MigrationPlan(
        precopy_s=precopy, downtime_s=downtime, copied_mib=copied + remaining, rounds=rounds
    )
