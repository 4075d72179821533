"""The SimPy cluster simulator: its model, every assumption and unit on one page.

Entry points: :class:`Simulator` (a :class:`~shadowsim.backend.ClusterBackend`) configured by
:class:`ClusterConfig`; :class:`~shadowsim.sim.naive.NaiveReplay` is the scalar reference;
``python -m experiments.bench_sim`` measures both. Units everywhere: CPU in vCPU, memory in
MiB, disk and network throughput in KB/s, time in s, money in cost units (cu).

Time
----
* The workload gives demand per application and resource as the mean over each tick of
  ``interval_s`` (300 s for the traces). Tick ``k`` covers ``[k * interval_s, (k + 1) *
  interval_s)``; the simulator's clock starts at 0.
* A control interval is ``control_every_ticks`` ticks; :meth:`Simulator.advance` runs to the
  next control tick and returns the interval's snapshot (means over its ticks). The last
  interval may be shorter when the workload ends.
* SimPy carries the discrete events: control ticks (the times its clock is run to,
  :meth:`~shadowsim.sim.clock.ControlClock.run_to`: no event object per control tick),
  scaling actuations (one event per batch of resources landing at the same tick boundary:
  the only event of a control tick with one bulk scale action), spare provisioning
  and activation, migrations and handovers, host failures and repairs. Per-tick accounting is
  vectorised over all VMs, over blocks of ticks between two events (at most
  ``max_block_ticks`` at once); no SimPy process runs per VM. The accounting reads demand
  tick-major, from a copy made once per (read-only) workload demand array and shared by
  every simulator over it or a window of it, or converted chunk by chunk when the array
  is writable or the copy would pass 256 MiB (:mod:`shadowsim.sim.demand_store`). A
  scaling batch whose landing time has come is put in force at the next synchronisation,
  right after the ticks before its tick boundary are accounted; every event handler and
  every snapshot synchronises first, so nothing can observe the difference.
* Allocations and placement are sampled at tick boundaries: a change that lands inside a tick
  (scaling after its latency, the end of a move) takes effect from the next tick boundary.
  Service reductions (migration degradation and downtime, handover pauses, host failures)
  are the exception: they count for the exact share of each tick they cover.

Cluster
-------
* Identical hosts of ``host_capacity`` per resource. A host may hold allocations up to
  ``capacity x overcommit`` (1.0 = no overcommit) but never serves more than its physical
  capacity. Host shape (:mod:`shadowsim.sim.host_shape`): when ``host_capacity`` is null
  (the default) each resource starts at 64 vCPU, 256 GiB, 2,000,000 KB/s disk, 1,250,000
  KB/s network and is doubled until one host serves the largest component's peak demand
  (its application's peak over the workload times its share) and can allocate that peak
  times ``initial.headroom`` within ``capacity x overcommit``; a given shape is kept, and
  one whose ``capacity x overcommit`` is below some component's peak demand is a
  ConfigError (``cluster.host_capacity[r]``).
  The number of hosts is sized from the workload when ``n_hosts`` is null (first-fit
  decreasing of the initial allocations, and of the initial spares' held capacity, at
  ``target_utilisation``), or given (:mod:`shadowsim.sim.placement`).
* Every application has ``components_per_app`` components, each on its own VM; component
  ``j`` carries the fixed share ``component_shares[j]`` of its application's demand of every
  resource and of its requests. The first component, and every component of a HIGH-priority
  application, is critical: never moved to a spare (:mod:`shadowsim.sim.components`).
* Initial allocation: the ``initial.quantile`` of the first ``initial.window_s`` of demand,
  times the share, times ``initial.headroom``, clipped to the VM bounds of ``scaling``.

Serving demand (:mod:`shadowsim.sim.kpis`, :mod:`shadowsim.sim.contention`)
---------------------------------------------------------------------------
* A component uses at most its effective allocation: the allocation times the outage service
  factor (compressible resources only). Demand beyond it is unserved.
* Contention: when the usage wanted on a host exceeds its capacity (possible only with
  overcommit), priority classes are served from HIGH to LOW, each sharing what is left in
  proportion to what its components want; the rest is unserved.
* Unserved demand of CPU, disk and network is throttled (queued, completed late) up to
  ``allocation x queue.buffer_s / interval_s`` and dropped beyond; unserved memory fails
  (dropped). ``served + throttled + dropped == demand`` exactly, per component and tick.
* Requests: each costs ``queue.request_cpu_s`` vCPU·s, so a component's arrival rate is
  ``demand_cpu / request_cpu_s`` requests/s. Error rate ``1 - prod_r (1 - dropped_r /
  demand_r)`` (a request fails if any resource it needs was dropped). Throughput = arrival
  rate x (1 - error rate).
* Response time: an M/M/1 queue served by the component's CPU allocation (requests use all of
  its vCPUs), ``request_cpu_s / (E_cpu (1 - rho))`` with ``rho = min(demand_cpu / E_cpu,
  queue.max_utilisation)``, plus the mean wait of a throttled backlog, ``throttled_r x
  interval_s / (2 E_r)`` (largest over compressible resources), capped at
  ``queue.timeout_s``. No backlog carries over from one tick to the next.
* An application's response time and error rate are the share-weighted means of its
  components', its throughput their sum. A tick violates the SLA when the response time
  exceeds ``sla_response_s`` or the error rate exceeds ``sla_max_error_rate`` (inactive ticks
  of the workload never do). A snapshot reports interval means, the request-weighted error
  rate, and ``sla_violated`` when any tick of the interval violated.

Actions (:mod:`shadowsim.actions`)
----------------------------------
Every action is validated and answered with an ``ActionResult``; none is dropped silently.

* Scaling (:mod:`shadowsim.sim.scaling`): ``ScaleAction`` or the bulk ``ScaleAllAction``
  (``(A, 4)`` totals, NaN = hold) split over components by share; each entry is checked
  (non-finite, negative, component moving: rejected with a counted reason), clamped to
  ``[min_allocation, max_allocation]`` (default max: one host's capacity x overcommit) and
  to the host's room (increases on an over-asked host and resource scaled by the same
  factor); it lands ``latency_s`` of its resource later (at the next tick boundary). Until
  then the host reserves the larger of old and new allocation.
* Live migration (:mod:`shadowsim.sim.migration`): pre-copy rounds of the VM's allocated
  memory at ``bandwidth_mib_s`` while it dirties ``dirty_rate_mib_s``; service at
  ``degradation`` x allocation during the rounds, none during the stop-and-copy downtime;
  the destination reserves the allocation from the start. Refused for an unknown component
  or host, the current host, a host that is down or lacks room, or a component already
  moving.
* Spare pool (:mod:`shadowsim.sim.pool`): counts per readiness state converge to the target
  (provisioning takes ``provision_s[state]``; surplus is released at once); a spare holds
  ``held_fraction[state] x spare_size`` of its host and costs ``holding_cost[state]`` times a
  running VM of ``spare_size``. ``ShiftToSpareAction`` takes the readiest spare on an up
  host with room (``activation_s[state]``, the component keeps running meanwhile), then
  pauses ``handover_s`` and runs on the spare's host; the pool provisions a replacement.
* Host failures (:mod:`shadowsim.sim.faults`, off by default): seeded Poisson process at
  ``rate_per_host_h``; a failed host serves nothing and loses its spares until repaired
  ``repair_s`` later; moves touching it are aborted.

Costs (:mod:`shadowsim.sim.cost`)
---------------------------------
Allocated resource-hours x prices (memory per GiB = 1024 MiB, I/O per MB/s = 1024 KB/s),
spare holding cost, and per migration ``migration_fixed + migration_per_gib x GiB copied``
(a shift pays the fixed part). All costs are >= 0.

Implementation (:mod:`shadowsim.sim.jit`)
-----------------------------------------
``cluster.kernel`` picks the per-tick code: the numpy reference (NUMPY) or compiled numba
kernels that fuse each step into one pass over the VMs (JIT; AUTO = JIT when numba is
installed). With one component per application and one tick per control interval they
give the same snapshots bit for bit, but for the allocation cost rate (summed in another
order than ``np.dot``: 1e-16 relative); otherwise within 1e-12 relative (the reference sums
some figures through BLAS, or blocks of ticks in another order). The kernels compile on
the first simulator built with them and are cached on disk. With the compiled kernels a
control interval that ends without outages or moves is accounted, landed and closed in one
compiled call (:mod:`shadowsim.sim.fused.interval_end`), and a bulk scale action is
planned in one (:mod:`shadowsim.sim.fused.scaling`).

Snapshots and buffers: nothing is allocated per control tick for the sums and the
snapshot arrays. The ledger alternates two sets of interval sums (the set that opens is
zeroed, or with the compiled kernels marked stale and written fresh by the kernel), and
the compiled snapshot two output buffers, so a snapshot (:meth:`Simulator.advance`,
:meth:`Simulator.observe`) is a new :class:`~shadowsim.cluster_state.ClusterState` whose
arrays are views valid until the next :meth:`Simulator.advance`;
:meth:`ClusterState.copy() <shadowsim.cluster_state.ClusterState.copy>` keeps one longer.

Determinism
-----------
The only random draws are the failures, from ``numpy.random.default_rng(seed)``; SimPy
orders simultaneous events by scheduling order. The same workload, config, seed and actions
give bit-identical snapshots.
"""

from shadowsim.sim.config import ClusterConfig
from shadowsim.sim.simulator import Simulator

__all__ = ["ClusterConfig", "Simulator"]
