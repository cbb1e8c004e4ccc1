"""Gait analysis over a job's tables: joint angles, walking bouts, gait events, strides,
cadence and left/right symmetry, per track. Functions over pandas DataFrames (the wide
per-track view of ``posebatch.tables``); files are written by ``posebatch.gait.report``.

    from posebatch import gait, tables
    result = gait.analyse(tables.load("out/demo"), gait.GaitConfig(height_m=1.70))
    result.summary        # one row per (video, track): cadence, stride time, ... or why not

Units: seconds, degrees, pixels (metres when the walker's height is given: an approximation
from the track's median standing height). The ankle stands in for the heel and the toe (the
model has neither), so contacts are when the ankle is furthest forward, which on real gait
comes a little after the heel touches (see the README's gait section).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import GaitConfig
from .angles import SIDES, joint_angles, mid_hip
from .events import Bout, extremes, pick_events, stride_period, walking_bouts

__all__ = ["GaitConfig", "GaitResult", "TrackGait", "analyse", "analyse_track",
           "joint_angles", "walking_bouts"]

# Eyes sit at about 0.936 and ankles at 0.039 of a standing person's height (Drillis and
# Contini's segment proportions): eye-to-ankle is about 0.897 of the stature.
_EYE_TO_ANKLE = 0.897
_NECK_TO_ANKLE = 0.779


@dataclass(frozen=True)
class TrackGait:
    """One track's analysis. ``angles``: per frame (index time); ``events``: one row per
    event; ``strides``: one row per stride; ``bouts``: one row per walking bout; ``summary``:
    one dict (or a ``reason``)."""

    angles: pd.DataFrame
    events: pd.DataFrame
    strides: pd.DataFrame
    bouts: pd.DataFrame
    summary: dict


@dataclass(frozen=True)
class GaitResult:
    """The job's gait tables (every analysed track, with ``video`` and ``track`` columns)."""

    angles: pd.DataFrame
    events: pd.DataFrame
    strides: pd.DataFrame
    bouts: pd.DataFrame
    summary: pd.DataFrame


def _xy(w: pd.DataFrame, part: str) -> np.ndarray:
    return w[[f"{part}_x", f"{part}_y"]].to_numpy(np.float64)


