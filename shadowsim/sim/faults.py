"""Host failures: a seeded Poisson process of crashes, each followed by a repair.

Each up host fails independently at ``rate_per_host_h`` per hour, so the time to the next
failure anywhere is exponential with rate ``rate_per_host_h * hosts up``, and the failed
host is drawn uniformly among the up hosts. A failed host serves nothing until it is
repaired ``repair_s`` later: its components get no service (their demand is throttled up
to the queue buffer, then dropped), its spares are lost (the pool provisions replacements
elsewhere), migrations and shifts to or from it are aborted, and nothing new is placed on
it. A component on a failed host can be shifted to a spare (a cold restart); live
migration away from it is refused. Failures are disabled by default.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import simpy
from numpy.typing import NDArray

from shadowsim.errors import ConfigError
from shadowsim.sim.checks import check_non_negative, check_positive
from shadowsim.sim.moves import EventKind, SimEvent
from shadowsim.sim.outages import Outage

if TYPE_CHECKING:
    from shadowsim.sim.simulator import Simulator

_S_PER_H = 3600.0


@dataclass(frozen=True)
class FaultConfig:
    """Host-failure parameters.

    Attributes:
        enabled: True to inject host failures.
        rate_per_host_h: Failures per host per hour (>= 0).
        repair_s: Time to repair a failed host, s (> 0).
    """

    enabled: bool = False
    rate_per_host_h: float = 1e-3
    repair_s: float = 3600.0

    def __post_init__(self) -> None:
        if not isinstance(self.enabled, bool):
            raise ConfigError(
                "cluster.faults.enabled", f"expected true/false, got {self.enabled!r}"
            )
        check_non_negative("cluster.faults.rate_per_host_h", self.rate_per_host_h)
        check_positive("cluster.faults.repair_s", self.repair_s)


class FaultSampler:
    """Draws the failure times and hosts from a seeded generator.

    Args:
        config: Failure parameters.
        rng: The simulator's random generator (its draws are part of the seeded run).
    """

    def __init__(self, config: FaultConfig, rng: np.random.Generator) -> None:
        self.config = config
        self.rng = rng

    def next_delay_s(self, n_up: int) -> float:
        """Time to the next failure with ``n_up`` hosts up, s (inf when none can fail)."""
        rate_s = self.config.rate_per_host_h * n_up / _S_PER_H
        if rate_s <= 0:
            return float("inf")
        return float(self.rng.exponential(1.0 / rate_s))

    def pick_host(self, host_up: NDArray[np.bool_]) -> int:
        """A uniformly drawn up host."""
        up = np.flatnonzero(host_up)
        return int(up[self.rng.integers(up.size)])


class FaultProcess:
    """The SimPy process that fails and repairs the hosts of a :class:`Simulator`.

    Args:
        sim: The simulator whose hosts fail.
        sampler: Draws the failure times and hosts.
    """

    def __init__(self, sim: Simulator, sampler: FaultSampler) -> None:
        self.sim = sim
        self.sampler = sampler

    def run(self) -> simpy.events.ProcessGenerator:
        """Fail a host after each drawn delay; schedule its repair."""
        sim = self.sim
        repair_s = self.sampler.config.repair_s
        while True:
            n_up = int(sim.host_up.sum())
            if n_up == 0:
                yield sim.env.timeout(repair_s)
                continue
            yield sim.env.timeout(self.sampler.next_delay_s(n_up))
            host = self.sampler.pick_host(sim.host_up)
            sim.sync_now()
            sim.host_up[host] = False
            sim.pool.fail_host(host)
            sim.moves.abort_touching(host)
            now = sim.env.now
            sim.outages.add(Outage(now, now + repair_s, 0.0, host=host))
            sim.log(SimEvent(now, EventKind.HOST_FAILED, host=host))
            sim.at(repair_s, partial(self._repair, host))
            sim.reconcile_pool()

    def _repair(self, host: int) -> None:
        sim = self.sim
        sim.sync_now()
        sim.host_up[host] = True
        sim.log(SimEvent(sim.env.now, EventKind.HOST_REPAIRED, host=host))
        sim.reconcile_if_short()
