"""Which foot is nearer the camera: a side cue that does not use the network's labels.

A camera above the floor draws the foot nearer to it lower in the picture, and side-on it is
the foot of the side it sees: the right one when the walker goes towards the picture's right
(facing that way), the left one when going left. In the double support just after a contact
both feet are on the floor, so the landing (front) foot is drawn lower than the rear one
when it is the near foot, higher when it is the far one; the heel-first front foot and the
rear foot up on its toes add the same offset at every contact, which comparing the near
contacts with the far ones takes out, and so does a path not quite across the picture (the
front foot is always further along it).

On the labelled set (13 passes, 5 walkers) the near foot's contacts were drawn lower than the
far foot's on every pass whose sides were right, by 0.006-0.10 body heights (a camera at
about hip height, 3-4 m away: 0.01-0.05 expected; about 0 on two re-encoded clips of one of
them); on the one pass whose ankle labels were wrong in two frames of three it said the other
way round, clearly (-0.04, t = -4.4). The labels decide the
sides where they are clear; where they leave them uncertain and this cue clearly says the
other way, it decides (``overrules``). It cannot hold for a camera below the walker's floor
(a stage filmed from the stalls), where it is reversed, or at floor level, where it vanishes:
the strength required keeps a faint or noisy cue from deciding.
"""
from __future__ import annotations

import numpy as np

WINDOW = 0.1            # s after a contact: both feet on the floor (double support)
CLEAR = 3.0             # |t| of the near-minus-far difference for the cue to decide
MIN_DIFFERENCE = 0.015  # body heights: a smaller difference decides nothing, however steady
UNCERTAIN = 0.75        # labels' side confidence below which they leave the sides uncertain


def near_foot(t: np.ndarray, rel: dict, up: dict, contacts: np.ndarray, sides: np.ndarray,
              direction: int) -> tuple[float, float]:
    """(t-statistic, difference in body heights) of how much lower the landing foot is drawn
    at the contacts the ``sides`` (+1 right, -1 left) call the near foot's than at the far
    foot's: > 0 agrees with the sides. ``rel``, ``up``: per side the ankle along the way
    (ahead of the hips) and up, in body heights, at samples ``t``. NaN where either foot has
    fewer than two contacts with both ankles found just after."""
    near_side = 1 if direction > 0 else -1
    ok = np.isfinite(rel["right"] - rel["left"]) & np.isfinite(up["right"] - up["left"])
    order = np.sign(rel["right"] - rel["left"])              # +1: the right foot in front
    drop = -order * (up["right"] - up["left"])               # front below rear (> 0)
    near: list[float] = []
    far: list[float] = []
    for when, side in zip(contacts, sides):
        win = ok & (t > when) & (t <= when + WINDOW)
        if win.any():
            (near if side == near_side else far).append(float(drop[win].mean()))
    if len(near) < 2 or len(far) < 2:
        return float("nan"), float("nan")
    a, b = np.array(near), np.array(far)
    diff = float(a.mean() - b.mean())
    se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    return (diff / se if se > 0 else float("nan")), diff


def overrules(t_stat: float, diff: float, label_confidence: float) -> bool:
    """Whether the near foot decides the sides against the labels: the labels leave them
    uncertain and the cue clearly says the other way round."""
    return bool(label_confidence < UNCERTAIN and t_stat <= -CLEAR and diff <= -MIN_DIFFERENCE)
