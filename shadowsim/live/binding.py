"""Loading libvirt-python lazily, and turning its errors into readable text.

``import shadowsim`` and ``import shadowsim.live`` never load libvirt: only building a
:class:`~shadowsim.live.backend.LibvirtBackend` (or calling :func:`load_libvirt`) does. A
missing binding raises :class:`LibvirtUnavailableError` saying how to install it.

libvirt prints every error to stderr by default, besides raising it; :func:`load_libvirt`
installs a handler that keeps them quiet, since every error is raised and reported (in an
:class:`~shadowsim.actions.ActionResult` or a :class:`~shadowsim.errors.BackendError`).
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from shadowsim.errors import BackendError

INSTALL_HINT = (
    "install the libvirt Python binding: `pip install shadowsim[live]` (or `pip install "
    "'libvirt-python>=10'`); building it needs the system packages libvirt-dev and pkg-config "
    "(Debian/Ubuntu: `apt-get install -y libvirt-dev pkg-config`; Fedora: "
    "`dnf install libvirt-devel pkgconf`), see .ci/install_libvirt.sh"
)

_module: ModuleType | None = None


class LibvirtUnavailableError(BackendError):
    """The libvirt Python binding is not installed (or fails to load)."""


def _quiet(_context: object, _error: object) -> None:
    """libvirt error handler that prints nothing (errors are raised and reported instead)."""


def load_libvirt() -> ModuleType:
    """The ``libvirt`` module, imported on first use.

    Raises:
        LibvirtUnavailableError: The binding is missing or its shared library fails to load.
    """
    global _module
    if _module is None:
        try:
            module = importlib.import_module("libvirt")
        except ImportError as err:
            raise LibvirtUnavailableError(
                f"the live adapter needs libvirt-python, which is not importable ({err}); "
                + INSTALL_HINT
            ) from err
        module.registerErrorHandler(_quiet, None)
        _module = module
    return _module


def libvirt_available() -> bool:
    """True when libvirt-python can be imported (tests skip otherwise)."""
    try:
        load_libvirt()
    except LibvirtUnavailableError:
        return False
    return True


def is_libvirt_error(err: BaseException) -> bool:
    """True for a ``libvirt.libvirtError`` (without importing libvirt when it is absent)."""
    return _module is not None and isinstance(err, _module.libvirtError)


def error_text(err: BaseException) -> str:
    """libvirt's own message for ``err`` (or ``str(err)`` for other exceptions), then the
    notes added to it (``BaseException.add_note``), separated by "; "."""
    text = str(err).strip()
    if is_libvirt_error(err):
        message: Any = err.get_error_message()  # type: ignore[attr-defined]
        if message:
            text = str(message).strip()
    notes = getattr(err, "__notes__", ())
    return "; ".join([text, *(str(note) for note in notes)])


def error_code(err: BaseException) -> int | None:
    """libvirt's error code of ``err`` (``VIR_ERR_*``), or None for other exceptions."""
    if is_libvirt_error(err):
        code: Any = err.get_error_code()  # type: ignore[attr-defined]
        return int(code) if code is not None else None
    return None
