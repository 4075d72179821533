"""The candidate provisioning rules the shadow policy selects among, per application.

Every candidate is a target allocation per application and resource, in ref units, computed
from the shadow forecasts over the covered leads and the recent usage (see
:class:`~shadowsim_policies.selection_config.SelectionConfig` for the settings). In order:

0. the policy's fixed rule (the prior);
1. forecast candidates: the forecast at each quantile level times each multiplier;
2. hold candidates: ``max(top forecast, share * peak over the last window)``, per window and
   share (an application that was just busy is likely to be busy again soon);
3. standby candidates: ``max(top forecast * multiplier, share * peak over the standby
   window)`` (after a quiet spell, rest at a share of the day's peak rather than the bottom);
4. hold-and-standby candidates: ``max(top forecast, peak over a hold window, share * peak over
   the standby window)``;
5. margin candidates: the top forecast plus an absolute margin, and the longest-window hold
   plus that margin (nearly free for a small application, negligible for a large one).

"Top forecast" is the forecast at the highest of the levels.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from shadowsim_policies.autopilot_peak import PeakWindow
from shadowsim_policies.selection_config import SelectionConfig

F64 = NDArray[np.float64]


class CandidateFamily:
    """Builds the ``(K, A, 4)`` candidate targets (ref units) of a :class:`SelectionConfig`.

    Args:
        config: The family's settings.
        interval_s: Tick length, s.
    """

    def __init__(self, config: SelectionConfig, interval_s: float) -> None:
        self.config = config
        self.hold_ticks = [max(1, round(w / interval_s)) for w in config.hold_windows_s]
        self.standby_ticks = max(1, round(config.standby_window_s / interval_s))
        self.margins = np.asarray(config.margins, dtype=np.float64).reshape(-1, 4)
        self.top = int(np.argmax(config.levels))
        self.longest = int(np.argmax(self.hold_ticks))

    @property
    def history_ticks(self) -> int:
        """Ticks of usage history the family reads."""
        return max(*self.hold_ticks, self.standby_ticks)

    def build(self, fixed: F64, forecasts: F64, window: PeakWindow, ref: F64) -> F64:
        """``(K, A, 4)`` candidate targets, ref units.

        Args:
            fixed: ``(A, 4)`` the policy's fixed rule (candidate 0).
            forecasts: ``(len(levels), A, 4)`` forecast need at each level, ref units.
            window: Usage history (ref units), the tick just accounted included.
            ref: ``(A, 4)`` absolute size of one ref unit.
        """
        cfg = self.config
        top = forecasts[self.top]
        out: list[F64] = [fixed[None]]
        mult = np.asarray(cfg.multipliers)[:, None, None]
        out.extend(forecasts[j][None] * mult for j in range(len(cfg.levels)))
        shares = np.asarray(cfg.hold_shares)[:, None, None]
        peaks = [window.peak_last(n) for n in self.hold_ticks]
        out.extend(np.maximum(top[None], shares * peak[None]) for peak in peaks)
        standby = window.peak_last(self.standby_ticks)
        standby_mult = np.asarray(cfg.standby_multipliers)[:, None, None]
        for share in cfg.standby_shares:
            out.append(np.maximum(top[None] * standby_mult, share * standby[None]))
        for share in cfg.hold_standby_shares:
            rest = np.maximum(top, share * standby)
            out.append(np.stack([np.maximum(rest, peak) for peak in peaks]))
        if len(self.margins):
            extra = self.margins[:, None, :] / ref[None]  # (M, A, 4)
            out.append(top[None] + extra)
            out.append(np.maximum(top, peaks[self.longest])[None] + extra)
        return np.concatenate(out, axis=0)
