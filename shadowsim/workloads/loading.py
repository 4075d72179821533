"""Load a :class:`Workload` from any source's config: the one entry point experiments use.

Every workload source is a config dataclass plus a class with ``load() -> Workload``; the
``WORKLOAD_SOURCES`` catalog maps the source's name (also its Hydra option in
``conf/workload/``) to that pair.

Example:
    >>> from shadowsim.workloads.loading import load_workload
    >>> from shadowsim.workloads.synthetic import SyntheticConfig
    >>> wl = load_workload(SyntheticConfig(n_apps=4, n_ticks=288))
    >>> wl.demand.shape
    (4, 288, 4)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from shadowsim.catalog import Catalog
from shadowsim.errors import ConfigError
from shadowsim.workloads.alibaba import AlibabaConfig, AlibabaReader
from shadowsim.workloads.bitbrains import BitbrainsConfig, BitbrainsReader
from shadowsim.workloads.planetlab import PlanetLabConfig, PlanetLabReader
from shadowsim.workloads.synthetic import SyntheticConfig, SyntheticGenerator
from shadowsim.workloads.tabular import TabularConfig, TabularReader
from shadowsim.workloads.workload import Workload


class WorkloadLoader(Protocol):
    """Anything that turns its config into a workload."""

    def load(self) -> Workload:
        """Read or generate the workload."""
        ...


@dataclass(frozen=True)
class WorkloadSource:
    """A workload source: its config dataclass and the class that loads it."""

    config: type[Any]
    loader: type[Any]


WORKLOAD_SOURCES: Catalog[WorkloadSource] = Catalog("workload source")
for _name, _source in {
    "synthetic": WorkloadSource(SyntheticConfig, SyntheticGenerator),
    "bitbrains": WorkloadSource(BitbrainsConfig, BitbrainsReader),
    "planetlab": WorkloadSource(PlanetLabConfig, PlanetLabReader),
    "alibaba": WorkloadSource(AlibabaConfig, AlibabaReader),
    "csv": WorkloadSource(TabularConfig, TabularReader),
}.items():
    WORKLOAD_SOURCES.add(_name, _source)


def load_workload(config: Any) -> Workload:
    """Load the workload a source config describes.

    Args:
        config: A source config dataclass (e.g. :class:`BitbrainsConfig`) or the Hydra node
            ``cfg.workload`` built from one of the ``conf/workload/`` options.

    Returns:
        The workload, with its repairs report.

    Raises:
        ConfigError: ``config`` is not a workload source config.
        TraceFormatError: A trace file is malformed.
    """
    from omegaconf import DictConfig, OmegaConf

    from shadowsim.config_store import build_config

    from_hydra = isinstance(config, DictConfig)
    if from_hydra:
        schema = OmegaConf.get_type(config)
        if isinstance(schema, type) and schema is not dict:
            config = build_config(schema, config, key="workload")
    for name in WORKLOAD_SOURCES:
        source = WORKLOAD_SOURCES.get(name)
        if type(config) is source.config:
            loader: WorkloadLoader = source.loader(config)
            try:
                return loader.load()
            except ConfigError as err:
                # from a Hydra node, name the key as the user wrote it: workload.path
                named = err.under("workload") if from_hydra else err
                if named is err:
                    raise
                raise named from err
    known = ", ".join(WORKLOAD_SOURCES.names())
    raise ConfigError(
        "workload",
        f"expected the config of a workload source ({known}), got {type(config).__name__}; "
        "choose one with workload=NAME",
    )
