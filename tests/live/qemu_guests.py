"""Tiny real guests for the live adapter's tests on QEMU (KVM, or TCG without /dev/kvm).

A guest runs a few bytes of machine code and no operating system, so there is nothing to
download, and each guest does one thing the hypervisor can measure. Two ways to boot one:

* as a multiboot kernel (``<os><kernel>``): the BIOS loads the file at 1 MiB and jumps to
  its code in 32-bit protected mode; the guest has no disk, so libvirt can live-migrate it
  without shared storage. Its first instruction writes 1 at ``STARTED_AT``, which the tests
  read back (``virDomainMemoryPeek``) to know the program runs.
* from the boot sector of a 1 MiB raw disk; the code runs in 16-bit real mode and can call
  the BIOS. That it runs shows as the boot sector read (``virDomainBlockStats``).

Under KVM the BIOS takes about five seconds to get there either way (under TCG less). The
programs (hex; assembled with GNU as):

* BUSY (kernel): ``movb $1, STARTED_AT; jmp .`` - one vCPU busy for ever (its CPU time
  grows at 1 s/s).
* IDLE (kernel): ``movb $1, STARTED_AT; cli; hlt; jmp .-1`` - the vCPU halted for good (no
  CPU time).
* DISK_READER (disk): reads 16 sectors from the start of its disk through the BIOS
  (``int 0x13``, AH=02h) into 1000:0000, for ever: about 2 MB/s of real disk reads under
  KVM, which a disk limit (``setBlockIoTune``) throttles.

Other vCPUs of a guest (hot-plugged ones included) wait for a start-up IPI that never
comes: they use no CPU time. The guests have a virtio balloon device but no driver for it,
so a new memory target is accepted by libvirt and never reached.

``qemu_host()`` finds the hypervisor (``SHADOWSIM_QEMU_URI``, default ``qemu:///system``) or
skips the calling test with the reason and the fix (``.ci/install_qemu.sh``; CI runs it);
``second_host()`` a second libvirtd on the same machine that looks like another host (its
own host UUID and hostname; ``SHADOWSIM_QEMU_URI2``, default the one the script starts at
``qemu+tcp://127.0.0.1:16510/system``), for live migration.
"""

from __future__ import annotations

import os
import struct
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from shadowsim.cluster_state import ClusterState
from shadowsim.live.backend import LibvirtBackend
from shadowsim.live.binding import libvirt_available, load_libvirt
from shadowsim.live.config import AppConfig, ClockKind, HostConfig, LiveConfig


@dataclass(frozen=True)
class Program:
    """A guest's code.

    Attributes:
        code: Machine code.
        from_disk: Booted by the BIOS from a disk's boot sector (16-bit code that may call
            the BIOS); else loaded as a multiboot kernel (32-bit code, no disk).
    """

    code: bytes
    from_disk: bool = False


STARTED_AT = 0x1000F0
"""Physical address a kernel program sets to 1 first (just past the loaded file)."""
_MARK = bytes.fromhex("c605f000100001")  # movb $1, 0x1000f0
BUSY = Program(_MARK + bytes.fromhex("ebfe"))
IDLE = Program(_MARK + bytes.fromhex("faf4ebfd"))
DISK_READER = Program(
    bytes.fromhex(
        "fa31c08ed0bc007cfb"  # cli; xor ax,ax; mov ss,ax; mov sp,0x7c00; sti
        "b800108ec0"  # mov ax,0x1000; mov es,ax
        "b81002b90100ba800031db"  # again: mov ax,0x0210; mov cx,1; mov dx,0x80; xor bx,bx
        "cd13ebf1"  # int 0x13; jmp again
    ),
    from_disk=True,
)
IMAGE_BYTES = 1024 * 1024
_MULTIBOOT_MAGIC = 0x1BADB002
_MULTIBOOT_AOUT_KLUDGE = 1 << 16  # the header gives the load addresses
_LOAD_AT = 0x100000
PREFIX = f"shadowsim-test-{os.getpid()}-"
"""Name prefix of every domain these tests make (the pid keeps parallel runs apart)."""

