"""The spare VM pool: warm-standby VMs in several readiness states.

* The pool has a target count per :class:`~shadowsim.readiness.Readiness` state. Whenever
  the target changes, a spare is consumed or lost (host failure), the pool reconciles:
  missing spares start provisioning (ready ``provision_s[state]`` later); surplus ready
  spares are released at once (from the fullest hosts first), then surplus provisioning
  ones are cancelled (newest first).
* A spare sits on a host and holds ``held_fraction[state] * spare_size`` of its capacity
  (by default a running-idle spare holds its vCPU and memory, a paused one its memory, a
  hibernated or stopped one nothing), from the start of its provisioning. Spares are
  placed worst-fit: on the up host with the largest smallest relative free room after
  placing, ties going to the host with fewer spares, then the lower index. A spare that
  fits nowhere is not created; the reconciliation reports how many.
* Spares do no work: they hold capacity and cost ``holding_cost[state]`` times a running
  VM's price of ``spare_size``, but use nothing.
* Shifting a component onto a spare takes the readiest state first (running-idle, then
  paused, hibernated, stopped) among spares on up hosts with room for the component's
  allocation (the spare's held capacity is freed for it), the host with the most room
  left winning. It takes ``activation_s[state]`` (the component keeps running on its old
  VM meanwhile), then a ``handover_s`` pause, after which it runs on the spare's host.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from shadowsim.action_handling import invalid_pool_targets as pool_target_problem
from shadowsim.errors import ConfigError
from shadowsim.readiness import N_READINESS
from shadowsim.resources import N_RESOURCES
from shadowsim.sim.checks import (
    check_int,
    check_int_vector,
    check_non_negative,
    check_vector,
)

_KEY = "cluster.pool."


@dataclass(frozen=True)
class PoolConfig:
    """Spare-pool parameters, one entry per readiness state (running-idle, paused,
    hibernated, stopped).

    Attributes:
        activation_s: Time to make a spare of each state ready to take a component, s.
        provision_s: Time to create a spare in each state, s.
        holding_cost: Cost of holding a spare of each state, as a fraction of the price of
            a running VM of ``spare_size``.
        held_fraction: Per state, the fraction of ``spare_size`` of each resource (vCPU,
            MiB, KB/s, KB/s) a spare holds on its host.
        spare_size: Size of a spare VM (vCPU, MiB, KB/s, KB/s), or None for the median
            initial allocation of the components.
        initial_target: Target count per state at the start.
        start_ready: True to start with the initial target already provisioned.
        handover_s: Pause while a component switches over to an activated spare, s.
        max_per_state: Highest target count accepted per state.
    """

    activation_s: tuple[float, ...] = (1.0, 3.0, 20.0, 60.0)
    provision_s: tuple[float, ...] = (90.0, 95.0, 120.0, 45.0)
    holding_cost: tuple[float, ...] = (1.0, 0.3, 0.05, 0.02)
    held_fraction: tuple[tuple[float, ...], ...] = (
        (1.0, 1.0, 0.0, 0.0),
        (0.0, 1.0, 0.0, 0.0),
        (0.0, 0.0, 0.0, 0.0),
        (0.0, 0.0, 0.0, 0.0),
    )
    spare_size: tuple[float, ...] | None = None
    initial_target: tuple[int, ...] = (1, 1, 1, 1)
    start_ready: bool = True
    handover_s: float = 1.0
    max_per_state: int = 10_000

    def __post_init__(self) -> None:
        fix = object.__setattr__
        fix(
            self,
            "activation_s",
            check_vector(_KEY + "activation_s", self.activation_s, N_READINESS),
        )
        fix(self, "provision_s", check_vector(_KEY + "provision_s", self.provision_s, N_READINESS))
        fix(
            self,
            "holding_cost",
            check_vector(_KEY + "holding_cost", self.holding_cost, N_READINESS),
        )
        held = self.held_fraction
        if isinstance(held, str) or len(held) != N_READINESS:
            raise ConfigError(
                _KEY + "held_fraction", f"expected {N_READINESS} rows (one per state), got {held!r}"
            )
        rows = tuple(
            check_vector(f"{_KEY}held_fraction[{i}]", row, N_RESOURCES)
            for i, row in enumerate(held)
        )
        if any(v > 1 for row in rows for v in row):
            raise ConfigError(_KEY + "held_fraction", f"fractions must be in [0, 1], got {rows}")
        fix(self, "held_fraction", rows)
        if self.spare_size is not None:
            size = check_vector(_KEY + "spare_size", self.spare_size, N_RESOURCES, positive=True)
            fix(self, "spare_size", size)
        check_int(_KEY + "max_per_state", self.max_per_state, minimum=0)
        target = check_int_vector(_KEY + "initial_target", self.initial_target, N_READINESS)
        if max(target) > self.max_per_state:
            raise ConfigError(
                _KEY + "initial_target", f"{target} exceeds max_per_state={self.max_per_state}"
            )
        fix(self, "initial_target", target)
        check_non_negative(_KEY + "handover_s", self.handover_s)
        if not isinstance(self.start_ready, bool):
            raise ConfigError(
                _KEY + "start_ready", f"expected true/false, got {self.start_ready!r}"
            )


def invalid_pool_targets(targets: Sequence[object], config: PoolConfig) -> str:
    """Why ``targets`` cannot be the pool's target (one integer count in ``[0,
    max_per_state]`` per readiness state), or "" when they can."""
    return pool_target_problem(
        targets, len(config.initial_target), config.max_per_state, _KEY + "max_per_state"
    )


@dataclass(eq=False)
class Provision:
    """A batch of spares being created in one state.

    Attributes:
        state: Readiness state index.
        hosts: Host of each spare in the batch.
        ready_at_s: When they become ready, s.
    """

    state: int
    hosts: list[int] = field(default_factory=list)
    ready_at_s: float = 0.0


@dataclass(frozen=True)
class Reconciliation:
    """What a reconciliation did.

    Attributes:
        started: New provisioning batches (the caller schedules their completion).
        released: Spares released or cancelled.
        unplaced: Spares wanted but not placed for lack of room.
    """

    started: list[Provision]
    released: int
    unplaced: int


class SparePool:
    """Counts of spares per host and state, converging to a target.

    Args:
        config: Pool parameters.
        n_hosts: Number of hosts.
        spare_size: ``(4,)`` size of a spare VM.
    """

    def __init__(self, config: PoolConfig, n_hosts: int, spare_size: NDArray[np.float64]) -> None:
        self.config = config
        self.spare_size = spare_size
        self.ready = np.zeros((n_hosts, N_READINESS), dtype=np.int64)
        self.provisioning: list[Provision] = []
        self.target = np.asarray(config.initial_target, dtype=np.int64)
        self.held = np.asarray(config.held_fraction) * spare_size
        self.holding = np.asarray(config.holding_cost)
        self.activation_s = np.asarray(config.activation_s)

    def counts(self) -> NDArray[np.int64]:
        """``(S,)`` ready spares per state."""
        result: NDArray[np.int64] = self.ready.sum(axis=0)
        return result

    def _provisioning_by_host(self) -> NDArray[np.int64]:
        out = np.zeros_like(self.ready)
        for batch in self.provisioning:
            np.add.at(out[:, batch.state], np.asarray(batch.hosts, dtype=np.intp), 1)
        return out

    def holding_counts(self) -> NDArray[np.int64]:
        """``(S,)`` spares that hold capacity and cost: ready plus provisioning."""
        result: NDArray[np.int64] = self.counts() + self._provisioning_by_host().sum(axis=0)
        return result

    def held_by_host(self) -> NDArray[np.float64]:
        """``(H, 4)`` capacity held by spares (ready and provisioning) on each host."""
        result: NDArray[np.float64] = (self.ready + self._provisioning_by_host()) @ self.held
        return result

    def reconcile(
        self,
        free: NDArray[np.float64],
        capacity: NDArray[np.float64],
        host_up: NDArray[np.bool_],
        now_s: float,
    ) -> Reconciliation:
        """Start or release spares so that ready + provisioning meets the target.

        Args:
            free: ``(H, 4)`` room left on each host (capacity x overcommit - reserved).
            capacity: ``(H, 4)`` host capacity, for relative room.
            host_up: ``(H,)`` False for failed hosts (no spare is placed there).
            now_s: Current time, s.
        """
        free = free.copy()
        started: list[Provision] = []
        released = 0
        unplaced = 0
        for state in range(N_READINESS):
            have = int(self.ready[:, state].sum()) + sum(
                len(b.hosts) for b in self.provisioning if b.state == state
            )
            gap = int(self.target[state]) - have
            while gap < 0 and self.ready[:, state].sum() > 0:
                rel = (free / capacity).min(axis=1)
                rel[self.ready[:, state] == 0] = np.inf
                host = int(np.argmin(rel))
                self.ready[host, state] -= 1
                free[host] += self.held[state]
                released += 1
                gap += 1
            for batch in reversed(list(self.provisioning)):
                while gap < 0 and batch.state == state and batch.hosts:
                    host = batch.hosts.pop()
                    free[host] += self.held[state]
                    released += 1
                    gap += 1
            self.provisioning = [b for b in self.provisioning if b.hosts]
            if gap > 0:
                batch = Provision(state, [], now_s + self.config.provision_s[state])
                count = self.ready.sum(axis=1) + self._provisioning_by_host().sum(axis=1)
                for _ in range(gap):
                    placed = self._place(free, capacity, host_up, self.held[state], count)
                    if placed is None:
                        unplaced += 1
                        continue
                    batch.hosts.append(placed)
                    free[placed] -= self.held[state]
                    count[placed] += 1
                if batch.hosts:
                    self.provisioning.append(batch)
                    started.append(batch)
        return Reconciliation(started, released, unplaced)

    @staticmethod
    def _place(
        free: NDArray[np.float64],
        capacity: NDArray[np.float64],
        host_up: NDArray[np.bool_],
        held: NDArray[np.float64],
        count: NDArray[np.int64],
    ) -> int | None:
        after = free - held
        fits = host_up & (after >= -1e-9).all(axis=1)
        if not fits.any():
            return None
        score = (after / capacity).min(axis=1) - 1e-6 * count
        score[~fits] = -np.inf
        return int(np.argmax(score))

    def add_ready(
        self, states: NDArray[np.intp], room: NDArray[np.float64], capacity: NDArray[np.float64]
    ) -> None:
        """Place ready spares of ``states`` at the start, given the components' ``room``."""
        free = room - self.held_by_host()
        count = self.ready.sum(axis=1)
        up = np.ones(room.shape[0], dtype=np.bool_)
        for state in states:
            host = self._place(free, capacity, up, self.held[state], count)
            if host is None:  # no room: reconcile() reports it and retries when room appears
                continue
            self.ready[host, state] += 1
            free[host] -= self.held[state]
            count[host] += 1

    def complete(self, batch: Provision) -> None:
        """Make a provisioning batch ready (no-op if it was cancelled)."""
        if batch in self.provisioning:
            self.provisioning.remove(batch)
            np.add.at(self.ready[:, batch.state], np.asarray(batch.hosts, dtype=np.intp), 1)

    def choose(
        self,
        need: NDArray[np.float64],
        free: NDArray[np.float64],
        capacity: NDArray[np.float64],
        host_up: NDArray[np.bool_],
    ) -> tuple[int, int] | None:
        """The (state, host) of the spare a component needing ``need`` should take.

        The readiest state with a ready spare on an up host with room wins; among hosts,
        the one with the most relative room left. None when no spare fits.
        """
        for state in range(N_READINESS):
            room = free + self.held[state] - need
            ok = host_up & (self.ready[:, state] > 0) & (room >= -1e-9).all(axis=1)
            if ok.any():
                score = (room / capacity).min(axis=1)
                score[~ok] = -np.inf
                return state, int(np.argmax(score))
        return None

    def take(self, state: int, host: int) -> None:
        """Remove one ready spare of ``state`` from ``host`` (it is being activated)."""
        self.ready[host, state] -= 1

    def fail_host(self, host: int) -> int:
        """Lose every spare on a failed ``host``; returns how many were lost."""
        lost = int(self.ready[host].sum())
        self.ready[host] = 0
        for batch in self.provisioning:
            kept = [h for h in batch.hosts if h != host]
            lost += len(batch.hosts) - len(kept)
            batch.hosts = kept
        self.provisioning = [b for b in self.provisioning if b.hosts]
        return lost
