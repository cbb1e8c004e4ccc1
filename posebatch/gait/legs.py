"""Legs that follow the gait: in each frame of a walking bout, the left and right legs'
labels made to agree with the sides of the bout's events.

Side-on, the network often gives a leg the other leg's labels, for stretches longer than the
tracker's swap correction undoes: on the labelled set a quarter of the frames had the feet the
wrong way round after tracking. The events are found without the labels, and their sides are
decided once per bout from all of its labels' evidence together (sides alternate), so they
are right far more often than a frame's labels. They also say which foot is ahead in each
frame: the foot that landed last, until the other passes it halfway through its swing (from
its toe-off to its contact); in a step-to gait always the leading foot. Where the ankles'
labels put the other foot ahead, the two legs (hip, knee, ankle) trade labels in that frame.
Around the feet passing each other, where the ankles are level, and outside the bouts, the
labels stay as tracked.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

LEG_PARTS = ("hip", "knee", "ankle")
PASSING = 0.12      # of a step, either side of the feet passing: which is ahead is undecided
MID_SWING = 0.6     # of a step after a contact: the feet pass here when the toe-off is missing
LEVEL = 0.03        # body heights along the way: ankles closer than this are level


def ahead(t: np.ndarray, events: pd.DataFrame) -> np.ndarray:
    """(T,) which foot the events (columns ``time``, ``side``, ``event``, ``bout``, and
    ``step_to`` where known) put ahead at each time ``t``: +1 right, -1 left, 0 not decided
    (outside the bouts' contacts, around the feet passing, or across a missed contact)."""
    out = np.zeros(len(t), np.int8)
    if not len(events):
        return out
    for _, e in events.groupby("bout"):
        c = e[e.event == "contact"].sort_values("time")
        if len(c) < 2:
            continue
        sign = np.where(c.side.to_numpy() == "right", 1, -1)
        times = c.time.to_numpy(np.float64)
        if "step_to" in c and c.step_to.any():
            # the trailing foot is only brought level: the leading foot is always ahead
            lead = int(np.sign(sign[~c.step_to.to_numpy(bool)].sum()))
            out[(t >= times[0]) & (t <= times[-1])] = lead
            continue
        offs = e[e.event == "toe_off"]
        for (s, c0), (o, c1) in zip(zip(sign[:-1], times[:-1]), zip(sign[1:], times[1:])):
            if s == o:                    # a contact missed between: who passed when is unknown
                continue
            side = "right" if o > 0 else "left"
            to = offs.time[(offs.side == side) & (offs.time > c0) & (offs.time < c1)]
            passing = (float(to.iloc[0]) + c1) / 2 if len(to) else c0 + MID_SWING * (c1 - c0)
            margin = PASSING * (c1 - c0)
            out[(t >= c0) & (t <= passing - margin)] = s
            out[(t >= passing + margin) & (t <= c1)] = o
    return out


def follow_events(w: pd.DataFrame, front: np.ndarray, direction: np.ndarray,
                  height: float) -> tuple[pd.DataFrame, np.ndarray]:
    """``w`` (a track's wide view) with the legs' labels traded in the frames where the
    ankles, along ``direction`` (+1 / -1 per frame), put ahead the foot that ``front``
    (:func:`ahead`) does not; and (T,) bool, the frames traded."""
    gap = (w["right_ankle_x"].to_numpy(np.float64) - w["left_ankle_x"].to_numpy(np.float64))
    gap = gap * direction
    with np.errstate(invalid="ignore"):
        labelled = np.where(np.abs(gap) >= LEVEL * height, np.sign(gap), 0)
    trade = (front != 0) & (labelled != 0) & (labelled != front)
    if not trade.any():
        return w, trade
    out = w.copy()
    for part in LEG_PARTS:
        for value in ("x", "y", "score"):
            right, left = f"right_{part}_{value}", f"left_{part}_{value}"
            a, b = out[right].to_numpy(copy=True), out[left].to_numpy(copy=True)
            a[trade], b[trade] = b[trade], a[trade]
            out[right], out[left] = a, b
    return out, trade
