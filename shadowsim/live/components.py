"""Finding the libvirt domain of every application component (:class:`ComponentSource`).

Each application component is one libvirt domain on one host. Components are numbered
application by application (the components of application 0 first, in their index
order), as in the simulator. The sources:

* CONFIG: ``live.apps[i].domains`` names them; each must exist on exactly one host.
* METADATA: each component domain carries ``<component app="ID" index="N"/>`` in the
  namespace :data:`COMPONENT_NS`, e.g. ``virsh metadata web-0 --uri
  https://shadowsim.dev/xmlns/live/component/1 --key shadowsim --set '<component app="web"
  index="0"/>'``. The adapter writes the same element onto a spare that takes over a
  component, so discovery finds it after a restart.
* NAMING: domain names match ``live.name_pattern`` (groups ``app`` and ``index``).

For METADATA and NAMING, applications listed in ``live.apps`` keep that order and their
settings; the others follow sorted by id with default settings. Indices of an application
must be ``0 .. k-1`` without gaps. Spare domains (``live.pool.name_prefix``) are never
components unless a source names them. The critical flags follow ``apps[i].critical`` or the
simulator's rule: the first component of every application and every component of a HIGH
priority application.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

from shadowsim.errors import ConfigError, UnknownNameError
from shadowsim.live.binding import error_code, error_text
from shadowsim.live.config import AppConfig, ComponentSource, LiveConfig
from shadowsim.live.hosts import HostSet
from shadowsim.workloads.workload import Priority

COMPONENT_NS = "https://shadowsim.dev/xmlns/live/component/1"
"""XML namespace of the component metadata element."""
COMPONENT_KEY = "shadowsim"
"""Namespace prefix used when the adapter writes the element."""


@dataclass(frozen=True)
class ComponentLayout:
    """Applications and their component domains as found on the hosts.

    Attributes:
        apps: The applications, in index order.
        domains: ``(C,)`` domain name of each component.
        hosts: ``(C,)`` host index of each component.
        component_app: ``(C,)`` application index of each component.
        share: ``(C,)`` share of its application's demand each component carries.
        critical: ``(C,)`` True for components never moved to a spare.
    """

    apps: tuple[AppConfig, ...]
    domains: tuple[str, ...]
    hosts: tuple[int, ...]
    component_app: tuple[int, ...]
    share: tuple[float, ...]
    critical: tuple[bool, ...]


def component_element(app_id: str, index: int) -> str:
    """The metadata element marking a domain as component ``index`` of ``app_id``."""
    element = ET.Element("component", {"app": app_id, "index": str(index)})
    return ET.tostring(element, encoding="unicode")


def _layout(apps: list[AppConfig], found: dict[str, list[tuple[str, int]]]) -> ComponentLayout:
    """Assemble the layout from each app's ``[(domain, host), ...]`` in component order."""
    domains: list[str] = []
    hosts: list[int] = []
    comp_app: list[int] = []
    share: list[float] = []
    critical: list[bool] = []
    for a, app in enumerate(apps):
        members = found[app.id]
        k = len(members)
        shares = app.shares if app.shares is not None else (1.0 / k,) * k
        if len(shares) != k:
            raise ConfigError(
                f"live.apps[{a}].shares", f"has {len(shares)} entries for {k} domains"
            )
        flags = app.critical
        if flags is None:
            flags = tuple(j == 0 or app.priority == Priority.HIGH for j in range(k))
        elif len(flags) != k:
            raise ConfigError(
                f"live.apps[{a}].critical", f"has {len(flags)} entries for {k} domains"
            )
        for j, (name, host) in enumerate(members):
            domains.append(name)
            hosts.append(host)
            comp_app.append(a)
            share.append(float(shares[j]))
            critical.append(bool(flags[j]))
    return ComponentLayout(
        tuple(apps), tuple(domains), tuple(hosts), tuple(comp_app), tuple(share), tuple(critical)
    )


