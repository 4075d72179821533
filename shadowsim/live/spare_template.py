"""The domain XML template spare VMs are defined from.

A template is an ordinary libvirt domain XML file (``live.pool.template``). For each spare
the adapter replaces the text ``{{name}}`` by the spare's name (use it in disk image paths:
every spare needs its own disk, e.g. a qcow2 overlay prepared by the operator), sets
``<name>``, drops ``<uuid>``, the ``id`` attribute, interface ``<mac>`` and ``<target>``
elements (libvirt generates unique ones), and adds the spare marker element
``<spare/>`` in the namespace :data:`SPARE_NS` to ``<metadata>``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from shadowsim.errors import ConfigError

SPARE_NS = "https://shadowsim.dev/xmlns/live/spare/1"
"""XML namespace of the spare marker element."""
NAME_PLACEHOLDER = "{{name}}"

_KIB_PER_UNIT = {
    "b": 1 / 1024,
    "bytes": 1 / 1024,
    "kb": 1000 / 1024,
    "k": 1.0,
    "kib": 1.0,
    "mb": 1e6 / 1024,
    "m": 1024.0,
    "mib": 1024.0,
    "gb": 1e9 / 1024,
    "g": 1024.0**2,
    "gib": 1024.0**2,
    "tb": 1e12 / 1024,
    "t": 1024.0**3,
    "tib": 1024.0**3,
}


@dataclass(frozen=True)
class SpareTemplate:
    """A parsed template.

    Attributes:
        path: Where it was read from.
        text: The template text.
        vcpus: vCPUs a spare starts with.
        memory_mib: Memory a spare starts with, MiB.
    """

    path: Path
    text: str
    vcpus: int
    memory_mib: float

    @classmethod
    def load(cls, path: str | Path) -> SpareTemplate:
        """Read and check a template file.

        Raises:
            ConfigError: (key ``live.pool.template``) the file is missing, not XML, not a
                domain, or lacks ``<vcpu>`` / ``<memory>``.
        """
        file = Path(path)
        key = "live.pool.template"
        try:
            text = file.read_text()
        except OSError as err:
            raise ConfigError(key, f"cannot read the spare template {file}: {err}") from err
        try:
            root = ET.fromstring(text.replace(NAME_PLACEHOLDER, "spare"))
        except ET.ParseError as err:
            line, column = err.position
            raise ConfigError(
                key, f"{file}, line {line}, column {column + 1}: not valid XML ({err})"
            ) from err
        if root.tag != "domain":
            raise ConfigError(key, f"{file}: root element is <{root.tag}>, expected <domain>")
        vcpu = root.find("vcpu")
        if vcpu is None or not (vcpu.text or "").strip().isdigit():
            raise ConfigError(key, f"{file}: needs <vcpu>N</vcpu> with a whole number")
        vcpus = int(vcpu.get("current", vcpu.text or "0"))
        memory = root.find("currentMemory")
        if memory is None:
            memory = root.find("memory")
        if memory is None:
            raise ConfigError(key, f"{file}: needs a <memory> element")
        unit = memory.get("unit", "KiB").lower()
        if unit not in _KIB_PER_UNIT:
            raise ConfigError(key, f"{file}: unknown memory unit {unit!r}; use KiB, MiB or GiB")
        try:
            kib = float((memory.text or "").strip()) * _KIB_PER_UNIT[unit]
        except ValueError as err:
            raise ConfigError(key, f"{file}: memory {memory.text!r} is not a number") from err
        return cls(file, text, vcpus, kib / 1024.0)

    def render(self, name: str) -> str:
        """The domain XML of the spare called ``name``."""
        root = ET.fromstring(self.text.replace(NAME_PLACEHOLDER, name))
        root.attrib.pop("id", None)
        for tag in ("uuid", "name"):
            for element in root.findall(tag):
                root.remove(element)
        name_element = ET.Element("name")
        name_element.text = name
        root.insert(0, name_element)
        for nic in root.iterfind("./devices/interface"):
            for tag in ("mac", "target"):
                for element in nic.findall(tag):
                    nic.remove(element)
        metadata = root.find("metadata")
        if metadata is None:
            metadata = ET.SubElement(root, "metadata")
        ET.SubElement(metadata, f"{{{SPARE_NS}}}spare")
        return ET.tostring(root, encoding="unicode")
