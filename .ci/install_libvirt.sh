#!/usr/bin/env bash
# Install what the live adapter (shadowsim.live) needs, so tests/live runs instead of skipping:
# the libvirt C library with its headers and pkg-config (to build libvirt-python), then the
# binding itself into the active Python environment (`pip install shadowsim[live]`).
# Debian 12 ships libvirt 9.0; libvirt-python 10.x-12.x builds against it. Run as root (or with
# sudo available) with the venv active (or PYTHON=path/to/python), e.g. from .ci/run after the
# project install:
#     bash .ci/install_libvirt.sh
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if ! pkg-config --exists libvirt 2>/dev/null; then
    echo "== system packages: libvirt-dev pkg-config =="
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends libvirt-dev pkg-config gcc
fi
echo "libvirt $(pkg-config --modversion libvirt)"

PYTHON="${PYTHON:-python}"
if [ -z "${VIRTUAL_ENV:-}" ]; then
    echo "warning: no virtual environment is active; installing into $($PYTHON -c 'import sys; print(sys.prefix)')" >&2
fi
echo "== libvirt-python =="
"$PYTHON" -m pip install --quiet 'libvirt-python>=10,<13'
"$PYTHON" -c "import libvirt; print('libvirt-python OK, C library', libvirt.getVersion())"
