"""Compiled (numba) twins of the simulator's per-tick parts.

Each module holds the fused kernels of one part and a subclass of the numpy reference
that calls them: :mod:`~shadowsim.sim.fused.kpis` (accounting, with
:mod:`~shadowsim.sim.fused.serving`: contention, throttling and drops),
:mod:`~shadowsim.sim.fused.scaling` (scale plans), :mod:`~shadowsim.sim.fused.scaler`
(landing), :mod:`~shadowsim.sim.fused.snapshot` (closing an interval),
:mod:`~shadowsim.sim.fused.interval_end` (the end of a control interval in one call),
:mod:`~shadowsim.sim.fused.demand` (the demand feed), :mod:`~shadowsim.sim.fused.cost`
(the allocation cost rate), :mod:`~shadowsim.sim.fused.placement` (first-fit decreasing)
and :mod:`~shadowsim.sim.fused.reactive` (the benchmark's reactive rule). They import
numba; this package's ``__init__`` does not, and :mod:`shadowsim.sim.parts` imports the
modules only for a simulator built with :attr:`~shadowsim.sim.jit.Kernel.JIT` (or AUTO
with numba installed).
"""
