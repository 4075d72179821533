"""Choosing between the numpy reference and the compiled (numba) per-tick kernels.

The simulator's per-tick work (accounting, contention, scaling plans, the reactive rule,
snapshots) exists twice: the numpy implementation, which is the reference, and fused
kernels compiled with numba that do the same arithmetic in one pass over the VMs and give
the same figures (bit for bit with one component per application and one tick per control
interval, but for the allocation cost rate, summed in another order than ``np.dot``; within
1e-12 relative otherwise, where the reference sums through BLAS or blocks of ticks in
another order). :class:`Kernel` picks one.

Nothing here imports numba: the modules holding compiled kernels
(:mod:`shadowsim.sim.fused.kpis` and its siblings) import it, and they are imported only
when a simulator or rule that uses them is built, so ``import shadowsim`` stays light.
Kernels compile on their first call and are cached on disk (``cache=True``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from enum import Enum
from typing import Any, TypeVar, cast

from shadowsim.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])


class Kernel(Enum):
    """Which implementation runs the per-tick work.

    Attributes:
        AUTO: The compiled kernels when numba is installed, else the numpy reference.
        JIT: The compiled kernels; an error when numba is missing.
        NUMPY: The numpy reference.
    """

    AUTO = "auto"
    JIT = "jit"
    NUMPY = "numpy"


def jit_available() -> bool:
    """True when numba can be imported."""
    return importlib.util.find_spec("numba") is not None


def use_jit(kernel: Kernel, key: str) -> bool:
    """Whether ``kernel`` means the compiled kernels.

    Args:
        kernel: The choice.
        key: Config key of the choice, for the error message.

    Raises:
        ConfigError: For :attr:`Kernel.JIT` without numba, or a value that is no Kernel.
    """
    if not isinstance(kernel, Kernel):
        names = ", ".join(k.name for k in Kernel)
        raise ConfigError(key, f"expected a Kernel ({names}), got {kernel!r}")
    if kernel is Kernel.NUMPY:
        return False
    available = jit_available()
    if kernel is Kernel.JIT and not available:
        raise ConfigError(
            key,
            "JIT needs numba, which is not installed: `pip install 'numba>=0.59'`, "
            "or choose AUTO or NUMPY",
        )
    return available


def njit(function: F) -> F:
    """Compile ``function`` with numba on its first call, cached on disk.

    IEEE arithmetic is kept exactly (no fast-math, so no reassociation or fused
    multiply-add) and division follows numpy (inf or NaN, no exception), so a kernel
    written in the reference's order of operations gives the reference's figures.
    """
    import numba  # only modules holding compiled kernels call this

    return cast(F, numba.njit(cache=True, nogil=True, error_model="numpy")(function))
