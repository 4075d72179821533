#!/usr/bin/env bash
# A real hypervisor for the live adapter's tests: QEMU (KVM when /dev/kvm is usable, else TCG)
# behind a running libvirtd at qemu:///system, so tests/live/test_live_qemu.py runs real guests
# instead of skipping. Meant for CI containers and throw-away machines, run as root (or with
# sudo), after .ci/install_libvirt.sh:
#     bash .ci/install_qemu.sh
# It installs Debian's qemu-system-x86, libvirt-daemon and its QEMU driver; creates the
# unprivileged user Debian's QEMU driver expects (libvirt-qemu) when it is missing; writes a
# container-friendly /etc/libvirt/qemu.conf ONLY when there is none (guests run as root, no
# cgroups, no namespaces, no security driver, console logs to files: a container has no
# systemd, D-Bus or virtlogd); then starts libvirtd unless its socket is already there.
# On a machine with its own libvirt set-up nothing of that set-up is changed.
set -euo pipefail

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
EOF
fi

if [ ! -S /run/libvirt/libvirt-sock ]; then
    echo "== starting libvirtd =="
    $SUDO libvirtd --daemon
    for _ in $(seq 50); do
        [ -S /run/libvirt/libvirt-sock ] && break
        sleep 0.1
    done
fi
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then accel="KVM"; else accel="TCG (no usable /dev/kvm)"; fi
PYTHON="${PYTHON:-python}"
"$PYTHON" - "$accel" <<'EOF'
import sys

import libvirt

conn = libvirt.open("qemu:///system")
print(f"libvirtd OK at {conn.getURI()}: QEMU {conn.getVersion()}, {sys.argv[1]}")
conn.close()
EOF
