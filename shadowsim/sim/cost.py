"""Prices and costs, in abstract cost units (cu).

* Allocation: every component VM pays for its allocation, whether used or not:
  ``sum_r allocation_r * price_r`` per hour, with memory priced per GiB (1 GiB = 1024 MiB)
  and disk/network per MB/s (1 MB/s = 1024 KB/s).
* Spare pool: a spare in readiness state ``s`` costs ``holding_cost[s]`` times the hourly
  price of a running VM of the spare's size, from the moment its provisioning starts until
  it is released or activated.
* Migration: ``fixed + per_gib * GiB copied`` per live migration; a shift to a spare pays
  the fixed part only (the spare is pre-configured, no memory is copied).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from shadowsim.sim.checks import check_non_negative

_MIB_PER_GIB = 1024.0
_KB_PER_MB = 1024.0
_S_PER_H = 3600.0


@dataclass(frozen=True)
class PriceConfig:
    """Prices of allocated resources, cu per unit-hour.

    Attributes:
        cpu_per_vcpu_h: cu per vCPU-hour.
        memory_per_gib_h: cu per GiB-hour of memory.
        disk_per_mb_s_h: cu per (MB/s)-hour of disk throughput allocation.
        network_per_mb_s_h: cu per (MB/s)-hour of network throughput allocation.
        migration_fixed: cu per migration or shift to a spare.
        migration_per_gib: cu per GiB of memory copied by a live migration.
    """

    cpu_per_vcpu_h: float = 0.04
    memory_per_gib_h: float = 0.005
    disk_per_mb_s_h: float = 0.0005
    network_per_mb_s_h: float = 0.0005
    migration_fixed: float = 0.001
    migration_per_gib: float = 0.0005

    def __post_init__(self) -> None:
        for name in (
            "cpu_per_vcpu_h",
            "memory_per_gib_h",
            "disk_per_mb_s_h",
            "network_per_mb_s_h",
            "migration_fixed",
            "migration_per_gib",
        ):
            check_non_negative(f"cluster.prices.{name}", getattr(self, name))

    def per_unit_s(self) -> NDArray[np.float64]:
        """``(4,)`` price per resource unit (vCPU, MiB, KB/s, KB/s) per second, cu."""
        per_h = np.array(
            [
                self.cpu_per_vcpu_h,
                self.memory_per_gib_h / _MIB_PER_GIB,
                self.disk_per_mb_s_h / _KB_PER_MB,
                self.network_per_mb_s_h / _KB_PER_MB,
            ]
        )
        return per_h / _S_PER_H


class CostModel:
    """Turns allocations, pool contents and moves into cu.

    Args:
        prices: The price list.
    """

    def __init__(self, prices: PriceConfig) -> None:
        self.prices = prices
        self._per_unit_s = prices.per_unit_s()
        self.per_unit_s = self._per_unit_s
        """``(4,)`` price per resource unit per second, cu (read only)."""
        self._tiled = self._per_unit_s

    def allocation_rate(self, allocation: NDArray[np.float64]) -> float:
        """Cost of holding ``(C, 4)`` allocations, cu/s."""
        if self._tiled.size != allocation.size:
            self._tiled = np.tile(self._per_unit_s, allocation.shape[0])
        return float(np.dot(allocation.ravel(), self._tiled))

    def vm_rate(self, size: NDArray[np.float64]) -> float:
        """Cost of one running VM of ``(4,)`` size, cu/s."""
        return float(size @ self._per_unit_s)

    def pool_rate(
        self,
        counts: NDArray[np.int64],
        holding: NDArray[np.float64],
        spare_size: NDArray[np.float64],
    ) -> float:
        """Holding cost of ``(S,)`` spares per state at fractions ``holding``, cu/s."""
        return float(counts @ holding) * self.vm_rate(spare_size)

    def migration(self, copied_mib: float) -> float:
        """Cost of one live migration that copied ``copied_mib`` MiB, cu."""
        return self.prices.migration_fixed + self.prices.migration_per_gib * (
            copied_mib / _MIB_PER_GIB
        )

    def shift(self) -> float:
        """Cost of one shift to a spare, cu."""
        return self.prices.migration_fixed
