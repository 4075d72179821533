"""A real Linux guest for the live adapter's balloon tests: the machine's kernel, a busybox.

The tiny guests of ``qemu_guests`` have no balloon driver, so a memory target is never
reached there. This guest boots Debian's kernel (``/boot/vmlinuz-*``, package
linux-image-amd64) with an initramfs written here: a static busybox (package
busybox-static) as ``/init``, which loads the virtio balloon driver and its dependencies
from ``/lib/modules`` and then idles, onlining hot-plugged vCPUs. The balloon driver gives
memory back or takes it as libvirt asks, and reports the guest's memory statistics
(``<stats period='1'/>``). It runs under TCG even where KVM is usable: nested under this
machine's own hypervisor, KVM takes minutes to decompress a kernel; TCG boots it in ~10 s.

``linux_files()`` skips the calling test, with the fix, where the kernel, its virtio modules
or a static busybox are missing (``.ci/install_qemu.sh`` installs them; CI runs it).
"""

from __future__ import annotations

import stat
import struct
from pathlib import Path

import pytest

from .qemu_guests import QemuHost, wait_until

MODULES = (  # in load order
    "virtio_ring",
    "virtio",
    "virtio_pci_legacy_dev",
    "virtio_pci_modern_dev",
    "virtio_pci",
    "virtio_balloon",
)
BUSYBOX = Path("/bin/busybox")
SKIP_REASON = (
    "no Linux guest to boot ({why}): run .ci/install_qemu.sh as root (installs "
    "linux-image-amd64 and busybox-static); CI runs it"
)
_INIT = """#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
for m in {modules}; do /bin/busybox insmod /modules/$m.ko; done
while true; do
    for c in /sys/devices/system/cpu/cpu*/online; do [ -e $c ] && echo 1 > $c; done
    /bin/busybox sleep 1
done
"""
_PT_INTERP = 3


def _is_static(binary: bytes) -> bool:
    """True for an ELF64 executable without a program interpreter (statically linked)."""
    if binary[:4] != b"\x7fELF" or binary[4] != 2:
        return False
    phoff, = struct.unpack_from("<Q", binary, 32)
    phentsize, phnum = struct.unpack_from("<HH", binary, 54)
    types = (struct.unpack_from("<I", binary, phoff + i * phentsize)[0] for i in range(phnum))
    return _PT_INTERP not in types


def _newc(entries: list[tuple[str, int, bytes]]) -> bytes:
    """A cpio archive in the kernel's ``newc`` format of ``(path, mode, content)``."""
    out = bytearray()
    for ino, (name, mode, data) in enumerate([*entries, ("TRAILER!!!", 0, b"")], start=1):
        encoded = name.encode() + b"\0"
        fields = (ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0)
        out += ("070701" + "".join(f"{v:08x}" for v in fields)).encode() + encoded
        out += bytes(-len(out) % 4) + data
        out += bytes(-len(out) % 4)
    return bytes(out)


def linux_files(tmp_path: Path) -> tuple[Path, Path]:
    """The kernel and an initramfs written into ``tmp_path``, or ``pytest.skip``."""
    kernels = sorted(Path("/boot").glob("vmlinuz-*"))
    if not kernels:
        pytest.skip(SKIP_REASON.format(why="no /boot/vmlinuz-*"))
    kernel = kernels[-1]
    version = kernel.name.removeprefix("vmlinuz-")
    virtio = Path("/lib/modules") / version / "kernel" / "drivers" / "virtio"
    missing = [m for m in MODULES if not (virtio / f"{m}.ko").is_file()]
    if missing:
        pytest.skip(SKIP_REASON.format(why=f"no {', '.join(missing)} in {virtio}"))
    busybox = BUSYBOX.read_bytes() if BUSYBOX.is_file() else b""
    if not _is_static(busybox):
        pytest.skip(SKIP_REASON.format(why=f"{BUSYBOX} is missing or not statically linked"))
    directory, executable = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755
    regular = stat.S_IFREG | 0o644
    entries = [
        *((d, directory, b"") for d in ("bin", "proc", "sys", "dev", "modules")),
        ("bin/busybox", executable, busybox),
        ("init", executable, _INIT.format(modules=" ".join(MODULES)).encode()),
        *((f"modules/{m}.ko", regular, (virtio / f"{m}.ko").read_bytes()) for m in MODULES),
    ]
    initrd = tmp_path / "initrd.cpio"
    initrd.write_bytes(_newc(entries))
    return kernel, initrd


def linux_xml(
    host: QemuHost, name: str, kernel: Path, initrd: Path, *, memory_mib: int = 256
) -> str:
    """A Linux guest (TCG) with a balloon that reports statistics every second."""
    return (
        f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>{memory_mib}</memory>"
        "<vcpu placement='static' current='1'>2</vcpu>"
        f"<os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel>"
        f"<initrd>{initrd}</initrd><cmdline>console=ttyS0 panic=-1 quiet</cmdline></os>"
        "<features><acpi/></features><on_crash>destroy</on_crash>"
        f"<devices><emulator>{host.emulator}</emulator>"
        "<memballoon model='virtio'><stats period='1'/></memballoon></devices></domain>"
    )


def wait_for_balloon(host: QemuHost, name: str, timeout_s: float = 120.0) -> None:
    """Wait until the guest's balloon driver reports memory statistics."""
    dom = host.conn.lookupByName(name)
    wait_until(
        lambda: "usable" in dom.memoryStats(),
        timeout_s,
        f"{name}: no balloon statistics in {timeout_s} s",
    )
