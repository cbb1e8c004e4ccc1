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

The same cue read from the picture (:func:`picture_sides`, where the gait reads the video):
the ankle keypoints can miss it where the network places the ankles loosely (an older woman
in black trousers on a dark floor: t = 0.4 and -1.0 from the ankles, her near heel drawn
4-11 px lower by eye), so just after each contact of a bout left uncertain the soles are cut
out of the frame and each foot's lowest pixel unlike the scene is compared: t = -7.3 and
-8.7 on her two passes, the right way round, and between -0.4 and +6.2 on the 5 bouts of the
labelled set's 17 other passes that were measured, whose sides were right.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .toe_tip import Box, Pictures, Window, foreground

WINDOW = 0.1            # s after a contact: both feet on the floor (double support)
CLEAR = 3.0             # |t| of the near-minus-far difference for the cue to decide
MIN_DIFFERENCE = 0.015  # body heights: a smaller difference decides nothing, however steady
UNCERTAIN = 0.75        # labels' side confidence below which they leave the sides uncertain
# the soles in the picture (body heights): a box over both feet reaching this far beside,
# above and below their ankles; each foot's part of it, this far either side of its ankle
SIDE, ABOVE, BELOW, REACH = 0.15, 0.05, 0.12, 0.08
SOLES_AFTER = 0.07      # s after a contact: the frame whose soles are compared
# two soles on the floor are drawn at most this far apart in height (the near foot lower by
# 0.006-0.10 body heights on the labelled set, from the ankles): more is not the floor (a
# foot cut by the picture's edge as the walker comes in, another part of the body)
PLAUSIBLE = 0.1


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
    return contrast(np.array(near), np.array(far))


def contrast(near: np.ndarray, far: np.ndarray) -> tuple[float, float]:
    """(Welch's t, difference) of the means of ``near`` minus ``far`` (NaN where either has
    fewer than two finite values)."""
    a, b = near[np.isfinite(near)], far[np.isfinite(far)]
    if len(a) < 2 or len(b) < 2:
        return float("nan"), float("nan")
    diff = float(a.mean() - b.mean())
    se = float(np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b)))
    return (diff / se if se > 0 else float("nan")), diff


def sole_drop(mask: np.ndarray, xs: np.ndarray, front: int, reach: float) -> float:
    """Rows by which the front foot's lowest point is drawn below the rear foot's (> 0: the
    front one lower) in a mask of what is unlike the scene; ``xs`` the two ankles' columns in
    it, ``front`` which of them is ahead; each foot's lowest point is searched within
    ``reach`` columns of its ankle. NaN where a foot shows nothing."""
    lows = []
    for x in xs:
        part = mask[:, max(int(x - reach), 0):max(int(x + reach), 0)]
        rows = np.flatnonzero(part.any(1))
        lows.append(float(rows.max()) if len(rows) else np.nan)
    return lows[front] - lows[1 - front]


def picture_sides(ev: pd.DataFrame, w: pd.DataFrame, t: np.ndarray, direction: np.ndarray,
                  height: float, pictures: Pictures) -> pd.DataFrame:
    """``ev`` with each bout's sides reversed where its ankle labels left them uncertain, the
    ankles' near-foot cue did not decide, and the soles in the picture clearly say the other
    way round (:func:`overrules`); ``near_foot_picture``: that cue's t (> 0 agreeing with the
    sides given), null where not measured. ``w``: the track's wide view (both ankles, their
    labels as found), ``t`` its times, ``direction`` (+1 right, -1 left) per row."""
    ev = ev.assign(near_foot_picture=np.nan)
    if not len(ev) or "side_confidence" not in ev or len(t) < 2:
        return ev
    frames = w["frame"].to_numpy()
    ax = w[["right_ankle_x", "left_ankle_x"]].to_numpy(np.float64)
    ay = w[["right_ankle_y", "left_ankle_y"]].to_numpy(np.float64)
    plans = []
    label_confidence: dict[int, float] = {}     # the bouts looked at: their labels' side one
    for k, e in ev.groupby("bout"):
        contacts = e[e["event"] == "contact"]
        if (not len(contacts) or e["sides_from_near_foot"].any()
                or contacts["side_confidence"].mean() >= UNCERTAIN):
            continue
        label_confidence[int(k)] = float(contacts["side_confidence"].mean())
        for j in contacts.index:
            i = min(int(np.searchsorted(t, ev.at[j, "time"] + SOLES_AFTER)), len(t) - 1)
            xs, ys = ax[i], ay[i]
            if not (np.isfinite(xs).all() and np.isfinite(ys).all()):
                continue
            box = Box(int(max(xs.min() - SIDE * height, 0)), int(xs.max() + SIDE * height),
                      int(max(ys.min() - ABOVE * height, 0)), int(ys.max() + BELOW * height),
                      float(xs.mean()), float(ys.mean()))
            if box.x1 <= box.x0 + 1 or box.y1 <= box.y0 + 1:
                continue        # the feet off the picture
            plans.append((k, j, int(direction[i]) or 1, xs, Window(frames[i:i + 1], box,
                                                                      float(t[i]))))
    if not plans:
        return ev
    drops: dict[int, list[tuple[str, float]]] = {}
    ev["near_foot"] = pd.to_numeric(ev["near_foot"], errors="coerce")     # None: NaN
    for (k, j, d, xs, win), (crops, back) in zip(plans, pictures.read([p[-1] for p in plans])):
        crop = crops[0] if crops else None
        if back is None or crop is None or crop.shape != back.shape or not crop.size:
            continue
        drop = sole_drop(foreground(crop, back), xs - win.box.x0, int(np.argmax(d * xs)),
                         REACH * height)
        if not abs(drop) <= PLAUSIBLE * height:
            continue
        near = (ev.at[j, "side"] == "right") == (d > 0)
        drops.setdefault(int(k), []).append(("near" if near else "far", drop / height))
    for k, vals in drops.items():
        kind = np.array([v[0] for v in vals])
        drops_k = np.array([v[1] for v in vals])
        t_stat, diff = contrast(drops_k[kind == "near"], drops_k[kind == "far"])
        rows = ev.index[ev["bout"] == k]
        if overrules(t_stat, diff, label_confidence[k]):
            ev.loc[rows, "side"] = ev.loc[rows, "side"].map({"left": "right",
                                                               "right": "left"})
            ev.loc[rows, "side_confidence"] = 1 - ev.loc[rows, "side_confidence"]
            ev.loc[rows, "sides_from_near_foot"] = True
            ev.loc[rows, "near_foot"] = -ev.loc[rows, "near_foot"]    # > 0: agrees, as here
            t_stat = -t_stat
        if np.isfinite(t_stat):
            ev.loc[rows, "near_foot_picture"] = round(t_stat, 2)
    return ev


def overrules(t_stat: float, diff: float, label_confidence: float) -> bool:
    """Whether the near foot decides the sides against the labels: the labels leave them
    uncertain and the cue clearly says the other way round."""
    return bool(label_confidence < UNCERTAIN and t_stat <= -CLEAR and diff <= -MIN_DIFFERENCE)
