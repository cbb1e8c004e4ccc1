"""Legs that follow the gait: in each frame of a walking bout, the left and right legs'
labels made to agree with the sides of the bout's events.

Side-on, the network often gives a leg the other leg's labels, for stretches longer than the
tracker's swap correction undoes: on the labelled set a quarter of the frames had the feet the
wrong way round after tracking. The events are found without the labels, and their sides are
decided once per bout from all of its labels' evidence together (sides alternate), so they
are right far more often than a frame's labels. They also say which foot is ahead in each
frame: the foot that landed last, until the other passes it halfway through its swing (from
its toe-off to its contact); in a step-to gait always the leading foot. Where the ankles'
labels put the other foot ahead, the two legs (hip, knee, ankle) trade labels in that frame,
and in the undecided frames between two such (the feet passing, an ankle missing); the
traded legs are smoothed again from the detections as the tracker smooths. Outside the
bouts the labels stay as tracked.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.config import TrackConfig

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


def bout_of(t: np.ndarray, events: pd.DataFrame) -> np.ndarray:
    """(T,) the walking bout whose contacts span each time ``t`` (from its first contact to
    its last, as :func:`ahead` covers them), -1 outside every bout."""
    out = np.full(len(t), -1)
    for k, e in events[events.event == "contact"].groupby("bout"):
        out[(t >= e.time.min()) & (t <= e.time.max())] = int(k)
    return out


def to_trade(w: pd.DataFrame, front: np.ndarray, direction: np.ndarray,
             height: float, bouts: np.ndarray | None = None) -> np.ndarray:
    """(T,) bool: the frames where the ankles of ``w`` (a track's wide view), along
    ``direction`` (+1 / -1 per frame), put ahead the foot that ``front`` (:func:`ahead`) does
    not, by at least ``LEVEL`` body heights; and the undecided frames between two such
    within one bout (``bouts``: :func:`bout_of`; the feet passing, an ankle missing): the
    network's labels change in stretches, and the knees and hips are far apart while the
    feet pass."""
    gap = (w["right_ankle_x"].to_numpy(np.float64) - w["left_ankle_x"].to_numpy(np.float64))
    gap = gap * direction
    with np.errstate(invalid="ignore"):
        labelled = np.where(np.abs(gap) >= LEVEL * height, np.sign(gap), 0)
    decided = (front != 0) & (labelled != 0)
    trade = decided & (labelled != front)
    at = np.flatnonzero(decided)
    jump = None
    for a, b in zip(at[:-1], at[1:]):
        if b == a + 1 or not (trade[a] or trade[b]):
            continue
        if bouts is not None and not (bouts[a] == bouts[b] >= 0):
            continue                     # between bouts (a turn, a pause): as tracked
        if trade[a] and trade[b]:
            trade[a + 1:b] = True
            continue
        # the labels changed somewhere between: where the legs jump most to each other
        if jump is None:
            jump = _cross_minus_same(w)
        k = a + 1 + int(np.argmin(jump[a + 1:b + 1]))    # the first frame labelled as b
        if trade[b]:
            trade[k:b] = True
        else:
            trade[a + 1:k] = True
    return trade


def _cross_minus_same(w: pd.DataFrame) -> np.ndarray:
    """(T,) for each frame, how much closer the legs (hip, knee, ankle) come to the previous
    frame's if their labels changed there: the distance to the other leg's previous position
    minus the distance to their own (negative where the network swapped them; 0 unknown)."""
    def legs(side: str) -> np.ndarray:
        return np.stack([w[[f"{side}_{p}_x", f"{side}_{p}_y"]].to_numpy(np.float64)
                         for p in LEG_PARTS], 1)           # (T, 3, 2)

    r, l = legs("right"), legs("left")
    dist = lambda a, b: np.linalg.norm(a[1:] - b[:-1], axis=2)  # noqa: E731
    diff = dist(r, l) + dist(l, r) - dist(r, r) - dist(l, l)
    return np.r_[0.0, np.nansum(diff, axis=1)]


def traded(w: pd.DataFrame, trade: np.ndarray) -> pd.DataFrame:
    """``w`` with the legs' (hip, knee, ankle) labels traded in the frames ``trade``."""
    if not trade.any():
        return w
    out = w.copy()
    for part in LEG_PARTS:
        for value in ("x", "y", "score"):
            right, left = f"right_{part}_{value}", f"left_{part}_{value}"
            a, b = out[right].to_numpy(copy=True), out[left].to_numpy(copy=True)
            a[trade], b[trade] = b[trade], a[trade]
            out[right], out[left] = a, b
    return out


def follow_events(w: pd.DataFrame, front: np.ndarray, direction: np.ndarray,
                  height: float, raw: pd.DataFrame | None = None,
                  smoothing: TrackConfig = TrackConfig(),
                  fresh: np.ndarray | None = None, bouts: np.ndarray | None = None
                  ) -> tuple[pd.DataFrame, np.ndarray]:
    """``w`` (a track's wide view, smoothed) with the legs' labels traded where they put the
    wrong foot ahead (:func:`to_trade`, ``bouts`` as there); and (T,) bool, the frames
    traded.

    With ``raw`` (the same rows as detected, the tracker's labels), the labels are traded on
    the detections, frame by frame where both ankles were found (elsewhere as the smoothed
    ankles say), and the legs smoothed again as the tracker does (``smoothing``: the job's
    tracking settings; ``fresh``: False at repeated pictures). Trading the smoothed
    curves instead leaves a jump where the network swapped the legs: the tracker's smoothing
    had blended the two legs over a few frames there."""
    trade = to_trade(w, front, direction, height, bouts)
    if raw is None:
        return traded(w, trade), trade
    seen = np.isfinite(raw["right_ankle_x"].to_numpy(np.float64)
                       - raw["left_ankle_x"].to_numpy(np.float64))
    trade = np.where(seen, to_trade(raw, front, direction, height, bouts), trade)
    if not trade.any():
        return w, trade
    return resmoothed(w, traded(raw, trade), fresh, smoothing), trade


def resmoothed(w: pd.DataFrame, raw: pd.DataFrame, fresh: np.ndarray | None,
               smoothing: TrackConfig) -> pd.DataFrame:
    """``w`` with its legs' positions the tracker's smoothing of ``raw``'s
    (``posebatch.track.smooth.smooth_samples``) and their scores ``raw``'s. Frames missing
    from the view (a gap the tracker did not fill) split the curves, as they did there."""
    from ..track.smooth import smooth_samples

    frames = w["frame"].to_numpy(np.int64)
    t = w.index.to_numpy(np.float64)
    pos = frames - frames[0]
    span = np.arange(frames[0], frames[-1] + 1)
    times = np.interp(span, frames, t)
    names = [f"{side}_{part}" for side in ("right", "left") for part in LEG_PARTS]
    xy = np.full((len(span), len(names), 2), np.nan)
    for k, name in enumerate(names):
        xy[pos, k, 0] = raw[f"{name}_x"].to_numpy(np.float64)
        xy[pos, k, 1] = raw[f"{name}_y"].to_numpy(np.float64)
    new = np.ones(len(span), bool)
    if fresh is not None:
        new[pos] = fresh
    new[0] = True
    smooth, _ = smooth_samples(times, xy, new, smoothing.fill_gap, smoothing.cutoff)
    out = w.copy()
    for k, name in enumerate(names):
        out[f"{name}_x"], out[f"{name}_y"] = smooth[pos, k, 0], smooth[pos, k, 1]
        out[f"{name}_score"] = raw[f"{name}_score"].to_numpy()
    return out


def as_gait(w: pd.DataFrame, raw: pd.DataFrame, trade: np.ndarray, fresh: np.ndarray | None,
            smoothing: TrackConfig) -> pd.DataFrame:
    """A track's smoothed wide view ``w`` with its legs as the gait names them, from its
    detections ``raw`` (the same rows) and the frames the gait traded (``angles.legs_traded``):
    for the exports and the benchmarks, which read a finished analysis."""
    if not trade.any():
        return w
    return resmoothed(w, traded(raw, trade), fresh, smoothing)
