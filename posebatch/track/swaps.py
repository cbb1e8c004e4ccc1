"""Left/right swap correction along one track.

Bottom-up networks sometimes label a person's left leg as the right one (and vice versa) for a
frame or a few, mostly side-on. Per group of mirrored parts (legs, arms, face) each detection
is either kept as labelled or mirrored; the labelling chosen for the whole track is the one
that minimises, by dynamic programming (Viterbi over the two states), the jumps of the group's
parts between consecutive detections (in body heights, capped per part, after taking out the
body's own motion, measured on points a swap does not move) plus a cost for every second
spent mirrored. A swap that makes the limbs jump away and back is therefore undone; a long
disagreement with the network, which is more likely our error than its, is left alone.
"""
from __future__ import annotations

import numpy as np

from ..engine.layout import KeypointLayout

_JUMP_CAP = 0.5      # body heights: one wild part cannot dominate a decision


def swap_groups(layout: KeypointLayout) -> list[list[tuple[int, int]]]:
    """Mirrored pairs grouped by limb (arms, legs, face), as the layout names them."""
    return layout.mirrored_groups()


def _anchors(kp: np.ndarray, layout: KeypointLayout) -> np.ndarray:
    """(T, A, 2) points that a left/right swap does not move: the unpaired parts (neck, nose)
    and the midpoint of every mirrored pair; NaN where not found."""
    xy = np.where(kp[..., 2:3] > 0, kp[..., :2], np.nan).astype(np.float64)
    paired = {p for pair in layout.flip_pairs for p in pair}
    single = [p for p in range(layout.n_parts) if p not in paired]
    mids = [(xy[:, a] + xy[:, b]) / 2 for a, b in layout.flip_pairs]
    return np.concatenate([xy[:, single], np.stack(mids, 1)], 1)


def _body_shift(anchors: np.ndarray) -> np.ndarray:
    """(T-1, 2) how far the body moved from each detection to the next: the mean displacement
    of the anchors found in both (0 where none is)."""
    d = anchors[1:] - anchors[:-1]
    ok = np.isfinite(d).all(-1)
    n = ok.sum(1)
    total = np.where(ok[..., None], d, 0.0).sum(1)
    return total / np.maximum(n, 1)[:, None]


def _jumps(a: np.ndarray, b: np.ndarray, shift: np.ndarray, height: float) -> np.ndarray:
    """(T-1,) how far, in body heights, the group's parts jump from each of ``a``'s (T, k, 2)
    part sets to the next of ``b``'s once the body's own motion ``shift`` is taken out: the
    mean capped distance over the parts present in both, times k (so a state that leaves
    parts uncompared gains nothing)."""
    d = np.sqrt(((b[1:] - a[:-1] - shift[:, None]) ** 2).sum(-1)) / height
    ok = np.isfinite(d)
    d = np.minimum(np.where(ok, d, 0.0), _JUMP_CAP)
    return d.sum(-1) / np.maximum(ok.sum(-1), 1) * a.shape[1]


def correct_swaps(kp: np.ndarray, durations: np.ndarray, height: float,
                  layout: KeypointLayout, swap_horizon: float) -> np.ndarray:
    """Which detections of one track to mirror, per part.

    ``kp`` (T, P, 3): the track's detections in time order; ``durations`` (T,) how long each
    detection's frame lasts (s); ``height``: the person's typical height in pixels. Returns (T, P) bool: True where the part's label is to be
    replaced by its mirror (both parts of a pair flip together).
    """
    n = len(kp)
    out = np.zeros((n, layout.n_parts), bool)
    if n < 2:
        return out
    xy = np.where(kp[..., 2:3] > 0, kp[..., :2], np.nan).astype(np.float64)
    shift = _body_shift(_anchors(kp, layout))
    per_second = 1.0 / swap_horizon
    for group in swap_groups(layout):
        right = [a for a, _ in group]
        left = [b for _, b in group]
        parts = right + left
        states = (xy[:, parts], xy[:, left + right])       # as labelled, mirrored
        # steps[t - 1, a, b]: the jump from detection t - 1 in state a to t in state b
        steps = np.stack([np.stack([_jumps(states[a], states[b], shift, height)
                                    for b in (0, 1)], -1) for a in (0, 1)], -2)
        prior = np.array([0.0, 1.0])
        cost = prior * per_second * durations[0]
        back = np.zeros((n, 2), np.int8)
        for t in range(1, n):
            total = cost[:, None] + steps[t - 1]
            back[t] = total.argmin(0)
            cost = total.min(0) + prior * per_second * durations[t]
        state = int(cost.argmin())
        for t in range(n - 1, -1, -1):
            if state:
                out[t, parts] = True
            state = int(back[t, state]) if t else state
    return out
