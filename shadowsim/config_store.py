"""Config dataclasses <-> Hydra: register schemas in the ConfigStore and build configs back.

Every configurable class has a frozen dataclass schema next to it. YAML files in ``conf/``
hold values over those schemas: ``conf/workload/bitbrains.yaml`` starts with
``defaults: [bitbrains_schema, _self_]``, so a misspelt key is refused by Hydra with its full
name. :func:`build_config` turns the composed node back into the frozen dataclass, whose own
validation then names any bad value's key. The same dataclasses are used directly, without
Hydra, in tests and deployments.

Two details of OmegaConf shape this module: it makes nodes of frozen dataclasses read-only
(which would refuse command-line overrides), and it cannot type some fields (``tuple[float,
...]``). Schemas are therefore stored as writable nodes: typed when OmegaConf can type the
dataclass, otherwise as the dataclass's defaults in struct mode (keys still checked, values
checked by the dataclass).
"""

from __future__ import annotations

import dataclasses
import importlib
import re
import types
import typing
from enum import Enum
from typing import Any, TypeVar, Union

from omegaconf import DictConfig, ListConfig, Node, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from shadowsim.errors import ConfigError

T = TypeVar("T")

SCHEMAS: dict[tuple[str, str], str] = {
    ("workload", "synthetic"): "shadowsim.workloads.synthetic:SyntheticConfig",
    ("workload", "bitbrains"): "shadowsim.workloads.bitbrains:BitbrainsConfig",
    ("workload", "planetlab"): "shadowsim.workloads.planetlab:PlanetLabConfig",
    ("workload", "alibaba"): "shadowsim.workloads.alibaba:AlibabaConfig",
    ("workload", "csv"): "shadowsim.workloads.tabular:TabularConfig",
    ("cluster", "cluster"): "shadowsim.sim.config:ClusterConfig",
    ("env", "env"): "shadowsim_envs.env_config:EnvConfig",
    ("shadow", "shadow"): "shadowsim.shadow.service:ShadowConfig",
}
"""(group, name) -> "module:Class" of every schema; stored as ``<group>/<name>_schema``."""

_registered = False


def resolve(path: str) -> type[Any]:
    """The class named by ``"package.module:Class"``."""
    module, _, name = path.partition(":")
    cls: type[Any] = getattr(importlib.import_module(module), name)
    return cls


def _writable(node: Node) -> None:
    node._set_flag("readonly", None)
    children: list[Any] = []
    if isinstance(node, DictConfig):
        children = [node._get_node(key) for key in node]
    elif isinstance(node, ListConfig):
        children = [node._get_node(i) for i in range(len(node))]
    for child in children:
        if isinstance(child, Node):
            _writable(child)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def schema_node(cls: type[Any]) -> DictConfig:
    """A writable OmegaConf node for the dataclass ``cls`` (see the module docstring)."""
    node: DictConfig
    try:
        node = typing.cast(DictConfig, OmegaConf.structured(cls))
    except OmegaConfBaseException:
        node = OmegaConf.create(_plain(cls()))
        OmegaConf.set_struct(node, True)
    _writable(node)
    return node


def register_configs() -> None:
    """Store every schema of :data:`SCHEMAS` in Hydra's ConfigStore (idempotent)."""
    global _registered
    if _registered:
        return
    from hydra.core.config_store import ConfigStore

    store = ConfigStore.instance()
    for (group, name), path in SCHEMAS.items():
        store.store(group=group, name=f"{name}_schema", node=schema_node(resolve(path)))
    _registered = True


def build_config(cls: type[T], data: Any, key: str = "") -> T:
    """Build the (frozen) dataclass ``cls`` from a Hydra node or plain containers.

    Lists become tuples, enum names or values become members, mappings become nested
    dataclasses, following ``cls``'s type hints.

    Args:
        cls: The config dataclass.
        data: A DictConfig, a mapping, or already an instance of ``cls``.
        key: Dotted key of ``data`` in the whole config, for error messages.

    Raises:
        ConfigError: An unknown key or a value that cannot be converted; the dataclass's own
            validation errors pass through.
    """
    if isinstance(data, cls):
        return data
    if isinstance(data, DictConfig | ListConfig):
        data = OmegaConf.to_container(data, resolve=True)
    return typing.cast(T, _convert(cls, data, key or cls.__name__))


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(arg, value, key)
            except (ConfigError, TypeError, ValueError):
                continue
        raise ConfigError(key, f"cannot read {value!r} as {tp}")
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a mapping of {tp.__name__} fields, got {value!r}")
        hints = typing.get_type_hints(tp)
        fields = {f.name for f in dataclasses.fields(tp) if f.init}
        unknown = sorted(set(value) - fields)
        if unknown:
            known = ", ".join(sorted(fields))
            raise ConfigError(f"{key}.{unknown[0]}", f"unknown key; {tp.__name__} has: {known}")
        kwargs = {k: _convert(hints[k], v, f"{key}.{k}") for k, v in value.items()}
        try:
            return tp(**kwargs)
        except ConfigError as err:  # a check naming one of its own fields: name it in full
            if re.split(r"[.\[]", err.key, maxsplit=1)[0] in fields:
                raise err.under(key) from err
            raise
    if isinstance(tp, type) and issubclass(tp, Enum):
        if isinstance(value, tp):
            return value
        for member in tp:
            if value in (member.name, member.value) or (
                isinstance(value, str) and value.lower() == member.name.lower()
            ):
                return member
        names = ", ".join(m.name for m in tp)
        raise ConfigError(key, f"{value!r} is not one of {names}")
    if origin is tuple:
        args = typing.get_args(tp)
        if not isinstance(value, list | tuple):
            raise ConfigError(key, f"expected a list, got {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
        if args and len(args) != len(value):
            raise ConfigError(key, f"expected {len(args)} values, got {len(value)}")
        pairs = enumerate(zip(args, value, strict=True))
        return tuple(_convert(a, v, f"{key}[{i}]") for i, (a, v) in pairs)
    if origin is list:
        (arg,) = typing.get_args(tp) or (Any,)
        return [_convert(arg, v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, varg = typing.get_args(tp) or (Any, Any)
        if not isinstance(value, dict):
            raise ConfigError(key, f"expected a mapping, got {value!r}")
        return {k: _convert(varg, v, f"{key}.{k}") for k, v in value.items()}
    if tp is float and isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value
