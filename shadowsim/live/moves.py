"""Migrations and shifts to spares on libvirt, for :class:`~shadowsim.live.backend.LibvirtBackend`.

* :class:`~shadowsim.actions.MigrateAction`: live migration to the destination host's
  connection (``virDomainMigrate`` with ``LIVE | PERSIST_DEST | UNDEFINE_SOURCE``), after
  checking the destination has room for the component's vCPUs and memory. Drivers that
  cannot migrate (e.g. the test driver) refuse, and the action is rejected with libvirt's
  reason. The call blocks until the migration ends, so nothing is ever "migrating" between
  ticks. Cost: ``migration_fixed + migration_per_gib * memory GiB``.
* :class:`~shadowsim.actions.ShiftToSpareAction`: a critical component (see
  :mod:`shadowsim.live.components`) is refused. Otherwise the readiest spare on a host with
  room is started (:meth:`~shadowsim.live.spare_pool.SparePool.take`), sized to the
  component's vCPUs and memory (within the spare's maxima), tagged with the component's
  metadata element, and the component is recorded on it (``on_spare``). Moving the
  application's work itself is the application's job (e.g. its load balancer); the old
  domain is then shut down when ``live.pool.release_shifted``. The pool is reconciled to
  replace the spare. Cost: ``migration_fixed``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from shadowsim.action_handling import index_in
from shadowsim.actions import ActionResult, MigrateAction, ShiftToSpareAction
from shadowsim.live.binding import error_text, is_libvirt_error
from shadowsim.live.components import COMPONENT_KEY, COMPONENT_NS, component_element
from shadowsim.resources import Resource

if TYPE_CHECKING:
    from shadowsim.live.backend import LibvirtBackend


class LiveMover:
    """Moves components between domains and hosts on behalf of a :class:`LibvirtBackend`.

    Args:
        backend: The backend whose component table it changes.
    """

    def __init__(self, backend: LibvirtBackend) -> None:
        self.backend = backend

    def _component(self, value: object) -> int | str:
        n = len(self.backend.domains)
        comp = index_in(value, n)
        if comp is None:
            return f"unknown component {value!r}: valid 0..{n - 1}"
        return comp

    def migrate(self, action: MigrateAction) -> ActionResult:
        """Validate and carry out a live migration."""
        b = self.backend
        comp = self._component(action.component)
        if isinstance(comp, str):
            return ActionResult(action, False, comp)
        dest = index_in(action.host, b.hosts.n_hosts)
        if dest is None:
            return ActionResult(
                action, False, f"unknown host {action.host!r}: valid 0..{b.hosts.n_hosts - 1}"
            )
        src = int(b.host_of[comp])
        if dest == src:
            return ActionResult(action, False, f"component {comp} already runs on host {dest}")
        need = b.allocation[comp, : Resource.DISK]
        room = b.room()[dest, : Resource.DISK]
        if (need > room + 1e-9).any():
            return ActionResult(
                action,
                False,
                f"destination host {b.hosts.names[dest]} lacks room: needs "
                f"{need.round(3).tolist()}, has {room.round(3).tolist()} (vCPU, MiB)",
            )
        lv = b.lv
        flags = lv.VIR_MIGRATE_LIVE | lv.VIR_MIGRATE_PERSIST_DEST | lv.VIR_MIGRATE_UNDEFINE_SOURCE
        old = b.domains[comp]
        try:
            new = old.migrate(b.hosts.conns[dest], flags, None, None, 0)
        except Exception as err:
            if not is_libvirt_error(err):
                raise
            return ActionResult(
                action,
                False,
                f"libvirt cannot migrate {b.domain_names[comp]} from {b.hosts.names[src]} to "
                f"{b.hosts.names[dest]}: {error_text(err)}",
            )

        def record() -> None:
            b.reader.forget(old)
            b.domains[comp] = new
            b.host_of[comp] = dest
            b.meter.reset(comp)

        b.changed(record)
        b.charge_move(b.cost.migration(float(b.allocation[comp, Resource.MEMORY])))
        return ActionResult(action, True, "", b.now_s)

    def shift(self, action: ShiftToSpareAction) -> ActionResult:
        """Validate and carry out a shift of a component onto a spare."""
        b = self.backend
        comp = self._component(action.component)
        if isinstance(comp, str):
            return ActionResult(action, False, comp)
        if b.spec.component_critical[comp]:
            return ActionResult(
                action,
                False,
                f"component {comp} ({b.domain_names[comp]}) is critical (the first of its "
                "application, or of a HIGH-priority one): it is never moved to a spare",
            )
        need = b.allocation[comp].copy()
        spare = b.pool.take(need, b.room())
        if isinstance(spare, str):
            b.notes.extend(b.pool.notes)
            b.pool.notes.clear()
            return ActionResult(action, False, spare)
        notes: list[str] = []
        lv = b.lv
        old, old_name = b.domains[comp], b.domain_names[comp]
        devices = b.reader.devices(spare.dom)
        memory_target: float | None = None  # a balloon target: pending until reached
        for res, most in (
            (Resource.CPU, spare.dom.vcpusFlags(lv.VIR_DOMAIN_VCPU_MAXIMUM)),
            (Resource.MEMORY, spare.dom.maxMemory() / 1024.0),
        ):
            value = min(float(need[res]), float(most))
            if value < need[res]:
                notes.append(f"spare {spare.name} holds at most {most} {res.unit}")
            try:
                b.tuner.set(spare.dom, res, value, devices)
            except Exception as err:
                if not is_libvirt_error(err):
                    raise
                notes.append(f"sizing spare {spare.name} ({res.name}): {error_text(err)}")
                continue
            if res is Resource.MEMORY:
                memory_target = value
        app = int(b.spec.component_app[comp])
        index = comp - int(np.flatnonzero(b.spec.component_app == app)[0])
        try:
            spare.dom.setMetadata(
                lv.VIR_DOMAIN_METADATA_ELEMENT,
                component_element(b.spec.app_ids[app], index),
                COMPONENT_KEY,
                COMPONENT_NS,
                lv.VIR_DOMAIN_AFFECT_LIVE | lv.VIR_DOMAIN_AFFECT_CONFIG,
            )
        except Exception as err:
            if not is_libvirt_error(err):
                raise
            notes.append(f"tagging spare {spare.name} as the component: {error_text(err)}")

        def record() -> None:
            b.reader.forget(old)
            b.domains[comp] = spare.dom
            b.domain_names[comp] = spare.name
            b.host_of[comp] = spare.host
            b.on_spare[comp] = True
            b.meter.reset(comp)
            readings = b.read_components()
            b.balloons.forget(comp)
            if memory_target is not None:
                b.balloons.set(comp, memory_target, readings[comp])
            b.refresh_allocation(readings)
            if b.config.pool.release_shifted:
                try:
                    old.shutdown()
                except Exception as err:
                    if not is_libvirt_error(err):
                        raise
                    notes.append(f"shutting down the old domain {old_name}: {error_text(err)}")
            b.pool_short = b.pool.reconcile(b.room()) > 0

        b.changed(record)
        b.charge_move(b.cost.shift())
        notes.extend(b.pool.notes)
        b.pool.notes.clear()
        b.notes.extend(f"shift of component {comp}: {n}" for n in notes)
        return ActionResult(action, True, "; ".join(notes), b.now_s)