def body_height(w: pd.DataFrame) -> np.ndarray:
    """(T,) the person's apparent stature per frame in pixels: eyes (or nose) to ankles over
    0.897 of the stature, or, where the head is not found, neck to ankles over 0.779 (Drillis
    and Contini's proportions: eyes 0.936, neck (the shoulders' level) 0.818, ankles 0.039)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # frames with none of them: NaN
        top = np.nanmean(np.stack([w["left_eye_y"], w["right_eye_y"], w["nose_y"]]), 0)
        bottom = np.nanmean(np.stack([w["left_ankle_y"], w["right_ankle_y"]]), 0)
    by_head = (bottom - top) / _EYE_TO_ANKLE
    by_neck = (bottom - w["neck_y"].to_numpy(np.float64)) / _NECK_TO_ANKLE
    return np.where(np.isfinite(by_head), by_head, by_neck)


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame({"side": pd.Series(dtype=str), "event": pd.Series(dtype=str),
                         "frame": pd.Series(dtype=np.int64), "time": pd.Series(dtype=float),
                         "confidence": pd.Series(dtype=float), "bout": pd.Series(dtype=np.int64)})


def analyse_track(w: pd.DataFrame, config: GaitConfig = GaitConfig()) -> TrackGait:
    """Gait of one track. ``w``: its wide view (index time (s), column ``frame`` and
    ``PART_x``, ``PART_y``, ``PART_score``), smoothed keypoints preferred."""
    w = w.sort_index()
    t = w.index.to_numpy(np.float64)
    hip = mid_hip(w)
    heights = body_height(w)
    height = float(np.nanmedian(heights)) if np.isfinite(heights).any() else float("nan")
    summary: dict = {"start": float(t[0]) if len(t) else np.nan,
                     "end": float(t[-1]) if len(t) else np.nan,
                     "standing_height_px": height}
    if not np.isfinite(height) or len(t) < 4:
        angles = joint_angles(w, 1)
        return TrackGait(angles, _empty_events(), pd.DataFrame(), pd.DataFrame(),
                         {**summary, "reason": "no gait: ankles and head or neck never found "
                                               "together (no body height)"})
    bouts = walking_bouts(t, hip[:, 0], height, config)
    direction = np.full(len(t), np.sign(np.nansum(np.diff(hip[:, 0]))) or 1.0)
    for b in bouts:
        direction[b.start:b.end] = b.direction
    angles = joint_angles(w, direction)
    events = []
    for k, b in enumerate(bouts):
        events += _bout_events(w, t, hip, height, b, k, config)
    ev = pd.DataFrame(events) if events else _empty_events()
    strides = _strides(ev, w, t, bouts, height, config)
    summary.update(_summary(w, t, hip, heights, height, bouts, ev, strides, config))
    return TrackGait(angles, ev, strides, _bout_rows(bouts, ev, strides, config), summary)


def _bout_events(w, t, hip, height, b: Bout, k: int, config: GaitConfig) -> list[dict]:
    sl = slice(b.start, b.end)
    rel = {s: b.direction * (_xy(w, f"{s}_ankle")[sl, 0] - hip[sl, 0]) / height
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


def _at(t: np.ndarray, y: np.ndarray, when: float) -> float:
    ok = np.isfinite(y)
    return float(np.interp(when, t[ok], y[ok])) if ok.sum() >= 2 else np.nan


def _strides(ev: pd.DataFrame, w, t, bouts: list[Bout], height: float,
             config: GaitConfig) -> pd.DataFrame:
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
                ax = _xy(w, f"{side}_ankle")[:, 0]
                ox = _xy(w, f"{other}_ankle")[:, 0]
                step_len = b.direction * (_at(t, ax, c1) - _at(t, ox, c1))
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


def _symmetry(strides: pd.DataFrame, col: str) -> float:
    """Robinson's symmetry index, % : 2 |L - R| / (L + R) x 100 of the sides' means."""
    m = strides.groupby("side")[col].mean()
    if {"left", "right"} - set(m.index):
        return np.nan
    return float(200 * abs(m["left"] - m["right"]) / (m["left"] + m["right"]))


def _summary(w, t, hip, heights, height, bouts, ev, strides, config) -> dict:
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
                             f"{config.min_speed} body heights/s for {config.min_bout} s)")
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
    out.update(figures(strides, ev, config))
    out["flags"] = "; ".join(flags) or None
    out["reason"] = None
    return out


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
    out["cadence_steps_per_min"] = 120.0 / out["stride_time_s"]
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


def _bout_rows(bouts: list[Bout], ev: pd.DataFrame, strides: pd.DataFrame,
               config: GaitConfig) -> pd.DataFrame:
    """One row per walking bout: where, which way, and its figures (when it has strides)."""
    rows = []
    for k, b in enumerate(bouts):
        row = {"bout": k, "start": b.t0, "end": b.t1,
               "direction": "right" if b.direction > 0 else "left"}
        s = strides[strides.bout == k] if len(strides) else strides
        if len(s):
            row.update(figures(s, ev[ev.bout == k], config))
        else:
            row["strides"] = 0
        rows.append(row)
    return pd.DataFrame(rows)


def analyse(job, config: GaitConfig = GaitConfig(), video: str | None = None,
            track: int | None = None) -> GaitResult:
    """Every track of the job's tables (``posebatch.tables.load``), or the ones named."""
    from ..tables import wide

    kp = job.keypoints
    if video is not None:
        kp = kp[kp["video"].astype(str) == video]
    if track is not None:
        kp = kp[kp["track"] == track]
    parts = {"angles": [], "events": [], "strides": [], "bouts": [], "summary": []}
    if kp["track"].notna().any():
        for (name, tid), w in wide(kp).groupby(level=["video", "track"], sort=True):
            g = analyse_track(w.droplevel(["video", "track"]), config)
            key = {"video": name, "track": int(tid)}
            angles = g.angles.reset_index().assign(**key, frame=w["frame"].to_numpy())
            parts["angles"].append(angles)
            parts["events"].append(g.events.assign(**key))
            parts["strides"].append(g.strides.assign(**key))
            parts["bouts"].append(g.bouts.assign(**key))
            parts["summary"].append(pd.DataFrame([{**key, **g.summary}]))
    frames = {k: _front(pd.concat(v, ignore_index=True)) if v else pd.DataFrame()
              for k, v in parts.items()}
    return GaitResult(**frames)


def _front(df: pd.DataFrame) -> pd.DataFrame:
    if "bout" in df:
        df = df.assign(bout=df["bout"].astype("Int64"))
    cols = [c for c in ("video", "track", "time", "frame") if c in df]
    return df[cols + [c for c in df.columns if c not in cols]]
