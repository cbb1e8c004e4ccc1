"""Per-track and per-bout gait summaries, or the reason a track has none."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.config import GaitConfig
from .bouts import Bout
from .near import UNCERTAIN


# Below this mean event confidence (prominence x ankle score x rhythm clarity) the figures are
# flagged: on the labelled set (benchmarks/gait_set) the passes under it are a step-to limp
# (0.08; its cadence was -48 % until step-to gait was recognised, now +2.5 %) and a
# circumduction both ways (0.06; +13 % out, -2 % back, camera panning); every other walker is
# at 0.10-0.35.
WEAK_EVENTS = 0.1

# The rhythm's step time is used for cadence only where the contacts' median step is within
# this of it. A frame's error at each end moves one step of 0.6 s at 30 fps by up to 11 %, but
# the median of the steps by far less; on the labelled set the two agree within 6 % wherever
# the rhythm is right, and one pass's rhythm (0.61 s, on a short bout) is 9 % off its
# contacts (0.66 s) and 10 % off the labels (0.68 s): with 15 % it gave cadence +12 %.
RHYTHM_AGREEMENT = 0.08


# A knee bent backwards through most of a walk is the network's, not the walker's: a knee
# hyperextends in stance only, rarely past 10 degrees (genu recurvatum), and flexes 40-60
# in swing (15-30 in a stiff-knee gait), so over a bout its median flexion stays above 0. On
# the labelled set's walking bouts it is -4 (an acted stiff-legged circumduction) to +61,
# and -20 and -27 on the older woman's way back, where the network puts her knees behind
# the line from hip to ankle (dark trousers on a dark floor).
BACKWARD_KNEE = -10.0


def knees_bent_backwards(angles: pd.DataFrame, bouts: list[Bout]) -> list[str]:
    """One note per bout whose median knee flexion (either side) is under
    ``BACKWARD_KNEE``: its knee and hip angles are not to be used."""
    notes = []
    for b in bouts:
        rows = angles.iloc[b.start:b.end]
        with np.errstate(all="ignore"):
            bent = {side: float(np.nanmedian(rows[f"{side}_knee_flexion"]))
                    if rows[f"{side}_knee_flexion"].notna().any() else np.nan
                    for side in ("left", "right")}
        low = [f"{m:.0f}\N{DEGREE SIGN} {side}" for side, m in bent.items()
               if m < BACKWARD_KNEE]
        if low:
            notes.append(f"knees bent backwards from {b.t0:.1f} to {b.t1:.1f} s (median knee "
                         f"flexion {', '.join(low)}, where a walking knee flexes "
                         "40-60\N{DEGREE SIGN} in swing): the knees were found behind the "
                         "line from hip to ankle, so knee and hip angles there are not usable "
                         "(look at the overlay)")
    return notes


def _step_to(ev: pd.DataFrame, bout: int) -> bool:
    """Whether bout ``bout`` walks step-to (its events found where the feet stand together)."""
    return bool("step_to" in ev and len(ev) and ev.step_to[ev.bout == bout].any())


def _symmetry(strides: pd.DataFrame, col: str) -> float:
    """Robinson's symmetry index, % : 2 |L - R| / (L + R) x 100 of the sides' means."""
    m = strides.groupby("side")[col].mean()
    if {"left", "right"} - set(m.index):
        return np.nan
    return float(200 * abs(m["left"] - m["right"]) / (m["left"] + m["right"]))


def track_summary(t: np.ndarray, hip: np.ndarray, heights: np.ndarray, height: float,
                  bouts: list[Bout], ev: pd.DataFrame, strides: pd.DataFrame,
                  config: GaitConfig, angles: pd.DataFrame) -> dict:
    """The track's summary: its figures over every stride, flags where the method is
    uncertain (not side-on, walking both ways) or the keypoints are implausible (knees bent
    backwards, from ``angles``, the track's :func:`joint_angles` rows), or a ``reason`` why
    there are no figures. ``heights`` (T,) its apparent stature per frame, ``height`` the
    median (px)."""
    out: dict = {"bouts": len(bouts), "walking_s": float(sum(b.t1 - b.t0 for b in bouts)),
                 "strides": len(strides)}
    with np.errstate(all="ignore"):
        change = (np.nanpercentile(heights, 90) / np.nanpercentile(heights, 10)) - 1
    if not bouts:
        span = np.nanmax(hip[:, 0]) - np.nanmin(hip[:, 0])
        if change > 0.25 and span < 0.5 * height:
            out["reason"] = (f"no gait: walking towards or away from the camera (apparent "
                             f"height changed {100 * change:.0f}%, little sideways motion)")
        elif t[-1] - t[0] < config.min_bout:
            out["reason"] = f"no gait: track too short ({t[-1] - t[0]:.1f} s)"
        else:
            out["reason"] = (f"no gait: not walking (the hips never moved at "
                             f"{config.min_speed} body heights/s for {config.min_bout} s, "
                             "nor did the feet take regular turns in front)")
        return out
    if len(strides) == 0:
        out["reason"] = "no gait: walking, but no complete stride (too few clear steps)"
        return out
    flags = []
    if change > 0.2:
        flags.append(f"apparent height changed {100 * change:.0f}%: not side-on, lengths and "
                     "angles foreshortened")
    if len({b.direction for b in bouts}) > 1:
        flags.append("walks both ways")
    if any(b.in_place for b in bouts):
        flags.append("walks in place (a treadmill, or a camera that follows the walker) for "
                     f"{sum(b.t1 - b.t0 for b in bouts if b.in_place):.1f} s: stride length "
                     "and speed there are the sum of two steps, not the hips' travel")
    step_to = [b for k, b in enumerate(bouts) if _step_to(ev, k)]
    if step_to:
        flags.append(f"walks step-to for {sum(b.t1 - b.t0 for b in step_to):.1f} s (one foot "
                     "only brought up beside the other: a limp, a cane): that foot's contacts "
                     "are where the feet come to rest together")
    steps = step_times(ev)
    if len(steps) < 4:              # cadence is the span of the steps over their number
        frame = float(np.median(np.diff(t)))
        share = 100 * frame / float(steps.sum()) if len(steps) else 100.0
        flags.append(f"only {len(steps)} steps: one frame is {share:.0f}% of the cadence")
    weak = "confidence" in ev and len(ev) and ev.confidence.mean() < WEAK_EVENTS
    near = (ev.sides_from_near_foot.to_numpy(bool) if "sides_from_near_foot" in ev
            else np.zeros(len(ev), bool))
    if near.any():
        flags.append("left/right from the near foot: the ankle labels left the sides "
                     "uncertain, and the foot drawn lower (nearer the camera, the right one "
                     "when walking right) said the other way round")
    # the bouts the near foot did not decide, as their labels left them
    rest = ev[~near] if "side_confidence" in ev else ev.iloc[:0]
    if len(rest) and rest.side_confidence.mean() < UNCERTAIN:
        flags.append(f"left/right uncertain: the ankle labels agree with the alternating "
                     f"sides at only {100 * rest.side_confidence.mean():.0f}% of the evidence"
                     + (" in the other bouts" if near.any() else "")
                     + ("" if weak else " (times and cadence are not affected)"))
    flags += knees_bent_backwards(angles, bouts)
    if weak:
        flags.append(f"weak events (mean confidence {ev.confidence.mean():.2f}, below "
                     f"{WEAK_EVENTS}): cadence and step times may be wrong (seen where one "
                     "foot's steps hardly show: circumduction, a limp)")
    out.update(figures(strides, ev, config))
    out["flags"] = "; ".join(flags) or None
    out["reason"] = None
    return out


def _steps(ev: pd.DataFrame, own: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per bout, its contacts' times (sorted) and whether each step between two consecutive
    ones is 0.6-1.5 of the bout's step time (else a step was missed or invented there): the
    rhythm's, or with ``own`` the contacts' own (half the median time from a contact to the
    one two later: a missed or invented contact moves two of those, not their median)."""
    if not len(ev) or "step_period" not in ev:
        return []
    out = []
    for _, e in ev[ev.event == "contact"].groupby("bout"):
        t = np.sort(e.time.to_numpy())
        d = np.diff(t)
        step = float(e.step_period.iloc[0])
        if own and len(t) >= 3:
            step = float(np.median(t[2:] - t[:-2])) / 2
        out.append((t, (d >= 0.6 * step) & (d <= 1.5 * step)))
    return out


def step_times(ev: pd.DataFrame) -> np.ndarray:
    """Every step's time (s): one contact to the next within a bout, where that is 0.6-1.5
    of the bout's step time (a step missed or invented in between otherwise). Cadence comes
    from these rather than from complete strides: every step of a walk counts, also the
    first and last ones, which seldom belong to a complete stride."""
    parts = [np.diff(t)[ok] for t, ok in _steps(ev)]
    return np.concatenate(parts) if parts else np.zeros(0)


def two_steps(ev: pd.DataFrame, own: bool = False) -> np.ndarray:
    """Every time (s) from a contact to the one two later within a bout, where both steps
    between are as :func:`step_times` keeps them (``own``: as :func:`_steps` judges them
    by the contacts' own step time): a stride, whichever foot starts it."""
    parts = [(t[2:] - t[:-2])[ok[1:] & ok[:-1]] for t, ok in _steps(ev, own)]
    return np.concatenate(parts) if parts else np.zeros(0)


def cadence(ev: pd.DataFrame, stride_time: float) -> float:
    """Steps per minute: 60 / the bouts' step time from the front foot's rhythm (the
    autocorrelation lag, which uses every sample of each bout; bouts weighted by their
    contacts), where the contacts found agree with it (half their median time from a
    contact to the one two later within ``RHYTHM_AGREEMENT``); otherwise 120 / the mean of
    those times (their steps judged by the contacts' own step time), 60 / the mean step
    with only single steps, and 120 / ``stride_time`` with fewer than two. The mean of n
    steps between contacts is (last - first) / n, set by the first and last contacts alone:
    on a short walk a frame's error at either end is several per cent of it. Whole
    strides, not steps: where the steps alternate long and short (a limp, circumduction)
    the median step is either, and an odd number of steps is biased to one kind."""
    steps = step_times(ev)
    c = ev[ev.event == "contact"] if len(ev) and "step_period" in ev else ev.iloc[:0]
    pairs = two_steps(ev)
    if len(pairs) and len(c):
        per_bout = c.groupby("bout").agg(period=("step_period", "first"),
                                         n=("time", "size"))
        period = float(np.average(per_bout.period, weights=per_bout.n))
        if abs(float(np.median(pairs)) / 2 / period - 1) <= RHYTHM_AGREEMENT:
            return 60.0 / period
    # the rhythm is wrong here, so it cannot say which steps are real either: on a
    # circumduction (steps of 0.47 and 0.83 s) whose rhythm came out 0.79 s, every short step
    # is under 0.6 of it
    own = two_steps(ev, own=True)
    if len(own):
        return 120.0 / float(np.mean(own))
    if len(steps) >= 2:
        return 60.0 / float(np.mean(steps))
    return 120.0 / stride_time


def figures(s: pd.DataFrame, ev: pd.DataFrame, config: GaitConfig) -> dict:
    """Means of the strides ``s`` (with SD and CV of stride and step time), symmetry
    indices, how regularly contacts alternate between feet, and the events' confidence."""
    out: dict = {"strides": len(s)}
    for col in ("stride_time", "step_time", "stance_pct", "swing_pct", "double_support_pct",
                "step_length_px", "stride_length_px", "speed_px_s"):
        out[f"{col}_s" if col.endswith("_time") else col] = float(s[col].mean())
    for col in ("stride_time", "step_time"):
        out[f"{col}_sd_s"] = float(s[col].std(ddof=1)) if len(s) > 1 else np.nan
        out[f"{col}_cv_pct"] = 100 * out[f"{col}_sd_s"] / out[f"{col}_s"]
    out["cadence_steps_per_min"] = cadence(ev, out["stride_time_s"])
    out["symmetry_index"] = _symmetry(s, "step_time")
    out["stance_symmetry_index"] = _symmetry(s, "stance_pct")
    if config.height_m:
        for col in ("speed_m_s", "stride_length_m", "step_length_m"):
            out[col] = float(s[col].mean())
    contacts = ev[ev.event == "contact"].sort_values("time")
    sides = contacts.side.to_numpy()
    out["alternation"] = float((sides[1:] != sides[:-1]).mean()) if len(sides) > 1 else np.nan
    out["mean_confidence"] = float(ev.confidence.mean()) if len(ev) else np.nan
    return out


def bout_rows(bouts: list[Bout], ev: pd.DataFrame, strides: pd.DataFrame,
               config: GaitConfig) -> pd.DataFrame:
    """One row per walking bout: where, which way, and its figures (when it has strides)."""
    rows = []
    for k, b in enumerate(bouts):
        row = {"bout": k, "start": b.t0, "end": b.t1,
               "direction": "right" if b.direction > 0 else "left", "in_place": b.in_place,
               "step_to": _step_to(ev, k)}
        s = strides[strides.bout == k] if len(strides) else strides
        if len(s):
            row.update(figures(s, ev[ev.bout == k], config))
        else:
            row["strides"] = 0
        rows.append(row)
    return pd.DataFrame(rows)
