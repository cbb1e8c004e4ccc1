"""Walking bouts and gait events of one track, from its smoothed keypoints over time.

Bouts: where the mid-hip moves steadily in one horizontal direction, at least ``min_speed``
body heights per second, for at least ``min_bout`` seconds. Events (Zeni et al. 2008, adapted
to 18 keypoints: the ankle stands in for the heel and the toe, which this model lacks): a
foot's initial contact is when its ankle is furthest in front of the mid-hip along the
walking direction, its toe-off when furthest behind. Peaks must stand out by
``min_prominence`` body heights, and two events of one kind on one foot are at least
``min_spacing`` of the walker's own stride time apart (measured per bout from the
autocorrelation of the ankle's signal), which rejects the jitter that made a plain Zeni
detector report several contacts per step. Times are refined below a frame by a parabola
through the peak.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from ..config import GaitConfig
from .angles import SIDES, xy

_PERIOD_RANGE = (0.5, 2.5)     # s: stride times searched for (slow walk to brisk run)
_SPEED_WINDOW = 0.5            # s: the mid-hip's speed is measured over this window


@dataclass(frozen=True)
class Bout:
    """Samples [start, end) of a track walking in ``direction`` (+1: image right)."""

    start: int
    end: int
    direction: int
    t0: float
    t1: float


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
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


def walking_bouts(t: np.ndarray, hip_x: np.ndarray, height: float,
                  config: GaitConfig) -> list[Bout]:
    """Stretches where the track walks steadily in one horizontal direction."""
    v = hip_speed(t, hip_x) / height
    bouts = []
    for sign in (1, -1):
        moving = np.nan_to_num(v * sign) >= config.min_speed
        runs = _runs(moving)
        merged: list[list[int]] = []
        for a, b in runs:                                    # close short pauses
            if merged and t[a] - t[merged[-1][1] - 1] <= config.max_pause:
                merged[-1][1] = b
            else:
                merged.append([a, b])
        for a, b in merged:
            if t[b - 1] - t[a] >= config.min_bout:
                bouts.append(Bout(int(a), int(b), sign, float(t[a]), float(t[b - 1])))
    return sorted(bouts, key=lambda bo: bo.start)


def stride_period(t: np.ndarray, signal: np.ndarray) -> float | None:
    """The walker's stride time (s): the lag of the highest autocorrelation peak of an
    ankle's forward position, within 0.5-2.5 s; None when there is no clear rhythm."""
    grid, y = _even(t, signal)
    if grid is None or len(y) < 8:
        return None
    dt = grid[1] - grid[0]
    y = y - y.mean()
    ac = np.correlate(y, y, "full")[len(y) - 1:]
    if ac[0] <= 0:
        return None
    ac = ac / ac[0]
    lo, hi = int(_PERIOD_RANGE[0] / dt), min(int(_PERIOD_RANGE[1] / dt), len(ac) - 1)
    if hi <= lo + 1:
        return None
    peaks, _ = find_peaks(ac[lo:hi + 1])
    if not len(peaks):
        return None
    best = lo + peaks[np.argmax(ac[lo + peaks])]
    return float(best * dt) if ac[best] > 0.2 else None


def _even(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    ok = np.isfinite(y)
    if ok.sum() < 4:
        return None, y[:0]
    tt, yy = t[ok], y[ok]
    dt = float(np.median(np.diff(tt)))
    grid = tt[0] + dt * np.arange(int(round((tt[-1] - tt[0]) / dt)) + 1)
    return grid, np.interp(grid, tt, yy)


def extremes(t: np.ndarray, signal: np.ndarray, config: GaitConfig,
             maximum: bool) -> list[tuple[float, float]]:
    """(time, prominence) of every maximum (or minimum) of the signal that stands out by
    ``min_prominence``, timed below a sample by a parabola through the peak."""
    grid, y = _even(t, signal)
    if grid is None:
        return []
    dt = grid[1] - grid[0]
    s = y if maximum else -y
    idx, props = find_peaks(s, prominence=config.min_prominence)
    out = []
    for i, prom in zip(idx, props["prominences"]):
        a, b, c = s[i - 1], s[i], s[i + 1]
        den = a - 2 * b + c
        shift = 0.5 * (a - c) / den if den < 0 else 0.0
        out.append((float(grid[i] + np.clip(shift, -0.5, 0.5) * dt), float(prom)))
    return out


def pick_events(candidates: dict[str, list[tuple[float, float]]], period: float,
                config: GaitConfig) -> dict[str, list[tuple[float, float]]]:
    """Keep the events a walking rhythm allows, most prominent first: one foot's events of a
    kind at least ``min_spacing`` stride times apart, and the two feet's at least a quarter
    stride apart (feet take turns: both cannot land within a quarter of a stride)."""
    pool = sorted(((prom, when, side) for side, found in candidates.items()
                   for when, prom in found), reverse=True)
    kept: dict[str, list[tuple[float, float]]] = {side: [] for side in candidates}
    for prom, when, side in pool:
        same = all(abs(when - w) >= config.min_spacing * period for w, _ in kept[side])
        other = all(abs(when - w) >= 0.25 * period
                    for s, found in kept.items() if s != side for w, _ in found)
        if same and other:
            kept[side].append((when, prom))
    return {side: sorted(found) for side, found in kept.items()}


def bout_events(w, t: np.ndarray, hip: np.ndarray, height: float, b: Bout, k: int,
                config: GaitConfig) -> list[dict]:
    """Contacts and toe-offs of both feet in bout ``k`` of a track's wide view ``w`` (times
    ``t``, mid-hip ``hip`` (T, 2), stature ``height`` px), as rows for the events table."""
    sl = slice(b.start, b.end)
    rel = {s: b.direction * (xy(w, f"{s}_ankle")[sl, 0] - hip[sl, 0]) / height
           for s in SIDES}
    periods = [p for p in (stride_period(t[sl], rel[s]) for s in SIDES) if p]
    if not periods:
        return []
    period = float(np.median(periods))
    rows = []
    frames = w["frame"].to_numpy()
    for name, maximum in (("contact", True), ("toe_off", False)):
        found = pick_events({s: extremes(t[sl], rel[s], config, maximum) for s in SIDES},
                            period, config)
        for side in SIDES:
            amp = np.nanpercentile(rel[side], 95) - np.nanpercentile(rel[side], 5)
            score = w[f"{side}_ankle_score"].to_numpy(np.float64)
            for when, prom in found[side]:
                i = int(np.argmin(np.abs(t - when)))
                near = np.nan_to_num(score[max(0, i - 1):i + 2], nan=0.0)
                conf = min(1.0, prom / (0.5 * amp)) * float(np.clip(near.mean(), 0, 1))
                rows.append({"side": side, "event": name, "frame": int(frames[i]),
                             "time": when, "confidence": round(conf, 3), "bout": k,
                             "stride_period": period})
    return sorted(rows, key=lambda r: r["time"])
