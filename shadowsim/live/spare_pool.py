"""The spare pool on libvirt hosts: warm-standby domains in four readiness states.

Readiness states are libvirt states (see :mod:`shadowsim.readiness`): RUNNING_IDLE =
running, PAUSED = paused, HIBERNATED = shut off with a managed-save image, STOPPED = shut off.

* At start, domains whose names start with ``live.pool.name_prefix`` and that are not
  components are adopted as spares, in the state libvirt reports (a spare in a transitional
  state, e.g. crashed, is listed in :attr:`SparePool.notes` and left alone).
* Reconciling toward the target (per state) first converts surplus spares of other states
  (nearest state first): ``resume``/``suspend`` between running and paused, ``managedSave``
  to hibernate, ``create`` to boot or restore, ``destroy`` / ``managedSaveRemove`` to stop.
  Then missing spares are provisioned: defined from the template (``defineXML``) and brought
  to their state; surplus ones are released (stopped, managed save removed, undefined),
  from the host with most spares first, newest first.
* Placement: a new spare goes to the host with the largest smallest relative room (vCPU,
  memory) left after holding it, ties to the host with fewer spares, then the lower index.
  A running spare holds its vCPUs and memory on its host, a paused one its memory, the
  others nothing (as in the simulator). A spare that fits nowhere is not created.
* Taking a spare for a component (:meth:`SparePool.take`) picks the readiest state first,
  among spares on hosts with room for the component's vCPUs and memory, the host with most
  room winning, and starts it (resume / restore / boot).

Every libvirt failure is kept in :attr:`SparePool.notes` with libvirt's text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shadowsim.live.binding import error_text, is_libvirt_error
from shadowsim.live.config import LivePoolConfig
from shadowsim.live.domain_reading import KIB_PER_MIB, readiness_of
from shadowsim.live.hosts import HostSet
from shadowsim.live.spare_template import SpareTemplate
from shadowsim.readiness import N_READINESS, Readiness
from shadowsim.resources import N_RESOURCES, Resource

_HELD = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0] * 4, [0.0] * 4])
_ACTIVE = (Readiness.RUNNING_IDLE, Readiness.PAUSED)
_ROOM = Resource.DISK  # room is checked for vCPU and memory only (entries before DISK)


@dataclass(eq=False)
class Spare:
    """One spare domain.

    Attributes:
        name: Domain name.
        host: Host index.
        dom: libvirt domain handle.
        readiness: Its state.
        vcpus: Its vCPUs.
        memory_mib: Its memory, MiB.
    """

    name: str
    host: int
    dom: Any
    readiness: Readiness
    vcpus: int
    memory_mib: float

    def size(self) -> NDArray[np.float64]:
        """``(4,)`` size as a running VM (vCPU, MiB, 0, 0)."""
        return np.array([float(self.vcpus), self.memory_mib, 0.0, 0.0])

    def held(self, state: Readiness | None = None) -> NDArray[np.float64]:
        """``(4,)`` capacity held on its host in ``state`` (default: its own state)."""
        s = self.readiness if state is None else state
        result: NDArray[np.float64] = _HELD[s] * self.size()
        return result


class SparePool:
    """The spare domains of every host (see the module docstring).

    Args:
        lv: The libvirt module.
        hosts: The host connections.
        config: Pool settings.
        template: Template for new spares, or None (then none can be provisioned).
    """

    def __init__(
        self,
        lv: ModuleType,
        hosts: HostSet,
        config: LivePoolConfig,
        template: SpareTemplate | None,
    ) -> None:
        self.lv = lv
        self.hosts = hosts
        self.config = config
        self.template = template
        self.spares: list[Spare] = []
        self.target = np.zeros(N_READINESS, dtype=np.int64)
        self.notes: list[str] = []
        self._serial = 0
        self._pattern = re.compile(re.escape(config.name_prefix) + r"h\d+-(\d+)$")

    # ------------------------------------------------------------------ reading
    def _state(self, dom: Any) -> Readiness | None:
        state = int(dom.state()[0])
        managed = state == self.lv.VIR_DOMAIN_SHUTOFF and bool(dom.hasManagedSaveImage(0))
        return readiness_of(self.lv, state, managed)

    def _spare(self, dom: Any, host: int) -> Spare | None:
        state = self._state(dom)
        name = str(dom.name())
        if state is None:
            self.notes.append(
                f"spare {name} on host {self.hosts.names[host]} is in libvirt state "
                f"{dom.state()[0]} (transitional): not counted; fix or undefine it"
            )
            return None
        info = dom.info()
        return Spare(name, host, dom, state, int(info[3]), float(info[2]) / KIB_PER_MIB)

    def adopt(self, components: set[str]) -> None:
        """Adopt existing spare domains (prefix-named, not ``components``) on every host."""
        prefix = self.config.name_prefix
        for h in range(self.hosts.n_hosts):
            for dom in self.hosts.domains(h):
                name = str(dom.name())
                if not name.startswith(prefix) or name in components:
                    continue
                match = self._pattern.match(name)
                if match:
                    self._serial = max(self._serial, int(match.group(1)) + 1)
                spare = self._spare(dom, h)
                if spare is not None:
                    self.spares.append(spare)

    def refresh(self) -> None:
        """Re-read every spare's state (someone may have changed it); drop vanished ones."""
        for spare in list(self.spares):
            try:
                state = self._state(spare.dom)
            except Exception as err:
                if not is_libvirt_error(err):
                    raise
                self.notes.append(
                    f"spare {spare.name} can no longer be read ({error_text(err)}): dropped "
                    "from the pool"
                )
                self.spares.remove(spare)
                continue
            if state is None:
                self.notes.append(
                    f"spare {spare.name} entered a transitional libvirt state: dropped from the "
                    "pool"
                )
                self.spares.remove(spare)
            else:
                spare.readiness = state

    def counts(self) -> NDArray[np.int64]:
        """``(S,)`` spares per readiness state."""
        counts = np.zeros(N_READINESS, dtype=np.int64)
        for spare in self.spares:
            counts[spare.readiness] += 1
        return counts

    def held_by_host(self) -> NDArray[np.float64]:
        """``(H, 4)`` capacity held by spares on each host."""
        held = np.zeros((self.hosts.n_hosts, N_RESOURCES))
        for spare in self.spares:
            held[spare.host] += spare.held()
        return held

    def holding_units(self) -> NDArray[np.float64]:
        """``(4,)`` resource units whose running price the pool pays (holding-cost weighted)."""
        total = np.zeros(N_RESOURCES)
        for spare in self.spares:
            total += self.config.holding_cost[spare.readiness] * spare.size()
        return total

    # ------------------------------------------------------------------ state changes
    def _call(self, what: str, spare: Spare, *steps: Callable[[], object]) -> bool:
        """Run the domain calls ``steps`` in order; on failure note it and re-read the state."""
        try:
            for step in steps:
                step()
        except Exception as err:
            if not is_libvirt_error(err):
                raise
            self.notes.append(f"{what} spare {spare.name}: libvirt refused: {error_text(err)}")
            state = self._state(spare.dom)
            if state is None:
                self.spares.remove(spare)
            else:
                spare.readiness = state
            return False
        return True

    def move(self, spare: Spare, dst: Readiness) -> bool:
        """Bring ``spare`` to state ``dst`` (True on success)."""
        src = spare.readiness
        dom = spare.dom
        steps: tuple[Callable[[], object], ...]
        if src == dst:
            return True
        if dst is Readiness.STOPPED:
            steps = (dom.managedSaveRemove,) if src is Readiness.HIBERNATED else (dom.destroy,)
        elif dst is Readiness.HIBERNATED:
            steps = (dom.managedSave,)
            if src is Readiness.STOPPED:
                steps = (dom.create, dom.managedSave)
        elif src is Readiness.PAUSED:  # to running
            steps = (dom.resume,)
        elif src is Readiness.RUNNING_IDLE:  # to paused
            steps = (dom.suspend,)
        elif dst is Readiness.RUNNING_IDLE:  # shut off (restore or boot) to running
            steps = (dom.create,)
        else:  # shut off to paused
            steps = (dom.create, dom.suspend)
        if not self._call(f"moving to {dst.name}", spare, *steps):
            return False
        spare.readiness = dst
        return True

    def _release(self, spare: Spare) -> bool:
        """Stop and undefine ``spare`` (removing its managed-save image)."""
        lv = self.lv
        if spare.readiness in _ACTIVE and not self._call("stopping", spare, spare.dom.destroy):
            return False
        try:
            try:
                spare.dom.undefineFlags(
                    lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | lv.VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
                )
            except lv.libvirtError:
                if spare.dom.hasManagedSaveImage(0):
                    spare.dom.managedSaveRemove(0)
                spare.dom.undefine()
        except lv.libvirtError as err:
            self.notes.append(f"releasing spare {spare.name}: libvirt refused: {error_text(err)}")
            return False
        self.spares.remove(spare)
        return True

    def _place(self, state: Readiness, room: NDArray[np.float64]) -> int | None:
        """Host for a new spare in ``state`` (None when none has room)."""
        if self.template is None:
            return None
        held = _HELD[state] * np.array([self.template.vcpus, self.template.memory_mib, 0, 0])
        cap = self.hosts.capacity
        per_host = np.bincount([s.host for s in self.spares], minlength=self.hosts.n_hosts)
        best: tuple[float, int, int] | None = None
        for h in range(self.hosts.n_hosts):
            left = room[h] - held
            if (left[:_ROOM] < -1e-9).any():
                continue
            score = float(np.min(left[:_ROOM] / cap[h, :_ROOM]))
            key = (-score, int(per_host[h]), h)
            if best is None or key < best:
                best = key
        return None if best is None else best[2]

    def _provision(self, state: Readiness, room: NDArray[np.float64]) -> Spare | None:
        template = self.template
        if template is None:
            self.notes.append(
                f"cannot provision a {state.name} spare: no template (set live.pool.template)"
            )
            return None
        host = self._place(state, room)
        if host is None:
            self.notes.append(f"cannot provision a {state.name} spare: no host has room")
            return None
        name = f"{self.config.name_prefix}h{host}-{self._serial:04d}"
        self._serial += 1
        try:
            dom = self.hosts.conns[host].defineXML(template.render(name))
        except self.lv.libvirtError as err:
            self.notes.append(f"defining spare {name}: libvirt refused: {error_text(err)}")
            return None
        spare = self._spare(dom, host)
        if spare is None:
            return None
        self.spares.append(spare)
        self.move(spare, state)
        return spare

    def reconcile(self, room: NDArray[np.float64]) -> int:
        """Move the pool toward :attr:`target`; returns how many spares are still missing.

        Args:
            room: ``(H, 4)`` room left per host (capacity x overcommit - allocated),
                including what the current spares hold; updated as spares change.
        """
        room = room.copy()
        for dst in Readiness:
            while self.counts()[dst] < self.target[dst]:
                surplus = [s for s in Readiness if self.counts()[s] > self.target[s]]
                surplus.sort(key=lambda s: abs(int(s) - int(dst)))
                spare = next(
                    (
                        sp
                        for src in surplus
                        for sp in reversed(self.spares)
                        if sp.readiness is src
                        and (
                            (sp.held(dst) - sp.held())[:_ROOM] <= room[sp.host, :_ROOM] + 1e-9
                        ).all()
                    ),
                    None,
                )
                if spare is None:
                    made = self._provision(dst, room)
                    if made is None:
                        break
                    room[made.host] -= made.held()
                    continue
                before = spare.held()
                if not self.move(spare, dst):
                    break
                room[spare.host] -= spare.held() - before
        for state in Readiness:
            while self.counts()[state] > self.target[state]:
                per_host = np.bincount([s.host for s in self.spares], minlength=room.shape[0])
                spare = max(
                    (sp for sp in self.spares if sp.readiness is state),
                    key=lambda sp: (per_host[sp.host], self.spares.index(sp)),
                )
                if not self._release(spare):
                    break
        return int(np.maximum(self.target - self.counts(), 0).sum())

    def take(self, need: NDArray[np.float64], room: NDArray[np.float64]) -> Spare | str:
        """Start the readiest spare with room for ``need`` (4,) and remove it from the pool.

        Returns:
            The spare, now running, or why none could be used.
        """
        candidates = [
            sp
            for sp in self.spares
            if (need[:_ROOM] - sp.held()[:_ROOM] <= room[sp.host, :_ROOM] + 1e-9).all()
        ]
        if not candidates:
            why = "the pool is empty" if not self.spares else "no spare's host has room"
            return f"no spare available: {why} (vCPU, MiB needed {need[:2].round(3).tolist()})"
        spare = min(
            candidates,
            key=lambda sp: (int(sp.readiness), -float(np.min(room[sp.host, :2] - need[:2]))),
        )
        if not self.move(spare, Readiness.RUNNING_IDLE):
            return f"activating spare {spare.name} failed: {self.notes[-1]}"
        self.spares.remove(spare)
        return spare
