"""Named catalogs: look up classes by name, with "did you mean" on a typo.

Used instead of string dispatch wherever a user picks an implementation by name (a
workload reader, a forecaster, a policy). Hydra configs use ``_target_`` for the same
purpose; a catalog serves code that runs without Hydra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from shadowsim.errors import ShadowSimError, UnknownNameError

T = TypeVar("T")


class Catalog(Generic[T]):
    """A mapping from names to entries of one kind (e.g. forecaster classes).

    Args:
        kind: What the entries are, used in error messages ("forecaster", "policy").
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that adds an entry under ``name``; a name can be registered once."""

        def add(entry: T) -> T:
            if name in self._entries and self._entries[name] is not entry:
                raise ShadowSimError(f"{self.kind} {name!r} is already registered")
            self._entries[name] = entry
            return entry

        return add

    def add(self, name: str, entry: T) -> None:
        """Add ``entry`` under ``name``."""
        self.register(name)(entry)

    def get(self, name: str) -> T:
        """The entry called ``name``; raises :class:`UnknownNameError` with suggestions."""
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.kind, name, list(self._entries)) from None

    def names(self) -> list[str]:
        """All registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)
