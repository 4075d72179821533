"""The one exception hierarchy of shadowsim.

Every error a user can cause derives from :class:`ShadowSimError`, so callers can catch
them all at once. Messages say what was found, what was expected and how to fix it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class ShadowSimError(Exception):
    """Base class of every error raised by shadowsim.

    Errors pickle whole (a worker process or Ray sends them back): rebuilt without calling
    ``__init__`` again, from their message and attributes (notes included), so subclasses
    may take any arguments.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.args), self.__dict__)


class ConfigError(ShadowSimError, ValueError):
    """A configuration value is missing, out of range or of the wrong kind.

    Args:
        key: The dotted config key, e.g. ``workload.interval_s``.
        message: What was wrong and how to fix it.
    """

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.detail = message
        super().__init__(f"config key '{key}': {message}")

    def under(self, parent: str) -> ConfigError:
        """The same error with its key given from ``parent`` (``path`` -> ``workload.path``),
        for the config tree the user wrote; unchanged when the key already starts there."""
        if self.key == parent or self.key.startswith(f"{parent}."):
            return self
        return ConfigError(f"{parent}.{self.key}", self.detail)


class UnknownNameError(ShadowSimError, KeyError):
    """A name looked up in a registry does not exist; the message suggests close matches."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        import difflib

        self.kind = kind
        self.name = name
        self.known = sorted(known)
        close = difflib.get_close_matches(name, self.known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        msg = f"unknown {kind} {name!r}.{hint} Known: {', '.join(self.known) or '(none)'}."
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0])


class TraceFormatError(ShadowSimError, ValueError):
    """A trace file does not have the expected format.

    Args:
        path: The offending file (or folder).
        message: What was wrong and how to fix it.
        line: 1-based line number in the file, when known.
        column: Column name or 1-based index, when known.
    """

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        line: int | None = None,
        column: str | int | None = None,
    ) -> None:
        self.path = Path(path)
        self.line = line
        self.column = column
        where = str(self.path)
        if line is not None:
            where += f", line {line}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


class ActionError(ShadowSimError, ValueError):
    """An action sent to a backend is malformed (unknown target, wrong shape)."""


class BackendError(ShadowSimError, RuntimeError):
    """A backend (simulator or hypervisor) failed to observe, act or advance."""


class ForecastError(ShadowSimError, ValueError):
    """A forecaster was used wrongly (not fitted, bad horizon, wrong history shape)."""


class RegistryError(ShadowSimError, RuntimeError):
    """The model registry could not store, find or load a shadow model."""


class ArtifactError(RegistryError):
    """A saved model artifact is corrupt, tampered with, or of an unknown format version."""


def _rebuild(cls: type[ShadowSimError], args: tuple[Any, ...]) -> ShadowSimError:
    """An error of class ``cls`` with message arguments ``args`` (unpickling; pickle then
    restores its attributes)."""
    error = cls.__new__(cls)
    error.args = args
    return error
