"""Strides of one track from its events: times, percentages, lengths and speed."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.config import GaitConfig
from .angles import SIDES, xy
from .bouts import Bout


def _at(t: np.ndarray, y: np.ndarray, when: float) -> float:
    ok = np.isfinite(y)
    return float(np.interp(when, t[ok], y[ok])) if ok.sum() >= 2 else np.nan


def stride_table(ev: pd.DataFrame, w: pd.DataFrame, t: np.ndarray, bouts: list[Bout],
                 height: float, config: GaitConfig) -> pd.DataFrame:
    """One row per stride: from a foot's contact to its next contact in the same bout."""
    rows = []
    scale = (height / config.height_m) if config.height_m else None     # px per metre
    for k, b in enumerate(bouts):
        e = ev[ev.bout == k] if len(ev) else ev
        for side in SIDES:
            other = "left" if side == "right" else "right"
            own_c = e[(e.side == side) & (e.event == "contact")].time.to_numpy()
            own_t = e[(e.side == side) & (e.event == "toe_off")].time.to_numpy()
            opp_c = e[(e.side == other) & (e.event == "contact")].time.to_numpy()
            opp_t = e[(e.side == other) & (e.event == "toe_off")].time.to_numpy()
            period = float(e.stride_period.iloc[0]) if len(e) else np.nan
            for c0, c1 in zip(own_c[:-1], own_c[1:]):
                if not 0.7 * period <= c1 - c0 <= 1.3 * period:   # an event missed (or
                    continue                                     # invented) in between
                to = own_t[(own_t > c0) & (own_t < c1)]
                oc = opp_c[(opp_c > c0) & (opp_c < c1)]
                ot = opp_t[(opp_t > c0) & (opp_t < c1)]
                if len(to) != 1 or len(oc) != 1:
                    continue
                to, oc = float(to[0]), float(oc[0])
                stride = c1 - c0
                ds = np.nan
                first = ot[ot < to]
                if len(first) == 1 and oc < to:
                    ds = (first[0] - c0) + (to - oc)
                ax = xy(w, f"{side}_ankle")[:, 0]
                ox = xy(w, f"{other}_ankle")[:, 0]
                step_len = b.direction * (_at(t, ax, c1) - _at(t, ox, c1))
                if b.in_place:      # the foot lands where it left: its two steps' lengths
                    stride_len = step_len + b.direction * (_at(t, ox, oc) - _at(t, ax, oc))
                else:
                    stride_len = b.direction * (_at(t, ax, c1) - _at(t, ax, c0))
                row = {"bout": k, "side": side, "start": c0, "end": c1,
                       "stride_time": stride, "step_time": c1 - oc,
                       "stance_time": to - c0, "swing_time": c1 - to,
                       "stance_pct": 100 * (to - c0) / stride,
                       "swing_pct": 100 * (c1 - to) / stride,
                       "double_support_pct": 100 * ds / stride,
                       "cadence_steps_per_min": 120.0 / stride,
                       "step_length_px": step_len, "stride_length_px": stride_len,
                       "speed_px_s": stride_len / stride}
                if scale:
                    row.update(step_length_m=step_len / scale, stride_length_m=stride_len / scale,
                               speed_m_s=stride_len / stride / scale)
                rows.append(row)
    return pd.DataFrame(rows).sort_values("start").reset_index(drop=True) if rows else \
        pd.DataFrame()
