"""Workloads: real-trace readers, the synthetic generator and the :class:`Workload` they produce."""

from shadowsim.workloads.repairs import RepairReport
from shadowsim.workloads.workload import Priority, Workload, WorkloadError

__all__ = ["Priority", "RepairReport", "Workload", "WorkloadError"]