def _from_config(config: LiveConfig, hosts: HostSet) -> ComponentLayout:
    found: dict[str, list[tuple[str, int]]] = {}
    for a, app in enumerate(config.apps):
        members: list[tuple[str, int]] = []
        for j, name in enumerate(app.domains):
            where = [h for h in range(hosts.n_hosts) if hosts.lookup(h, name) is not None]
            key = f"live.apps[{a}].domains[{j}]"
            if not where:
                unknown = UnknownNameError("domain", name, hosts.domain_names())
                raise ConfigError(
                    key,
                    f"{unknown} It exists on none of the hosts {list(hosts.uris)}; check "
                    "`virsh list --all` on each host",
                )
            if len(where) > 1:
                raise ConfigError(
                    key,
                    f"domain {name!r} exists on several hosts {[hosts.names[h] for h in where]}; "
                    "component domains need unique names: rename one",
                )
            members.append((name, where[0]))
        found[app.id] = members
    return _layout(list(config.apps), found)


def _metadata(hosts: HostSet, dom: Any) -> tuple[str, str] | None:
    """``(app, index)`` text of a domain's component element, or None when it has none."""
    lv = hosts.lv
    try:
        text = str(dom.metadata(lv.VIR_DOMAIN_METADATA_ELEMENT, COMPONENT_NS, 0))
    except lv.libvirtError as err:
        if error_code(err) == lv.VIR_ERR_NO_DOMAIN_METADATA:
            return None
        raise ConfigError(
            "live.components",
            f"reading the metadata of domain {dom.name()!r} failed: {error_text(err)}",
        ) from err
    try:
        element = ET.fromstring(text)
    except ET.ParseError as err:
        raise ConfigError(
            "live.components", f"domain {dom.name()!r}: component metadata is not XML: {err}"
        ) from err
    app, index = element.get("app"), element.get("index")
    if app is None or index is None:
        raise ConfigError(
            "live.components",
            f"domain {dom.name()!r}: component metadata {text!r} needs attributes app and index",
        )
    return app, index


def _discover(config: LiveConfig, hosts: HostSet) -> ComponentLayout:
    pattern = re.compile(config.name_pattern)
    by_app: dict[str, dict[int, tuple[str, int]]] = {}
    source = config.components
    for h in range(hosts.n_hosts):
        for dom in hosts.domains(h):
            name = str(dom.name())
            if source is ComponentSource.METADATA:
                tag = _metadata(hosts, dom)
            else:
                match = None if name.startswith(config.pool.name_prefix) else pattern.match(name)
                tag = (match.group("app"), match.group("index")) if match else None
            if tag is None:
                continue
            app_id, index_text = tag
            if not index_text.isdigit():
                raise ConfigError(
                    "live.components", f"domain {name!r}: index {index_text!r} is not a number"
                )
            slot = by_app.setdefault(app_id, {})
            index = int(index_text)
            if index in slot:
                raise ConfigError(
                    "live.components",
                    f"domains {slot[index][0]!r} and {name!r} both claim component {index} of "
                    f"application {app_id!r}; fix one's {source.name.lower()}",
                )
            slot[index] = (name, h)
    configured = {a.id: a for a in config.apps}
    missing = [a for a in configured if a not in by_app]
    if missing:
        raise ConfigError(
            "live.apps",
            f"no domain on any host is a component of {missing} (source {source.name}); check "
            "the domains' metadata or names",
        )
    if not by_app:
        hint = {
            ComponentSource.NAMING: "no domain name matches live.name_pattern",
            ComponentSource.METADATA: "no domain carries <component app=... index=.../> metadata "
            f"in the namespace {COMPONENT_NS}",
        }.get(source, "list the domains under live.apps")
        raise ConfigError(
            "live.components",
            f"found no component domains on {list(hosts.uris)} with source {source.name}: "
            f"{hint}",
        )
    apps = list(config.apps) + [AppConfig(id=a) for a in sorted(by_app) if a not in configured]
    found: dict[str, list[tuple[str, int]]] = {}
    for app in apps:
        slot = by_app[app.id]
        if sorted(slot) != list(range(len(slot))):
            raise ConfigError(
                "live.components",
                f"application {app.id!r} has component indices {sorted(slot)}; they must be "
                f"0..{len(slot) - 1} without gaps",
            )
        found[app.id] = [slot[i] for i in range(len(slot))]
    return _layout(apps, found)


def find_components(config: LiveConfig, hosts: HostSet) -> ComponentLayout:
    """The component layout per ``config.components``.

    Raises:
        ConfigError: A named domain is missing or ambiguous, indices clash or have gaps, or
            nothing is found; the message names the key or the domains.
    """
    if config.components is ComponentSource.CONFIG:
        return _from_config(config, hosts)
    return _discover(config, hosts)
