"""An in-memory LRU cache of verified shadow-model states.

Loading a version from the registry downloads its artifact and checks its checksums.
Once verified, its state (JSON hyper-parameters and arrays) is kept here, so comparing a new
version with the champion does not download the champion again. Every :meth:`get` rebuilds
a fresh forecaster from copies of the arrays, so online updates of one served forecaster
never leak into another.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from numpy.typing import NDArray

from shadowsim.shadow.artifact import ArtifactMeta
from shadowsim.shadow.forecaster import Forecaster

_Key = tuple[str, int, str]
_Entry = tuple[ArtifactMeta, type[Forecaster], dict[str, Any], dict[str, NDArray[Any]]]


class VerifiedStates:
    """The last ``capacity`` verified versions, keyed by (model name, version, run id).

    Args:
        capacity: Versions kept (0 disables the cache).
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = int(capacity)
        self._entries: OrderedDict[_Key, _Entry] = OrderedDict()

    def get(self, key: _Key) -> tuple[Forecaster, ArtifactMeta] | None:
        """A fresh forecaster rebuilt from the cached state, or None when not cached."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        meta, cls, hyper, arrays = entry
        return cls.from_state(dict(hyper), {k: v.copy() for k, v in arrays.items()}), meta

    def put(self, key: _Key, forecaster: Forecaster, meta: ArtifactMeta) -> None:
        """Remember the state of a just-verified ``forecaster``."""
        if self.capacity <= 0:
            return
        hyper, arrays = forecaster.state()
        copies = {k: v.copy() for k, v in arrays.items()}
        self._entries[key] = (meta, type(forecaster), hyper, copies)
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
