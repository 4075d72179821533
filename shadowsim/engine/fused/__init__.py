"""Compiled (numba) twins of the engine's per-step parts.

Each module holds the kernels of one part and a subclass of the numpy reference that calls
them, with the same interface and results: :mod:`~shadowsim.engine.fused.action_codec`
(decoding actions), :mod:`~shadowsim.engine.fused.guardrails` (every guardrail rule),
:mod:`~shadowsim.engine.fused.shifting` (the screen in front of the shifting rule),
:mod:`~shadowsim.engine.fused.forecast_error` (the forecast error feature),
:mod:`~shadowsim.engine.fused.component_map` (per-application sums of a snapshot) and
:mod:`~shadowsim.engine.fused.observation` (the observation). They import numba; this
package's ``__init__`` does not, and :mod:`shadowsim.engine.engine_parts` imports the
modules only for an engine built with :attr:`~shadowsim.sim.jit.Kernel.JIT` (or AUTO with
numba installed).
"""
