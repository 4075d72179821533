"""The main job: shadow models, then every policy on the test window, compared.

    python -m experiments.simulate
    python -m experiments.simulate workload=bitbrains \\
        workload.path=../shared/traces/bitbrains_rnd/2013-8

Steps: load the workload (printing every repair made to it); train the shadow forecasters on
the training part and register them in the MLflow model registry (``shadow.*``; with
``workload_scoped_models``, the default, the registered names carry the
:meth:`~shadowsim.workloads.workload.Workload.data_key` of the training part, e.g.
``shadow-synthetic-8e961a14a5-global``, so models trained on other data, or on ticks of this
test window, are neither compared with these nor served in their place); replay the
test window (the last ``env.test_window_s``) on the simulated cluster under each policy of
``policies`` with the served champion's forecasts in the observations, and under the oracle
for the regret; print the comparison (a rich table), log one MLflow run per policy, write
``comparison.png``, and print one JSON object as the last line.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from experiments.entry_point import entry_point
from experiments.json_line import print_json_line
from shadowsim.config_store import build_config, register_configs
from shadowsim.metrics.episode_metrics import EpisodeMetrics
from shadowsim.shadow.forecaster import Forecaster
from shadowsim.shadow.registry import ShadowRegistry
from shadowsim.shadow.service import ShadowConfig, ShadowService
from shadowsim.sim.config import ClusterConfig
from shadowsim.workloads.loading import load_workload
from shadowsim.workloads.workload import Workload
from shadowsim_envs.env_config import EnvConfig
from shadowsim_policies.evaluation import compare, mean_metrics
from shadowsim_policies.workload_fit import fit_to_workload

register_configs()


def train_shadow_models(
    workload: Workload, config: ShadowConfig, train_end: int, registry: ShadowRegistry
) -> tuple[Forecaster, dict[str, Any], str]:
    """Bootstrap the shadow service on ``[0, train_end)``; return what serves.

    Returns:
        The serving models as one forecaster over every application (one global model, or
        one model per application under PER_APP grouping) and a JSON-able description of
        the registered versions: each model's champion, the version serving it and its kind
        (which may differ from ``config.forecaster`` when a version of another kind scored
        better on the validation window and stays champion), and the retrain events; and
        one line on what serves (the model and version when one serves, else how many
        models of each kind).
    """
    service = ShadowService(config, workload.app_ids, workload.interval_s, registry=registry)
    events = service.bootstrap(workload.demand[:, :train_end], workload.start_time_s)
    names = service.model_names
    served = {i.model_name: (i.version, i.kind) for i in service.instances}
    serving = {name: f"v{version} ({kind})" for name, (version, kind) in served.items()}
    if len(served) == 1:
        summary = " ".join(f"{name} {text}" for name, text in serving.items())
    else:
        kinds = Counter(kind for _, kind in served.values())
        summary = f"{len(served)} models: " + ", ".join(f"{n} {k}" for k, n in kinds.items())
    info = {
        "models": list(names),
        "champion": {name: registry.champion_version(name) for name in names},
        "serving": serving,
        "events": [event.describe() for event in events],
    }
    return service.served_models(), info, summary


def print_comparison(rows: dict[str, EpisodeMetrics], title: str) -> None:
    """One column per policy, one row per metric every comparison uses."""
    from rich.console import Console
    from rich.table import Table

    def regret(m: EpisodeMetrics) -> str:
        return "-" if m.regret_relative is None else f"{100 * m.regret_relative:+.1f}%"

    table = Table(title=title)
    columns: list[tuple[str, Callable[[EpisodeMetrics], str]]] = [
        ("cost (cu)", lambda m: f"{m.cost:.1f}"),
        ("CPU slack", lambda m: f"{100 * m.relative_slack[0]:.1f}%"),
        ("mem slack", lambda m: f"{100 * m.relative_slack[1]:.1f}%"),
        ("SLA viol.", lambda m: f"{100 * m.sla_violation_rate:.2f}%"),
        ("SLA viol. HIGH", lambda m: f"{100 * m.sla_violation_rate_high:.2f}%"),
        ("p95 resp. (s)", lambda m: f"{m.p95_response_time_s:.3g}"),
        ("throughput (rps)", lambda m: f"{m.throughput_rps:.4g}"),
        ("migrations", lambda m: f"{m.migrations:.0f}"),
        ("pool cost (cu)", lambda m: f"{m.cost_pool:.2f}"),
        (
            "regret",
            lambda m: "-" if m.regret_relative is None else f"{100 * m.regret_relative:+.1f}%",
        ),
    ]
    table.add_column("metric")
    for policy in rows:
        table.add_column(policy, justify="right")
    for name, fmt in columns:
        table.add_row(name, *(fmt(m) for m in rows.values()))
    Console().print(table)


@entry_point("simulate")
def main(cfg: DictConfig) -> None:
    """Hydra entry point (see the module docstring)."""
    import torch
    from hydra.core.hydra_config import HydraConfig
    from hydra.utils import get_original_cwd, instantiate

    from experiments.tracking import RunLogger
    from shadowsim.metrics.plots import plot_comparison

    torch.set_num_threads(int(cfg.threads))
    started = time.perf_counter()
    seeds = [int(s) for s in cfg.seeds]
    cluster = build_config(ClusterConfig, cfg.cluster, key="cluster")
    base = build_config(EnvConfig, cfg.env, key="env")
    shadow_config = build_config(ShadowConfig, cfg.shadow, key="shadow")

    workloads: dict[int, Workload] = {}

    def workload_for_seed(seed: int) -> Workload:
        key = seed if cfg.vary_metadata_seed else -1
        if key not in workloads:
            node = cfg.workload
            if key >= 0 and "metadata" in node:
                node = OmegaConf.merge(node, {"metadata": {"seed": seed}})
            workloads.clear()
            workloads[key] = load_workload(node)
        return workloads[key]

    workload = workload_for_seed(seeds[0])
    print(
        f"workload {workload.source}: {workload.n_apps} apps x {workload.n_ticks} ticks "
        f"of {workload.interval_s:g} s"
    )
    print("repairs:", workload.repairs.summary().replace("\n", "; "))
    fitted = fit_to_workload(workload.n_ticks, workload.interval_s, base, cluster, shadow_config)
    base, cluster, shadow_config = fitted.env, fitted.cluster, fitted.shadow
    for note in fitted.notes:
        print(f"short workload: {note}")

    root = Path(get_original_cwd()) / str(cfg.tracking_root)
    root.mkdir(parents=True, exist_ok=True)
    test_ticks = round(base.test_window_s / workload.interval_s)
    train_end = workload.n_ticks - test_ticks
    if cfg.workload_scoped_models:  # models of other data never share a lineage with these
        prefix = f"{shadow_config.model_prefix}-{workload.window(0, train_end).data_key()}"
        shadow_config = replace(shadow_config, model_prefix=prefix)
    registry = ShadowRegistry(cfg.tracking_uri, replace(shadow_config.registry, root=str(root)))
    forecaster, shadow_info, serving = train_shadow_models(
        workload, shadow_config, train_end, registry
    )
    print(f"shadow models: {shadow_info['models']} champion {shadow_info['champion']}")
    print(f"serving: {serving}")

    results = compare(
        {str(name): partial(instantiate, node) for name, node in cfg.policies.items()},
        workload_for_seed,
        cluster,
        base,
        seeds,
        regret=bool(cfg.regret),
        forecaster_factory=lambda: forecaster,
    )
    means = {name: mean_metrics([r.metrics for r in runs]) for name, runs in results.items()}
    title = f"test window of {workload.source} ({len(seeds)} seed(s))"
    print_comparison(means, title)

    out_dir = Path(HydraConfig.get().runtime.output_dir)
    plot_path = plot_comparison(means, out_dir / "comparison.png", title) if cfg.plot else None
    run_ids: dict[str, str] = {}
    for name, metrics in means.items():
        with RunLogger(cfg.tracking_uri, root, str(cfg.experiment), f"simulate/{name}") as run:
            run.log_params(
                {
                    "policy": name,
                    "workload": workload.source,
                    "seeds": seeds,
                    "cluster": OmegaConf.to_container(cfg.cluster, resolve=True),
                }
            )
            run.log_seeds([r.metrics for r in results.get(name, [])], metrics.as_dict())
            run.set_tags({"policy": name, "workload": workload.source})
            if plot_path is not None:
                run.log_artifact(plot_path)
            run_ids[name] = run.run_id
    if plot_path is not None:
        print(f"plot: {plot_path}")
    print(f"MLflow: mlflow ui --backend-store-uri {registry.tracking_uri}")
    payload = {
        "workload": workload.source,
        "n_apps": workload.n_apps,
        "test_ticks": test_ticks,
        "seeds": seeds,
        "shadow": shadow_info,
        "policies": {name: m.as_dict() for name, m in means.items()},
        "mlflow_runs": run_ids,
        "wall_s": round(time.perf_counter() - started, 2),
    }
    print_json_line(payload)


if __name__ == "__main__":
    main()