SKIP_REASON = (
    "no QEMU hypervisor behind libvirt at {uri} ({why}): run .ci/install_qemu.sh as root "
    "(installs qemu-system-x86 and libvirt-daemon, starts libvirtd and a second one as a "
    "second host); CI runs it"
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


def _connect(uri: str) -> QemuHost:
    """The hypervisor at ``uri``, or ``pytest.skip`` with the reason."""
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


def qemu_host() -> QemuHost:
    """The hypervisor, or ``pytest.skip`` with the reason."""
    return _connect(os.environ.get("SHADOWSIM_QEMU_URI", "qemu:///system"))


def second_host() -> QemuHost:
    """A second hypervisor (another libvirtd) to migrate to, or ``pytest.skip``."""
    return _connect(os.environ.get("SHADOWSIM_QEMU_URI2", "qemu+tcp://127.0.0.1:16510/system"))


def write_program(directory: Path, label: str, program: Program) -> Path:
    """Write ``program`` as a bootable disk image or a multiboot kernel; returns the file."""
    if program.from_disk:
        sector = program.code + bytes(510 - len(program.code)) + b"\x55\xaa"
        path = directory / f"{label}.img"
        path.write_bytes(sector + bytes(IMAGE_BYTES - len(sector)))
        return path
    checksum = -(_MULTIBOOT_MAGIC + _MULTIBOOT_AOUT_KLUDGE) & 0xFFFFFFFF
    header = struct.pack(
        "<8I",
        _MULTIBOOT_MAGIC,
        _MULTIBOOT_AOUT_KLUDGE,
        checksum,
        _LOAD_AT,  # where the header is
        _LOAD_AT,  # load the file from here on (to its end: no bss)
        0,
        0,
        _LOAD_AT + 32,  # entry point: the code right after this header
    )
    path = directory / f"{label}.multiboot"
    path.write_bytes(header + program.code)
    return path


def domain_xml(
    host: QemuHost,
    name: str,
    *,
    kernel: Path | None = None,
    disk: Path | None = None,
    vcpus: int = 1,
    max_vcpus: int = 2,
    memory_mib: int = 64,
) -> str:
    """A guest booting ``kernel`` or ``disk`` (neither: the BIOS finds nothing and waits)."""
    boot = f"<kernel>{kernel}</kernel>" if kernel is not None else "<boot dev='hd'/>"
    drive = (
        ""
        if disk is None
        else "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
        f"<source file='{disk}'/><target dev='hda' bus='ide'/></disk>"
    )
    return (
        f"<domain type='{host.virt_type}'><name>{name}</name>"
        f"<memory unit='MiB'>{memory_mib}</memory>"
        f"<vcpu placement='static' current='{vcpus}'>{max_vcpus}</vcpu>"
        f"<os><type arch='x86_64' machine='pc'>hvm</type>{boot}<bootmenu enable='no'/></os>"
        "<features><acpi/></features><on_crash>destroy</on_crash>"
        f"<devices><emulator>{host.emulator}</emulator>{drive}"
        "<memballoon model='virtio'/></devices></domain>"
    )


def program_xml(
    host: QemuHost, name: str, path: Path, program: Program, memory_mib: int = 64
) -> str:
    """:func:`domain_xml` of a guest running ``program`` written at ``path``."""
    if program.from_disk:
        return domain_xml(host, name, disk=path, memory_mib=memory_mib)
    return domain_xml(host, name, kernel=path, memory_mib=memory_mib)


@contextmanager
def guests(
    host: QemuHost, tmp_path: Path, programs: dict[str, Program], memory_mib: int = 64
) -> Iterator[dict[str, str]]:
    """Start one transient guest of ``memory_mib`` MiB per ``label: program``; yields
    ``label: domain name`` once each runs its program, and destroys them afterwards."""
    names = {label: PREFIX + label for label in programs}
    try:
        for label, program in programs.items():
            path = write_program(tmp_path, label, program)
            xml = program_xml(host, names[label], path, program, memory_mib)
            host.conn.createXML(xml, 0)
        for label, program in programs.items():
            if program.from_disk:
                wait_for_reads(host, names[label], 512)  # the boot sector
            else:
                wait_until_started(host, names[label])
        yield names
    finally:
        remove_domains(host, PREFIX)


def remove_domains(host: QemuHost, prefix: str) -> None:
    """Stop and undefine (managed-save image included) every domain named ``prefix...``."""
    lv = load_libvirt()
    for dom in host.conn.listAllDomains(0):
        if not dom.name().startswith(prefix):
            continue
        with suppress(lv.libvirtError):  # it may have gone meanwhile
            if dom.isActive():
                dom.destroy()
            if dom.isPersistent():
                dom.undefineFlags(lv.VIR_DOMAIN_UNDEFINE_MANAGED_SAVE)


def wait_until(done: Callable[[], bool], timeout_s: float, failure: str) -> None:
    """Poll ``done()`` every 0.1 s until it is true; after ``timeout_s`` s fail with
    ``failure``."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(failure)
        time.sleep(0.1)


def wait_until_started(host: QemuHost, name: str) -> None:
    """Wait until kernel guest ``name`` runs its program (up to 60 s)."""
    lv = load_libvirt()
    dom = host.conn.lookupByName(name)
    wait_until(
        lambda: dom.memoryPeek(STARTED_AT, 1, lv.VIR_MEMORY_PHYSICAL) == b"\x01",
        60.0,
        f"guest {name} did not start its program in 60 s",
    )


def wait_for_reads(host: QemuHost, name: str, min_bytes: int) -> None:
    """Wait until guest ``name`` has read ``min_bytes`` of its disk (up to 60 s)."""
    dom = host.conn.lookupByName(name)
    wait_until(
        lambda: dom.blockStats("hda")[1] >= min_bytes,
        60.0,
        f"{name} read less than {min_bytes} bytes in 60 s",
    )


def live_config(host: QemuHost, domains: dict[str, str], **fields: object) -> LiveConfig:
    """One host, one single-domain application per ``app id: domain`` (unless ``apps`` is
    given), a manual clock."""
    values: dict[str, object] = {
        "hosts": (HostConfig(host.uri, "qemu0"),),
        "interval_s": 60.0,
        "clock": ClockKind.MANUAL,
        "apps": tuple(AppConfig(app, (dom,)) for app, dom in domains.items()),
        "overcommit": (4.0, 1.0, 1.0, 1.0),
        "min_allocation": (1.0, 32.0, 50.0, 50.0),
    }
    values.update(fields)
    return LiveConfig(**values)  # type: ignore[arg-type]


def measure(backend: LibvirtBackend, seconds: float) -> ClusterState:
    """Usage over the next ``seconds`` of real time (the readings' own timestamps)."""
    backend.advance()
    time.sleep(seconds)
    return backend.advance()
