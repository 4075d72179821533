"""Deploy a policy on libvirt hosts: ``python -m experiments.deploy [overrides]``.

Loads a policy (``policy=NAME`` for a baseline of ``conf/policy/``, or ``policy=sb3
policy.path=DIR`` for a trained agent saved pickle-free), connects a
:class:`~shadowsim.live.backend.LibvirtBackend` (``live.*``), observes ``deploy.warmup_ticks``
ticks, then runs the allocation engine with the one observation builder and action codec
for ``deploy.ticks`` control ticks, printing each tick's decisions; the last line is one
JSON object summarising the run. ``+shadow@deploy.shadow=default`` (then ``deploy.shadow.*``)
runs the shadow service: the applications' models served from the MLflow registry, scored
every tick and retrained on their triggers while the policy runs, each retrain printed.

The defaults (``conf/live/deploy.yaml``) run a demo on two simulated hosts of libvirt's test
driver with a manual clock (no waiting). ``--config-name live/qemu_example`` shows the
settings of a real cluster (``qemu:///system``, wall clock). ``${repo_path:REL}`` in the
YAML is the absolute path of ``REL`` inside this repository.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig, OmegaConf

from experiments.entry_point import entry_point
from shadowsim.actions import PoolTargetAction, ScaleAllAction, ShiftToSpareAction
from shadowsim.config_store import build_config, register_configs
from shadowsim.engine.engine import rejections
from shadowsim.live.config import LiveConfig
from shadowsim.live.deployment import DeployConfig, LiveLoop, TickReport
from shadowsim.resources import RESOURCES
from shadowsim_policies.base import Policy, PolicyContext
from shadowsim_policies.engine_settings import adopt_settings

REPO = Path(__file__).resolve().parents[1]

register_configs()
if not OmegaConf.has_resolver("repo_path"):
    OmegaConf.register_new_resolver("repo_path", lambda rel: str((REPO / rel).resolve()))


def live_context(loop: LiveLoop) -> PolicyContext:
    """The :class:`PolicyContext` of a started loop: live scaling lands at once, mid-tick."""
    engine = loop.engine
    cfg = engine.config
    return PolicyContext(
        observation_space=engine.builder.space,
        action_space=engine.codec.space,
        action_mode=engine.codec.config.mode,
        codec=engine.codec,
        interval_s=float(engine.spec.interval_s),
        forecast_leads=tuple(int(x) for x in cfg.observation.forecast_leads),
        quantiles=tuple(float(x) for x in cfg.observation.quantiles),
        scale_latency_s=0.0,
        lands_on_tick_boundary=False,
        max_change_factor=float(cfg.guardrails.max_change_factor),
    )


def describe(report: TickReport, app_ids: tuple[str, ...]) -> str:
    """One human-readable block for a tick: decisions, rejections, KPIs, cost, notes."""
    out = report.outcome
    state = out.state
    lines = [f"tick {report.step:3d}  t={state.time_s:9.1f} s  reward {out.reward:+.5f}"]
    for action in report.actions:
        match action:
            case ScaleAllAction():
                items = [
                    f"{app_ids[a]}.{RESOURCES[r].name.lower()}={action.targets[a, r]:.4g}"
                    f"{RESOURCES[r].unit}"
                    for a, r in zip(*np.nonzero(~np.isnan(action.targets)), strict=True)
                ]
                lines.append("  scale  " + ", ".join(items))
            case PoolTargetAction():
                lines.append(
                    f"  pool target (running, paused, hibernated, stopped) {list(action.targets)}"
                )
            case ShiftToSpareAction():
                lines.append(f"  shift component {action.component} to a spare")
            case _:
                lines.append(f"  {action}")
    if not report.actions:
        lines.append("  hold (no change)")
    lines += [f"  rejected/clamped: {line}" for line in rejections(out.results)]
    lines += [f"  guardrail: {note}" for note in out.guardrails.notes[:5]]
    violated = [app_ids[a] for a in np.flatnonzero(state.kpis.sla_violated)]
    lines.append(
        f"  cost {state.cost.total:.6f} cu  SLA violated (estimated): {violated or 'none'}  "
        f"pool {state.pool_count.tolist()}"
    )
    lines += [f"  note: {note}" for note in report.notes]
    lines += [f"  shadow: retrain {event.describe()}" for event in report.retrains]
    return "\n".join(lines)


def run_deployment(
    live: LiveConfig, deploy: DeployConfig, policy: Policy, *, echo: bool = True
) -> dict[str, Any]:
    """Connect, warm up, bind ``policy``, run it; returns the JSON summary.

    Args:
        live: The libvirt backend's settings.
        deploy: Warm-up, ticks, forecaster and engine settings.
        policy: An unbound policy (baseline or trained agent).
        echo: Print each tick's decisions.
    """
    from shadowsim.live.backend import LibvirtBackend

    began = time.perf_counter()
    engine, notes = adopt_settings(deploy.engine, policy.engine_settings, where="deploy.engine")
    if notes:  # a trained agent runs with the settings it was trained with
        deploy = replace(deploy, engine=engine)
        if echo:
            for note in notes:
                print(f"agent's settings: {note}")
    with LibvirtBackend(live) as backend:
        spec = backend.spec
        if echo:
            print(
                f"connected: {spec.n_hosts} host(s), {spec.n_apps} application(s), "
                f"{spec.n_components} component domain(s); pool {backend.pool.counts().tolist()}"
            )
            for note in backend.notes:
                print(f"  note: {note}")
        loop = LiveLoop(backend, deploy)
        loop.warm_up(
            (lambda k, notes: print(f"warm-up tick {k}" + "".join(f"\n  note: {n}" for n in notes)))
            if echo
            else None
        )
        loop.start()
        if echo and loop.service is not None:
            for event in loop.service.retrain_log:
                print(f"shadow: {event.describe()}")
        policy.bind(live_context(loop))
        reports = loop.run(policy, (lambda r: print(describe(r, spec.app_ids))) if echo else None)
        kinds: Counter[str] = Counter(type(a).__name__ for r in reports for a in r.actions)
        final = reports[-1].outcome.state if reports else backend.observe()
        summary = {
            "policy": policy.name or type(policy).__name__,
            "hosts": list(backend.hosts.uris),
            "apps": list(spec.app_ids),
            "components": spec.n_components,
            "warmup_ticks": deploy.warmup_ticks,
            "ticks": len(reports),
            "interval_s": spec.interval_s,
            "actions": dict(sorted(kinds.items())),
            "rejections": sum(len(rejections(r.outcome.results)) for r in reports),
            "guardrail_changes": sum(sum(r.outcome.guardrails.counts.values()) for r in reports),
            "sla_violation_ticks": sum(
                int(r.outcome.state.kpis.sla_violated.sum()) for r in reports
            ),
            "kpis_estimated": bool(backend.kpis_are_estimates),
            "mean_reward": float(np.mean([r.outcome.reward for r in reports])) if reports else 0.0,
            "cost_total_cu": final.cost_total.total,
            "pool_count": final.pool_count.tolist(),
            "allocation_total": final.allocation.sum(axis=0).round(3).tolist(),
            "notes": sum(len(r.notes) for r in reports),
            "wall_s": round(time.perf_counter() - began, 3),
        }
        if loop.service is not None:
            summary["shadow"] = {
                "serving": {i.app_id: f"{i.model_name} v{i.version} ({i.kind})"
                            for i in loop.service.instances},
                "retrains": len(loop.service.retrain_log),
                "tracking_uri": loop.service.registry.tracking_uri,
            }
    return summary


@entry_point("live/deploy")
def main(cfg: DictConfig) -> None:
    """Hydra entry point (see the module docstring)."""
    live = build_config(LiveConfig, cfg.live, "live")
    deploy = build_config(DeployConfig, cfg.deploy, "deploy")
    policy = hydra.utils.instantiate(cfg.policy)
    summary = run_deployment(live, deploy, policy)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
