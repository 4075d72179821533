"""Baselines that think in target allocations (ref units) and let the env's codec encode them.

A :class:`TargetPolicy` implements :meth:`~TargetPolicy.decide`: from one validated
observation and its per-env state, the ``(A, 4)`` allocation it wants, in ref units. The
base class handles batches, per-env state and ``episode_start``, checks the targets and
turns them into the env's action with ``codec.encode_targets(targets, pending)``: a clipped
target vector in CONTINUOUS mode, the nearest scale factor of the pending allocation in
DISCRETE mode (so a target-thinking baseline drives either mode; in DISCRETE mode it moves
by at most one step per tick).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import numpy as np
from numpy.typing import NDArray

from shadowsim.resources import N_RESOURCES
from shadowsim_policies.base import Policy, PolicyError, episode_starts
from shadowsim_policies.observation_view import (
    Observation,
    ObservationView,
    is_batched,
    split_batch,
)

S = TypeVar("S")


class TargetPolicy(Policy, Generic[S]):
    """A baseline deciding ``(A, 4)`` target allocations in ref units, with per-env state ``S``."""

    @abstractmethod
    def initial_state(self, view: ObservationView) -> S:
        """The state of an env at the first step of an episode (``view`` is that step)."""

    @abstractmethod
    def decide(self, view: ObservationView, state: S) -> NDArray[np.float64]:
        """The ``(A, 4)`` target allocation in ref units; may update ``state`` in place."""

    def targets(
        self, observation: Observation, state: S | None = None
    ) -> tuple[NDArray[np.float64], S]:
        """Targets (ref units) for one unbatched observation, without encoding.

        Args:
            observation: One observation dict.
            state: The env's state, or None to start an episode.

        Returns:
            ``(targets, state)``: ``(A, 4)`` targets (>= 0) and the updated state.
        """
        view = ObservationView.of(observation)
        st = self.initial_state(view) if state is None else state
        return self._checked(self.decide(view, st), view), st

    def _checked(self, targets: NDArray[np.float64], view: ObservationView) -> NDArray[np.float64]:
        """Targets as a finite, non-negative ``(A, 4)`` float64 array."""
        out = np.asarray(targets, dtype=np.float64)
        if out.shape != (view.n_apps, N_RESOURCES):
            raise PolicyError(
                f"policy {self.name!r} produced targets of shape {out.shape}, expected "
                f"({view.n_apps}, {N_RESOURCES})"
            )
        if not np.isfinite(out).all():
            raise PolicyError(f"policy {self.name!r} produced non-finite targets")
        return np.maximum(out, 0.0)

    def _predict(
        self,
        observation: Observation,
        state: Any,
        episode_start: NDArray[np.bool_] | Sequence[bool] | bool | None,
        deterministic: bool,
    ) -> tuple[NDArray[Any], Any]:
        codec = self.context.codec
        batched = is_batched(observation)
        singles = split_batch(observation)
        n = len(singles)
        starts = episode_starts(episode_start, n)
        previous = self._states_in(state, n, batched)
        actions: list[NDArray[Any]] = []
        states: list[S] = []
        for i, single in enumerate(singles):
            view = ObservationView.of(single)
            prev = previous[i]
            st: S = self.initial_state(view) if starts[i] or prev is None else prev
            targets = self._checked(self.decide(view, st), view)
            actions.append(np.asarray(codec.encode_targets(targets, view.pending)))
            states.append(st)
        self._last_state = list(states)
        if batched:
            return np.stack(actions), states
        return actions[0], states[0]

    def _states_in(self, state: Any, n: int, batched: bool) -> list[S | None]:
        """The per-env states to continue from (None entries start afresh)."""
        if state is None:
            kept = self._last_state
            return list(kept) if kept is not None and len(kept) == n else [None] * n
        if not batched:
            return [state]
        if not isinstance(state, Sequence) or len(state) != n:
            raise PolicyError(
                f"policy {self.name!r}: for a batch of {n} envs, state must be the list of {n} "
                "states the previous predict returned"
            )
        return list(state)
