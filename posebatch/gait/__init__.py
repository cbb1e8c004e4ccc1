"""Gait analysis over a job's tables: joint angles, walking bouts, gait events, strides,
cadence and left/right symmetry, per track. Functions over pandas DataFrames (the wide
per-track view of ``posebatch.storage.tables``); files are written by ``posebatch.gait.outputs``.

    from posebatch import gait, tables
    result = gait.analyse(tables.load("out/demo"), gait.GaitConfig(height_m=1.70))
    result.summary        # one row per (video, track): cadence, stride time, ... or why not

Units: seconds, degrees, pixels (metres when the walker's height is given: an approximation
from the track's median standing height). The ankle stands in for the heel (the model has
neither heel nor toe), so contacts are when the ankle is furthest forward, which on real gait
comes a little after the heel touches; toe-offs are timed from the toe tip in the video where
it can be read again (``toe_tip``), else from the ankle (the gait guide says how well each).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..engine.config import GaitConfig, TrackConfig
from . import schema
from .angles import body_height, joint_angles, mid_hip, xy
from .bouts import walking_bouts
from .events import bout_events, reported
from .legs import ahead, bout_of, follow_events
from .near import picture_sides
from .strides import stride_table
from .summary import bout_rows, track_summary
from .toe_tip import Pictures, retime, video_pictures

__all__ = ["GaitConfig", "GaitResult", "TrackGait", "analyse", "analyse_track",
           "joint_angles", "track_settings", "walking_bouts"]



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
    """The job's gait tables (every analysed track, with ``video`` and ``track`` columns),
    each with exactly the columns and types of its schema in ``posebatch.gait.schema``."""

    angles: pd.DataFrame
    events: pd.DataFrame
    strides: pd.DataFrame
    bouts: pd.DataFrame
    summary: pd.DataFrame


def _empty_events() -> pd.DataFrame:
    return pd.DataFrame({"side": pd.Series(dtype=str), "event": pd.Series(dtype=str),
                         "frame": pd.Series(dtype=np.int64), "time": pd.Series(dtype=float),
                         "confidence": pd.Series(dtype=float), "bout": pd.Series(dtype=np.int64)})


def analyse_track(w: pd.DataFrame, config: GaitConfig = GaitConfig(),
                  raw: pd.DataFrame | None = None,
                  smoothing: TrackConfig = TrackConfig(),
                  pictures: Pictures | None = None) -> TrackGait:
    """Gait of one track. ``w``: its wide view (index time (s), column ``frame`` and
    ``PART_x``, ``PART_y``, ``PART_score``), smoothed keypoints preferred. ``raw``: the same
    rows as detected, without the parts found twice (``wide(..., smooth=False,
    doubled=False)``), so that legs whose labels are traded to follow the events are smoothed
    again from them, as ``smoothing`` (the job's tracking settings) says
    (``posebatch.gait.legs.follow_events``). ``pictures``: the track's video, to time its
    toe-offs from the toe tip where ``config.toe_offs`` is ``picture``
    (``posebatch.gait.toe_tip``); without it they keep the ankle's times."""
    w = w.sort_index()
    if raw is not None:
        raw = raw.sort_index()
    t = w.index.to_numpy(np.float64)
    hip = mid_hip(w)
    heights = body_height(w)
    height = float(np.nanmedian(heights)) if np.isfinite(heights).any() else float("nan")
    summary: dict = {"start": float(t[0]) if len(t) else np.nan,
                     "end": float(t[-1]) if len(t) else np.nan,
                     "standing_height_px": height}
    if not np.isfinite(height) or len(t) < 4:
        angles = joint_angles(w, 1).assign(legs_traded=False)
        return TrackGait(angles, _empty_events(), pd.DataFrame(), pd.DataFrame(),
                         {**summary, "reason": "no gait: ankles and head or neck never found "
                                               "together (no body height)"})
    fresh = ~w["repeat"].fillna(False).to_numpy(bool) if "repeat" in w else None
    ankles = (xy(w, "right_ankle")[:, 0], xy(w, "left_ankle")[:, 0])
    bouts = walking_bouts(t, hip[:, 0], height, config, ankles)
    direction = np.full(len(t), np.sign(np.nansum(np.diff(hip[:, 0]))) or 1.0)
    for b in bouts:
        direction[b.start:b.end] = b.direction
    events = []
    for k, b in enumerate(bouts):
        events += bout_events(w, t, hip, height, b, k, config, fresh)
    ev = pd.DataFrame(events) if events else _empty_events()
    use_pictures = pictures is not None and config.toe_offs == "picture"
    if use_pictures:    # the soles in the video decide sides the ankles left uncertain
        ev = picture_sides(ev, w, t, direction, height, pictures)
    else:
        ev = ev.assign(near_foot_picture=np.nan)
    # the legs' labels made to follow the events' sides, for the angles and step lengths
    w, traded = follow_events(w, ahead(t, ev), direction, height, raw,
                              smoothing, fresh, bout_of(t, ev))
    angles = joint_angles(w, direction).assign(legs_traded=traded)
    ev = (retime(ev, w, t, direction, height, pictures) if use_pictures
          else ev.assign(from_picture=False))
    ev = reported(ev, t, w["frame"].to_numpy(), config.contact_lag)
    strides = stride_table(ev, w, t, bouts, height, config)
    summary.update(track_summary(t, hip, heights, height, bouts, ev, strides, config, angles))
    return TrackGait(angles, ev, strides, bout_rows(bouts, ev, strides, config), summary)


def track_settings(out) -> TrackConfig:
    """The tracking settings the job in folder ``out`` ran with (the defaults where its tables
    do not record them): what ``analyse`` needs to smooth traded legs as the tracker did."""
    from ..storage.tables import recorded_params

    return _track_config(recorded_params(out))


def _track_config(params: dict) -> TrackConfig:
    import dataclasses

    known = {f.name for f in dataclasses.fields(TrackConfig)}
    return TrackConfig(**{k: v for k, v in (params.get("track") or {}).items() if k in known})


def _pictures(job, video: str) -> tuple[Pictures | None, str | None]:
    """The video as the job read it, to time toe-offs from (or why it cannot be)."""
    row = job.videos[job.videos["video"].astype(str) == video]
    if not len(row) or "path" not in row:
        return None, "toe-offs from the ankles: the job's tables do not say where the video is"
    if "decode" in row and row["decode"].iloc[0] == "live":
        return None, "toe-offs from the ankles: a live stream is not kept to be read again"
    f = job.frames[job.frames["video"].astype(str) == video].sort_values("frame")
    return video_pictures(str(row["path"].iloc[0]), row["size"].iloc[0] if "size" in row
                          else None, f["frame"].to_numpy(), f["time"].to_numpy())


def analyse(job, config: GaitConfig = GaitConfig(), video: str | None = None,
            track: int | None = None, people: int | None = None,
            smoothing: TrackConfig | None = None) -> GaitResult:
    """Every track of the job's tables (``posebatch.storage.tables.load``), or the ones named;
    ``people``: only the N most prominent tracks of each video
    (``posebatch.storage.tables.prominence``). ``smoothing``: the tracking settings to
    smooth the legs with again where their labels are traded; by default the job's own (as
    its tables record them, ``job.params``), else the defaults. With ``config.toe_offs``
    ``picture`` each video is read again around its toe-offs (``job.videos.path``; where it
    is gone the summary's flags say so and the ankle's times stay)."""
    from ..storage.tables import keep_tracks, prominent, wide

    kp = job.keypoints
    if people is not None:
        kp = keep_tracks(kp, prominent(job.tracks, job.videos, people))
    if video is not None:
        kp = kp[kp["video"].astype(str) == video]
    if track is not None:
        kp = kp[kp["track"] == track]
    smoothing = smoothing or _track_config(getattr(job, "params", None) or {})
    parts = {"angles": [], "events": [], "strides": [], "bouts": [], "summary": []}
    repeat = (job.frames.assign(video=job.frames["video"].astype(str))
              .set_index(["video", "frame"])["repeat"] if "repeat" in job.frames else None)
    sources: dict[str, tuple[Pictures | None, str | None]] = {}
    if kp["track"].notna().any():
        detected = dict(iter(wide(kp, smooth=False, doubled=False).groupby(
            level=["video", "track"])))
        for (name, tid), w in wide(kp).groupby(level=["video", "track"], sort=True):
            if repeat is not None:
                keys = pd.MultiIndex.from_arrays([np.full(len(w), str(name)), w["frame"]])
                w = w.assign(repeat=repeat.reindex(keys).to_numpy())
            raw = detected[(name, tid)].droplevel(["video", "track"])
            if config.toe_offs == "picture" and str(name) not in sources:
                sources[str(name)] = _pictures(job, str(name))    # once per video
            pictures, why_not = sources.get(str(name), (None, None))
            g = analyse_track(w.droplevel(["video", "track"]), config, raw,
                              smoothing, pictures)
            if why_not and (g.events["event"] == "toe_off").any():
                flags = [f for f in (g.summary.get("flags"), why_not) if f]
                g = dataclasses.replace(g, summary={**g.summary, "flags": "; ".join(flags)})
            key = {"video": name, "track": int(tid)}
            angles = g.angles.reset_index().assign(**key, frame=w["frame"].to_numpy())
            parts["angles"].append(angles)
            parts["events"].append(g.events.assign(**key))
            parts["strides"].append(g.strides.assign(**key))
            parts["bouts"].append(g.bouts.assign(**key))
            parts["summary"].append(pd.DataFrame([{**key, **g.summary}]))
    # every table with all its columns and types (posebatch.gait.schema), whatever the data
    frames = {k: schema.frame(k, pd.concat(v, ignore_index=True) if v else None)
              for k, v in parts.items()}
    return GaitResult(**frames)
