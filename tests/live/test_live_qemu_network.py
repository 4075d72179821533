"""LibvirtBackend and a real guest's network: traffic measured, limits set through libvirt.

A Linux guest (``linux_guest``, TCG) with a virtio NIC on a tap device libvirt creates
(``<interface type='ethernet'>``); the test gives the tap an address on the host and sends
the guest TCP traffic as fast as it goes, counting the bytes. The backend's network usage is
checked against that count. Network limits are ``virDomainSetInterfaceParameters``, which
libvirt turns into ``tc`` rules on the tap (an ``htb`` qdisc with an ``sfq`` leaf for
inbound, an ``ingress`` qdisc with a ``police`` filter for outbound): where the host kernel
has those, a limit must throttle the guest's traffic to it; where it lacks them (this
project's CI machine has neither ``sfq`` nor ``police``), libvirt refuses after making half
the rules, and the backend must report the refusal with libvirt's reason and leave no
half-made shaping behind (without the clean-up, the left ``htb`` qdisc held the guest at
about the refused limit while libvirt reported none).

Needs root (the tap's address, a scratch tap to probe the kernel) and the QEMU set-up of
``.ci/install_qemu.sh``; skips with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from shadowsim.actions import ScaleAction
from shadowsim.live.backend import LibvirtBackend
from shadowsim.resources import Resource

from .linux_guest import GUEST_PORT, linux_files, linux_xml
from .qemu_guests import PREFIX, QemuHost, live_config, measure, qemu_host, remove_domains

NETWORK = Resource.NETWORK
_NET = 18 * 256 + os.getpid() % 512  # a /24 of the benchmarking range 198.18.0.0/15
HOST_IP = f"198.{_NET // 256}.{_NET % 256}.1"
GUEST_IP = f"198.{_NET // 256}.{_NET % 256}.2"
TAP = f"sstap{os.getpid() % 100000}"
MAC = "52:54:00:5a:d0:02"


@dataclass
class Sender:
    """Sends the guest TCP traffic from a thread, as fast as it is taken, counting bytes."""

    sock: socket.socket
    sent: int = 0
    failed: OSError | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        chunk = bytes(65536)
        while not self._stop.is_set():
            try:
                self.sent += self.sock.send(chunk)
            except OSError as err:
                self.failed = err
                return

    def flowing(self, n_bytes: int, timeout_s: float) -> bool:
        """True once ``n_bytes`` went out; False when the connection failed or stalled."""
        deadline = time.monotonic() + timeout_s
        while self.sent < n_bytes:
            if self.failed is not None or time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        self._stop.set()
        self.sock.close()


@dataclass(frozen=True)
class NetGuest:
    host: QemuHost
    name: str
    sender: Sender


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def kernel_shaping() -> str:
    """ "" when the host kernel takes the ``tc`` rules libvirt makes for interface limits,
    else what it refused (probed on a scratch tap)."""
    tap = f"ssprobe{os.getpid() % 100000}"
    if _run("ip", "tuntap", "add", "dev", tap, "mode", "tap").returncode:
        return "could not create a scratch tap device"
    try:
        for rule in (
            ("qdisc", "add", "dev", tap, "root", "handle", "1:", "htb", "default", "1"),
            ("class", "add", "dev", tap, "parent", "1:", "classid", "1:1", "htb", "rate", "8mbit"),
            ("qdisc", "add", "dev", tap, "parent", "1:1", "handle", "2:", "sfq", "perturb", "10"),
            ("qdisc", "add", "dev", tap, "ingress"),
            ("filter", "add", "dev", tap, "parent", "ffff:", "protocol", "all", "u32", "match",
             "u32", "0", "0", "police", "rate", "8mbit", "burst", "100kb", "drop", "flowid", ":1"),
        ):  # fmt: skip
            done = _run("tc", *rule)
            if done.returncode:
                return f"`tc {' '.join(rule)}`: {done.stderr.strip()}"
        return ""
    finally:
        _run("ip", "link", "del", tap)


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NetGuest]:
    if os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("tc") is None:
        pytest.skip("needs root and the ip and tc commands (iproute2): run the tests as root")
    host = qemu_host()
    kernel, initrd = linux_files(tmp_path_factory.mktemp("netguest"), network=True)
    name = PREFIX + "net"
    nic = (
        f"<interface type='ethernet'><mac address='{MAC}'/>"
        f"<target dev='{TAP}' managed='yes'/><model type='virtio'/></interface>"
    )
    sock = None
    try:
        host.conn.createXML(
            linux_xml(
                host, name, kernel, initrd, devices=nic, cmdline=f"shadowsim.ip={GUEST_IP}/24"
            ),
            0,
        )
        added = _run("ip", "addr", "add", f"{HOST_IP}/24", "dev", TAP)
        assert added.returncode == 0, added.stderr
        # the guest's busybox nc takes one connection, then listens anew: an attempt that
        # timed out here may still be the one it took (and a connection queued behind it is
        # reset when that one ends), so a connection counts once traffic flows on it
        deadline = time.monotonic() + 120.0
        sender = None
        while sender is None:
            try:
                sock = socket.create_connection((GUEST_IP, GUEST_PORT), timeout=1.0)
            except OSError:
                sock = None
            else:
                sock.settimeout(None)
                sender = Sender(sock)
                sender.start()
                if not sender.flowing(1 << 20, timeout_s=15.0):
                    sender.stop()
                    sender = sock = None
            if sender is None:
                if time.monotonic() > deadline:
                    raise AssertionError(f"{name}: no TCP traffic flowed into it in 120 s")
                time.sleep(0.5)
        yield NetGuest(host, name, sender)
        sender.stop()
    finally:
        if sock is not None:
            sock.close()
        remove_domains(host, name)
        host.conn.close()


def test_network_usage_of_a_real_guest_is_measured(guest: NetGuest) -> None:
    with LibvirtBackend(live_config(guest.host, {"net": guest.name})) as backend:
        backend.advance()  # the readings the next snapshot's usage starts from
        start, t0 = guest.sender.sent, time.monotonic()
        time.sleep(3.0)
        state = backend.advance()
        sent, elapsed = guest.sender.sent - start, time.monotonic() - t0
        payload_kbs = sent / 1000.0 / elapsed
        assert payload_kbs > 500.0, payload_kbs
        # what the guest received on its NIC (frames: payload plus headers) and the acks it
        # sent, against the bytes the test sent it
        assert state.usage[0, NETWORK] == pytest.approx(payload_kbs, rel=0.15)
        assert state.allocation[0, NETWORK] == backend.hosts.capacity[0, NETWORK]  # no limit


def test_a_network_limit_throttles_a_real_guest(guest: NetGuest) -> None:
    why = kernel_shaping()
    if why:
        pytest.skip(f"the host kernel cannot shape traffic as libvirt does: {why}")
    with LibvirtBackend(live_config(guest.host, {"net": guest.name})) as backend:
        free = measure(backend, 2.0).usage[0, NETWORK]
        limit = round(min(free / 5, 2000.0))
        (result,) = backend.apply([ScaleAction(0, NETWORK, float(limit))])
        assert result.accepted, result.reason
        time.sleep(1.5)  # the burst allowance drains first
        state = measure(backend, 3.0)
        assert state.allocation[0, NETWORK] == pytest.approx(limit, abs=1.0)
        assert 0.5 * limit <= state.usage[0, NETWORK] <= 1.15 * limit
        unlimited = backend.hosts.capacity[0, NETWORK]
        (lifted,) = backend.apply([ScaleAction(0, NETWORK, float(unlimited))])
        assert lifted.accepted, lifted.reason


def test_a_network_limit_the_kernel_cannot_shape_is_refused_and_undone(guest: NetGuest) -> None:
    why = kernel_shaping()
    if not why:
        pytest.skip("the host kernel shapes traffic as libvirt does: nothing to refuse here")
    with LibvirtBackend(live_config(guest.host, {"net": guest.name})) as backend:
        free = measure(backend, 2.0)
        limit = 500.0
        (result,) = backend.apply([ScaleAction(0, NETWORK, limit)])
        assert not result.accepted
        assert f"libvirt refused on domain {guest.name}" in result.reason
        assert "the earlier limits were put back" in result.reason
        state = measure(backend, 2.0)
        assert state.allocation[0, NETWORK] == free.allocation[0, NETWORK]
        # no half-made shaping left on the tap: the traffic still flows far above the limit
        assert state.usage[0, NETWORK] > 10 * limit, state.usage[0, NETWORK]
        qdiscs = _run("tc", "qdisc", "show", "dev", TAP).stdout
        assert "htb" not in qdiscs, qdiscs
        assert "ingress" not in qdiscs, qdiscs
