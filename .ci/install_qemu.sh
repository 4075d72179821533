#!/usr/bin/env bash
# A real hypervisor for the live adapter's tests: QEMU (KVM when /dev/kvm is usable, else TCG)
# behind a running libvirtd at qemu:///system, so tests/live/test_live_qemu.py runs real guests
# instead of skipping. Meant for CI containers and throw-away machines, run as root (or with
# sudo), after .ci/install_libvirt.sh:
#     bash .ci/install_qemu.sh
# It installs Debian's qemu-system-x86, libvirt-daemon and its QEMU driver, and a kernel and
# busybox-static for a Linux guest (about a minute: the kernel package builds an initrd the
# tests do not use); creates the unprivileged user Debian's QEMU driver expects
# (libvirt-qemu) when it is missing; writes a
# container-friendly /etc/libvirt/qemu.conf ONLY when there is none (guests run as root, no
# cgroups, no namespaces, no security driver, console logs to files: a container has no
# systemd, D-Bus or virtlogd; migrations in arrive on 127.0.0.3); then starts libvirtd unless
# its socket is already there.
# On a machine with its own libvirt set-up nothing of that set-up is changed.
# A second libvirtd then plays a second host, for live migration: in its own mount and UTS
# namespaces (its own /run/libvirt, /var/lib/libvirt, /etc/libvirt, host UUID and hostname;
# state under /var/lib/shadowsim-host1), at qemu+tcp://127.0.0.1:16510/system without
# authentication (loopback only), taking migration data on 127.0.0.2. (Migrating back to the
# first host needs its migration_host, which the qemu.conf written here sets: where libvirt
# was set up otherwise and the hostname resolves to a loopback address, libvirt refuses.)
set -euo pipefail

PYTHON="${PYTHON:-python}"  # with libvirt-python installed (the project's venv)
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if ! command -v qemu-system-x86_64 >/dev/null || ! command -v libvirtd >/dev/null \
    || [ ! -e /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so ]; then
    echo "== system packages: qemu-system-x86 libvirt-daemon libvirt-daemon-driver-qemu =="
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends \
        qemu-system-x86 libvirt-daemon libvirt-daemon-driver-qemu >/dev/null
fi
qemu-system-x86_64 --version | head -1

# a Linux guest with a balloon driver (tests/live/linux_guest.py): Debian's kernel and its
# virtio modules, and a static busybox for the initramfs the tests write
if ! ls /boot/vmlinuz-* >/dev/null 2>&1 || ! dpkg -s busybox-static >/dev/null 2>&1; then
    echo "== guest kernel and busybox: linux-image-amd64 busybox-static =="
    $SUDO apt-get install -y -qq --no-install-recommends linux-image-amd64 busybox-static \
        >/dev/null
fi

if ! id libvirt-qemu >/dev/null 2>&1; then
    echo "== user libvirt-qemu (the QEMU driver refuses to start without it) =="
    $SUDO useradd --system --no-create-home --shell /usr/sbin/nologin libvirt-qemu
fi

$SUDO mkdir -p /etc/libvirt /var/log/libvirt /var/lib/libvirt /run/libvirt
if [ ! -e /etc/libvirt/qemu.conf ]; then
    echo "== /etc/libvirt/qemu.conf for a container =="
    $SUDO tee /etc/libvirt/qemu.conf >/dev/null <<'EOF'
# written by shadowsim's .ci/install_qemu.sh for a CI container (no systemd, cgroups or D-Bus)
user = "root"
group = "root"
security_driver = "none"
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "file"
migration_host = "127.0.0.3"
EOF
fi

# a socket left by a daemon that is gone (a restarted machine keeps /run) is not a daemon
answers() {
    "$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(2)
s.connect(sys.argv[1])' "$1" 2>/dev/null
}
if ! answers /run/libvirt/libvirt-sock; then
    echo "== starting libvirtd =="
    $SUDO libvirtd --daemon
    for _ in $(seq 50); do
        answers /run/libvirt/libvirt-sock && break
        sleep 0.1
    done
fi
HOST1=/var/lib/shadowsim-host1
if ! (exec 3<>/dev/tcp/127.0.0.1/16510) 2>/dev/null; then
    echo "== a second libvirtd as a second host (qemu+tcp://127.0.0.1:16510/system) =="
    $SUDO mkdir -p "$HOST1/run" "$HOST1/lib" "$HOST1/cache" "$HOST1/log" "$HOST1/etc" \
        /var/cache/libvirt
    printf '%s\n' 'listen_tls = 0' 'listen_tcp = 1' 'listen_addr = "127.0.0.1"' \
        'tcp_port = "16510"' 'auth_tcp = "none"' \
        'host_uuid = "5ad0c0de-0000-4000-8000-000000000001"' \
        | $SUDO tee "$HOST1/etc/libvirtd.conf" >/dev/null
    printf '%s\n' 'user = "root"' 'group = "root"' 'security_driver = "none"' \
        'cgroup_controllers = [ ]' 'namespaces = [ ]' 'stdio_handler = "file"' \
        'migration_host = "127.0.0.2"' \
        | $SUDO tee "$HOST1/etc/qemu.conf" >/dev/null
    printf '%s\n' 'set -e' \
        "mount --bind $HOST1/run /run/libvirt" \
        "mount --bind $HOST1/lib /var/lib/libvirt" \
        "mount --bind $HOST1/cache /var/cache/libvirt" \
        "mount --bind $HOST1/log /var/log/libvirt" \
        "mount --bind $HOST1/etc /etc/libvirt" \
        'hostname shadowsim-host1' \
        'exec libvirtd --daemon --listen --config /etc/libvirt/libvirtd.conf --pid-file /run/libvirt/libvirtd.pid' \
        | $SUDO tee "$HOST1/start.sh" >/dev/null
    if $SUDO unshare --mount --uts --propagation private bash "$HOST1/start.sh"; then
        for _ in $(seq 50); do
            (exec 3<>/dev/tcp/127.0.0.1/16510) 2>/dev/null && break
            sleep 0.1
        done
    else
        echo "warning: could not start the second libvirtd (it needs unshare, as root);" \
            "the live migration test will skip" >&2
    fi
fi

if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then accel="KVM"; else accel="TCG (no usable /dev/kvm)"; fi
"$PYTHON" - "$accel" <<'EOF'
import sys

import libvirt

for uri in ("qemu:///system", "qemu+tcp://127.0.0.1:16510/system"):
    try:
        conn = libvirt.open(uri)
    except libvirt.libvirtError as err:
        print(f"libvirtd at {uri}: not reachable ({str(err).strip()})")
        continue
    print(f"libvirtd OK at {uri} ({conn.getHostname()}): QEMU {conn.getVersion()}, {sys.argv[1]}")
    conn.close()
EOF
