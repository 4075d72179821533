"""Host failures: components on a failed host are not served until repair."""

from __future__ import annotations

import numpy as np

from shadowsim.actions import MigrateAction, ShiftToSpareAction
from shadowsim.resources import Resource
from shadowsim.sim.faults import FaultConfig
from shadowsim.sim.moves import EventKind
from shadowsim.sim.pool import PoolConfig
from shadowsim.sim.simulator import Simulator
from tests.sim.sim_fixtures import make_workload, small_cluster

REPAIR_S = 1200.0


def _sim_until_failure(seed: int) -> tuple[Simulator, int]:
    faults = FaultConfig(enabled=True, rate_per_host_h=1.0, repair_s=REPAIR_S)
    pool = PoolConfig(initial_target=(2, 0, 0, 0))
    cfg = small_cluster(components_per_app=2, faults=faults, pool=pool, seed=seed)
    priority = np.zeros(12, dtype=np.int8)
    sim = Simulator(make_workload(n_apps=12, n_ticks=60, priority=priority, noise=0.0), cfg)
    while sim.host_up.all():
        sim.advance()
    return sim, int(np.flatnonzero(~sim.host_up)[0])


def test_failed_host_serves_nothing_until_repaired() -> None:
    sim, host = _sim_until_failure(seed=3)
    (failure,) = [e for e in sim.events if e.kind is EventKind.HOST_FAILED]
    on_host = np.flatnonzero(sim.host_of == host)
    assert on_host.size > 0
    assert sim.pool.ready[host].sum() == 0  # its spares are lost
    (moved,) = sim.apply([MigrateAction(int(on_host[0]), (host + 1) % sim.spec.n_hosts)])
    assert not moved.accepted
    assert "is down" in moved.reason
    state = sim.advance()  # a whole tick inside the outage
    assert (state.usage[on_host, Resource.CPU] == 0).all()
    others = np.setdiff1d(np.arange(sim.spec.n_components), on_host)
    assert (state.usage[others, Resource.CPU] > 0).all()
    apps = np.unique(sim.layout.component_app[on_host])
    assert (state.kpis.error_rate[apps] > 0).all()
    assert state.kpis.sla_violated[apps].all()
    while sim.now_s < failure.time_s + REPAIR_S + 300.0:
        state = sim.advance()
    repaired = [e for e in sim.events if e.kind is EventKind.HOST_REPAIRED and e.host == host]
    assert repaired[0].time_s == failure.time_s + REPAIR_S
    back = np.flatnonzero(state.host_of == host)
    assert np.allclose(state.usage[back, Resource.CPU], state.demand[back, Resource.CPU])


def test_a_component_on_a_failed_host_can_be_shifted_to_a_spare() -> None:
    sim, host = _sim_until_failure(seed=3)
    movable = [int(c) for c in np.flatnonzero(sim.host_of == host) if not sim.layout.critical[c]]
    assert movable
    (result,) = sim.apply([ShiftToSpareAction(movable[0])])
    assert result.accepted, result.reason
    while sim.migrating[movable[0]]:
        sim.advance()
    assert sim.host_of[movable[0]] != host
    assert sim.on_spare[movable[0]]
