"""Tiny real guests for the live adapter's tests on QEMU (KVM, or TCG without /dev/kvm).

A guest is a 1 MiB raw disk whose boot sector holds a few bytes of 16-bit code that the
BIOS (SeaBIOS) boots: no operating system, so nothing to download, and each guest does one
thing the hypervisor can measure. The programs, assembled with GNU as (``.code16``, linked
at 0x7c00):

* BUSY: ``jmp .`` - one vCPU busy for ever (its CPU time grows at 1 s/s).
* IDLE: ``sti; hlt; jmp .-3`` - halted between timer interrupts (almost no CPU time).
* DISK_READER: reads 16 sectors from the start of its disk through the BIOS
  (``int 0x13``, AH=02h) into 1000:0000, for ever: about 2 MB/s of real disk reads under
  KVM, which a disk limit (``setBlockIoTune``) throttles.

Other vCPUs of a guest (hot-plugged ones included) wait for a start-up IPI that never
comes: they use no CPU time. The guests have a virtio balloon device but no driver for it,
so a new memory target is accepted by libvirt and never reached.

``qemu_host()`` finds the hypervisor (``SHADOWSIM_QEMU_URI``, default ``qemu:///system``) or
skips the calling test with the reason and the fix (``.ci/install_qemu.sh``; CI runs it).
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shadowsim.live.binding import libvirt_available, load_libvirt

BUSY = bytes.fromhex("ebfe")
IDLE = bytes.fromhex("fbf4ebfd")
DISK_READER = bytes.fromhex(
    "fa31c08ed0bc007cfb"  # cli; xor ax,ax; mov ss,ax; mov sp,0x7c00; sti
    "b800108ec0"  # mov ax,0x1000; mov es,ax
    "b81002b90100ba800031db"  # again: mov ax,0x0210; mov cx,1; mov dx,0x80; xor bx,bx
    "cd13ebf1"  # int 0x13; jmp again
)
IMAGE_BYTES = 1024 * 1024
PREFIX = f"shadowsim-test-{os.getpid()}-"
"""Name prefix of every domain these tests make (the pid keeps parallel runs apart)."""

SKIP_REASON = (
    "no QEMU hypervisor behind libvirt at {uri} ({why}): run .ci/install_qemu.sh as root "
    "(installs qemu-system-x86 and libvirt-daemon, starts libvirtd); CI runs it"
)


@dataclass(frozen=True)
class QemuHost:
    """A reachable QEMU hypervisor.

    Attributes:
        uri: Its libvirt URI.
        virt_type: ``kvm`` when KVM is usable, else ``qemu`` (TCG emulation).
        emulator: Path of the QEMU binary libvirt reports.
        conn: An open connection (closed when the test module ends).
    """

    uri: str
    virt_type: str
    emulator: str
    conn: Any


def qemu_host() -> QemuHost:
    """The hypervisor, or ``pytest.skip`` with the reason."""
    uri = os.environ.get("SHADOWSIM_QEMU_URI", "qemu:///system")
    if not libvirt_available():
        pytest.skip(SKIP_REASON.format(uri=uri, why="libvirt-python is not installed"))
    lv = load_libvirt()
    try:
        conn = lv.open(uri)
    except lv.libvirtError as err:
        pytest.skip(SKIP_REASON.format(uri=uri, why=str(err).strip()))
    for virt_type in ("kvm", "qemu"):
        try:
            caps = conn.getDomainCapabilities(None, "x86_64", None, virt_type, 0)
        except lv.libvirtError:
            continue
        path = ET.fromstring(caps).findtext("path")
        if path:
            return QemuHost(uri, virt_type, path, conn)
    conn.close()
    pytest.skip(SKIP_REASON.format(uri=uri, why="it offers no x86_64 guests"))


def boot_image(path: Path, program: bytes) -> Path:
    """Write a raw disk whose boot sector runs ``program``; returns ``path``."""
    sector = program + bytes(510 - len(program)) + b"\x55\xaa"
    path.write_bytes(sector + bytes(IMAGE_BYTES - len(sector)))
    return path


def domain_xml(
    host: QemuHost,
    name: str,
    image: Path | None,
    *,
    vcpus: int = 1,
    max_vcpus: int = 2,
    memory_mib: int = 64,
) -> str:
    """A guest booting ``image`` (no disk: the BIOS finds nothing to boot and waits)."""
    disk = (
        ""
        if image is None
        else "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        f"<source file='{image}'/><target dev='hda' bus='ide'/></disk>"
    )
    return (
        f"<domain type='{host.virt_type}'><name>{name}</name>"
        f"<memory unit='MiB'>{memory_mib}</memory>"
        f"<vcpu placement='static' current='{vcpus}'>{max_vcpus}</vcpu>"
        "<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/>"
        "<bootmenu enable='no'/></os><features><acpi/></features>"
        f"<on_crash>destroy</on_crash><devices><emulator>{host.emulator}</emulator>{disk}"
        "<memballoon model='virtio'/></devices></domain>"
    )


@contextmanager
def guests(
    host: QemuHost, tmp_path: Path, programs: dict[str, bytes]
) -> Iterator[dict[str, str]]:
    """Start one transient guest per ``label: program``; yields ``label: domain name`` and
    destroys them afterwards."""
    lv = load_libvirt()
    names: dict[str, str] = {}
    try:
        for label, program in programs.items():
            name = PREFIX + label
            image = boot_image(tmp_path / f"{label}.img", program)
            host.conn.createXML(domain_xml(host, name, image), 0)
            names[label] = name
        yield names
    finally:
        for name in names.values():
            with suppress(lv.libvirtError):
                host.conn.lookupByName(name).destroy()


def remove_domains(host: QemuHost, prefix: str) -> None:
    """Stop and undefine (managed-save image included) every domain named ``prefix...``."""
    lv = load_libvirt()
    for dom in host.conn.listAllDomains(0):
        if not dom.name().startswith(prefix):
            continue
        if dom.isActive():
            dom.destroy()
        if dom.isPersistent():
            dom.undefineFlags(lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)


def wait_for_reads(host: QemuHost, names: dict[str, str], min_bytes: int = 512) -> None:
    """Wait until each guest has read ``min_bytes`` of its disk: 512 (the boot sector) means
    the BIOS has booted it (after a few seconds) and its program runs."""
    deadline = time.monotonic() + 60.0
    for name in names.values():
        dom = host.conn.lookupByName(name)
        while dom.blockStats("hda")[1] < min_bytes:
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} read less than {min_bytes} bytes in 60 s")
            time.sleep(0.1)
