"""Walking bouts of one track: where the mid-hip moves steadily in one horizontal direction,
at least ``min_speed`` body heights per second, for at least ``min_bout`` seconds; or where
it does not, but the feet take regular turns in front (``in_place``: a treadmill, or a
camera that follows the walker), facing the way the standing foot slides back."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.config import GaitConfig

STEP_RANGE = (0.25, 1.25)     # s: step times searched for (slow walk to brisk run)
_SPEED_WINDOW = 0.5            # s: the mid-hip's speed is measured over this window


@dataclass(frozen=True)
class Bout:
    """Samples [start, end) of a track walking in ``direction`` (+1: image right)."""

    start: int
    end: int
    direction: int
    t0: float
    t1: float
    in_place: bool = False      # walking without crossing the picture (part of it at least)


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each stretch of True in ``mask``."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def hip_speed(t: np.ndarray, x: np.ndarray) -> np.ndarray:
    """(T,) horizontal speed of the mid-hip (px/s, signed) over a 0.5 s window centred on each
    sample; NaN within 0.25 s of the track's ends."""
    ok = np.isfinite(x)
    if ok.sum() < 2:
        return np.full(len(t), np.nan)
    h = _SPEED_WINDOW / 2
    lo = np.interp(t - h, t[ok], x[ok], left=np.nan, right=np.nan)
    hi = np.interp(t + h, t[ok], x[ok], left=np.nan, right=np.nan)
    return (hi - lo) / _SPEED_WINDOW


def walking_bouts(t: np.ndarray, hip_x: np.ndarray, height: float, config: GaitConfig,
                  ankles: tuple[np.ndarray, np.ndarray] | None = None) -> list[Bout]:
    """Stretches where the track walks steadily in one horizontal direction; with
    ``ankles`` (right and left x, px) also where it walks in place (:func:`stepping`),
    joined to a bout of the same direction they touch."""
    v = hip_speed(t, hip_x) / height
    bouts = []
    for sign in (1, -1):
        moving = np.nan_to_num(v * sign) >= config.min_speed
        for a, b in _bridged(t, runs(moving), config.max_pause):
            if t[b - 1] - t[a] >= config.min_bout:
                bouts.append(Bout(int(a), int(b), sign, float(t[a]), float(t[b - 1])))
    if ankles is not None:
        taken = np.zeros(len(t), bool)
        for bo in bouts:
            taken[bo.start:bo.end] = True
        for a, b, sign in stepping(t, hip_x, *ankles, height, config.min_speed):
            for fa, fb in runs(~taken[a:b]):       # the stretches no bout has yet
                lo, hi = a + int(fa), a + int(fb)
                if t[hi - 1] - t[lo] >= config.min_bout / 2:   # under min_bout: kept if joined
                    bouts.append(Bout(lo, hi, sign, float(t[lo]), float(t[hi - 1]), True))
        bouts = _joined(t, sorted(bouts, key=lambda bo: bo.start), config)
    return [bo for bo in sorted(bouts, key=lambda bo: bo.start)
            if bo.t1 - bo.t0 >= config.min_bout]


def _bridged(t: np.ndarray, runs: list[tuple[int, int]], pause: float) -> list[list[int]]:
    """Runs with the gaps of up to ``pause`` seconds between them closed."""
    merged: list[list[int]] = []
    for a, b in runs:
        if merged and t[a] - t[merged[-1][1] - 1] <= pause:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    return merged


def _joined(t: np.ndarray, bouts: list[Bout], config: GaitConfig) -> list[Bout]:
    """Consecutive bouts of one direction less than ``max_pause`` apart, one of them in
    place, as one bout (a camera that follows the walker for part of the way)."""
    out: list[Bout] = []
    for bo in bouts:
        last = out[-1] if out else None
        if (last is not None and last.direction == bo.direction
                and (last.in_place or bo.in_place)
                and t[bo.start] - t[last.end - 1] <= config.max_pause):
            out[-1] = Bout(last.start, max(last.end, bo.end), bo.direction, last.t0,
                           max(last.t1, bo.t1), True)
        else:
            out.append(bo)
    return out


# Stepping in place: the ankles' order along the picture (right minus left, body heights)
# changes sign at every mid-swing. A change counts when the order goes from beyond
# +STEP_APART to beyond -STEP_APART (or back), so the ankle keypoints' jitter and the feet
# side by side while standing do not count; a walker's feet are 0.3-0.5 body heights apart
# at each contact.
STEP_APART = 0.1


def stepping(t: np.ndarray, hip_x: np.ndarray, right_x: np.ndarray, left_x: np.ndarray,
             height: float, min_speed: float) -> list[tuple[int, int, int]]:
    """(start, end, direction) samples where the feet take regular turns in front: at
    least four changes of which foot is in front, each 0.25-1.25 s after the one before
    and within half to twice the median of those gaps. The direction is the way the walker
    faces: a foot on the ground slides back under the hips (with a treadmill's belt, or as
    the walker moves on with the camera), and a foot is on the ground for about 60 % of the
    time, so the ankles' median speed against the hips is that slide; under ``min_speed``
    (body heights/s) it is not walking."""
    order = (right_x - left_x) / height
    ok = np.flatnonzero(np.isfinite(order))
    changes, state = [], 0
    for i in ok:
        now = 1 if order[i] > STEP_APART else -1 if order[i] < -STEP_APART else 0
        if now and now != state:
            if state:
                changes.append(i)
            state = now
    out = []
    for run in _regular(t, np.array(changes, int)):
        a, b = run[0], run[-1]
        gap = float(np.median(np.diff(t[run])))
        a = int(np.searchsorted(t, t[a] - gap / 2))
        b = int(np.searchsorted(t, t[b] + gap / 2))
        rel = np.stack([right_x[a:b] - hip_x[a:b], left_x[a:b] - hip_x[a:b]])
        v = np.diff(rel, axis=1) / np.diff(t[a:b])
        v = v[np.isfinite(v)] / height
        slide = float(np.median(v)) if len(v) >= 8 else 0.0
        if abs(slide) >= min_speed:
            out.append((a, b, -1 if slide > 0 else 1))
    return out


def _regular(t: np.ndarray, changes: np.ndarray) -> list[np.ndarray]:
    """Runs of at least four ``changes`` (sample indices) at step-like intervals."""
    runs: list[list[int]] = []
    for c in changes.tolist():
        if runs and STEP_RANGE[0] <= t[c] - t[runs[-1][-1]] <= STEP_RANGE[1]:
            runs[-1].append(c)
        else:
            runs.append([c])
    out = []
    for r in runs:
        if len(r) < 4:
            continue
        d = np.diff(t[r])
        med = float(np.median(d))
        if ((d >= 0.5 * med) & (d <= 2 * med)).all():
            out.append(np.array(r))
    return out
