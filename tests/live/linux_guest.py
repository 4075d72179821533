"""A real Linux guest for the live adapter's tests: the machine's kernel, a busybox.

The tiny guests of ``qemu_guests`` have no balloon driver, so a memory target is never
reached there, and no network. This guest boots Debian's kernel (``/boot/vmlinuz-*``,
package linux-image-amd64) with an initramfs written here: a static busybox (package
busybox-static) as ``/init``, which loads the virtio balloon driver and its dependencies
from ``/lib/modules`` and then idles, onlining hot-plugged vCPUs; with a network, it also
loads the virtio network driver and takes TCP traffic (see :func:`linux_files`). The
balloon driver gives memory back or takes it as libvirt asks, and reports the guest's
memory statistics (``<stats period='1'/>``). It runs under TCG even where KVM is usable:
nested under this machine's own hypervisor, KVM takes minutes to decompress a kernel; TCG
boots it in ~10 s.

``linux_files()`` skips the calling test, with the fix, where the kernel, its virtio modules
or a static busybox are missing (``.ci/install_qemu.sh`` installs them; CI runs it).
"""

from __future__ import annotations

import stat
import struct
from pathlib import Path

import pytest

from .qemu_guests import QemuHost, wait_until

MODULES = (  # in load order, under /lib/modules/<version>/kernel
    "drivers/virtio/virtio_ring",
    "drivers/virtio/virtio",
    "drivers/virtio/virtio_pci_legacy_dev",
    "drivers/virtio/virtio_pci_modern_dev",
    "drivers/virtio/virtio_pci",
    "drivers/virtio/virtio_balloon",
)
NET_MODULES = ("net/core/failover", "drivers/net/net_failover", "drivers/net/virtio_net")
"""The virtio network driver, loaded after ``MODULES`` by a guest with a network."""
GUEST_PORT = 5001
"""TCP port on which a guest with a network takes (and throws away) what it is sent."""
BUSYBOX = Path("/bin/busybox")
SKIP_REASON = (
    "no Linux guest to boot ({why}): run .ci/install_qemu.sh as root (installs "
    "linux-image-amd64 and busybox-static); CI runs it"
)
_INIT = """#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
for m in {modules}; do /bin/busybox insmod /modules/$m.ko; done
for arg in $(/bin/busybox cat /proc/cmdline); do
    case $arg in shadowsim.ip=*)
        /bin/busybox ip addr add ${{arg#shadowsim.ip=}} dev eth0
        /bin/busybox ip link set eth0 up
        while true; do /bin/busybox nc -l -p {port} > /dev/null; done &
    esac
done
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
    (phoff,) = struct.unpack_from("<Q", binary, 32)
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


def linux_files(tmp_path: Path, *, network: bool = False) -> tuple[Path, Path]:
    """The kernel and an initramfs written into ``tmp_path``, or ``pytest.skip``.

    With ``network`` the initramfs also loads the virtio network driver; the guest then
    takes the address given as ``shadowsim.ip=ADDRESS/PREFIX`` on its kernel command line
    (see :func:`linux_xml`) and throws away what it receives on TCP port ``GUEST_PORT``.
    """
    kernels = sorted(Path("/boot").glob("vmlinuz-*"))
    if not kernels:
        pytest.skip(SKIP_REASON.format(why="no /boot/vmlinuz-*"))
    kernel = kernels[-1]
    version = kernel.name.removeprefix("vmlinuz-")
    tree = Path("/lib/modules") / version / "kernel"
    wanted = MODULES + (NET_MODULES if network else ())
    missing = [m for m in wanted if not (tree / f"{m}.ko").is_file()]
    if missing:
        pytest.skip(SKIP_REASON.format(why=f"no {', '.join(missing)} (.ko) in {tree}"))
    busybox = BUSYBOX.read_bytes() if BUSYBOX.is_file() else b""
    if not _is_static(busybox):
        pytest.skip(SKIP_REASON.format(why=f"{BUSYBOX} is missing or not statically linked"))
    directory, executable = stat.S_IFDIR | 0o755, stat.S_IFREG | 0o755
    regular = stat.S_IFREG | 0o644
    names = [Path(m).name for m in wanted]
    init = _INIT.format(modules=" ".join(names), port=GUEST_PORT)
    entries = [
        *((d, directory, b"") for d in ("bin", "proc", "sys", "dev", "modules")),
        ("bin/busybox", executable, busybox),
        ("init", executable, init.encode()),
        *(
            (f"modules/{n}.ko", regular, (tree / f"{m}.ko").read_bytes())
            for n, m in zip(names, wanted, strict=True)
        ),
    ]
    initrd = tmp_path / "initrd.cpio"
    initrd.write_bytes(_newc(entries))
    return kernel, initrd


def linux_xml(
    host: QemuHost,
    name: str,
    kernel: Path,
    initrd: Path,
    *,
    memory_mib: int = 256,
    devices: str = "",
    cmdline: str = "",
) -> str:
    """A Linux guest (TCG) with a balloon that reports statistics every second; ``devices``:
    more device XML, ``cmdline``: more kernel arguments."""
    return (
        f"<domain type='qemu'><name>{name}</name><memory unit='MiB'>{memory_mib}</memory>"
        "<vcpu placement='static' current='1'>2</vcpu>"
        f"<os><type arch='x86_64' machine='pc'>hvm</type><kernel>{kernel}</kernel>"
        f"<initrd>{initrd}</initrd><cmdline>console=ttyS0 panic=-1 quiet {cmdline}</cmdline>"
        "</os><features><acpi/></features><on_crash>destroy</on_crash>"
        f"<devices><emulator>{host.emulator}</emulator>{devices}"
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
