"""Exports of a finished job's tables into the formats other tools read: OpenPose's per-frame
JSON (Pose2Sim triangulates from it), COCO keypoint results, one wide CSV per video for
spreadsheets, and TRC marker trajectories per track (OpenSim-style tools).

Every format is written per video from the tables only (no inference), each file atomically;
``export(out, fmt)`` returns what it wrote.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import ConfigError
from ..engine.config import TrackConfig
from ..engine.layout import KeypointLayout, job_layout
from ..storage.store import read_manifest
from ..storage.tables import read, wide


class Format(str, Enum):
    OPENPOSE = "openpose"
    COCO = "coco"
    CSV = "csv"
    TRC = "trc"


class Legs(str, Enum):
    """Which legs a per-track export (csv, trc) writes: as tracked (the network's labels,
    left/right swaps the tracker saw corrected), or as the gait analysis names them (traded
    where they put the wrong foot ahead for the walking bout's events, smoothed again)."""

    TRACKED = "tracked"
    GAIT = "gait"


@dataclass
class ExportResult:
    """What an export wrote: its files, and how many videos, frames and people they hold."""

    format: Format
    folder: Path
    files: list[Path] = field(default_factory=list)
    videos: int = 0
    frames: int = 0
    people: int = 0          # detections (openpose, coco) or tracks (csv, trc)


@dataclass(frozen=True)
class VideoTables:
    """One video's rows of the job's tables."""

    row: pd.Series           # its row of the videos index
    keypoints: pd.DataFrame
    people: pd.DataFrame
    frames: pd.DataFrame
    layout: KeypointLayout   # the job's model's (its manifest says which)
    # with legs as the gait names them: ``angles.legs_traded`` by (track, frame), and the
    # job's tracking settings to smooth them with; None: as tracked
    traded: pd.Series | None = None
    smoothing: TrackConfig = field(default_factory=TrackConfig)

    def wide(self) -> pd.DataFrame:
        """The video's tracked people as the wide view (``posebatch.storage.tables.wide``),
        their legs as tracked or, with ``traded``, as the gait names them."""
        table = wide(self.keypoints, layout=self.layout)
        if self.traded is None or table.empty:
            return table
        from ..gait.legs import as_gait

        raw = wide(self.keypoints, smooth=False, layout=self.layout, doubled=False)
        repeat = self.frames.set_index("frame").get("repeat")
        parts = []
        for key, w in table.groupby(level="track", sort=True):
            frames = w["frame"].to_numpy()
            trade = self.traded.reindex(pd.MultiIndex.from_arrays(
                [np.full(len(w), key), frames])).fillna(False).to_numpy(bool)
            fresh = (None if repeat is None else
                     ~repeat.reindex(frames).fillna(False).to_numpy(bool))
            outer = [name for name in w.index.names if name != "time"]
            legs = as_gait(w.droplevel(outer), raw.loc[w.index].droplevel(outer), trade,
                           fresh, self.smoothing)
            parts.append(legs.set_axis(w.index))
        return pd.concat(parts)

    @property
    def stem(self) -> str:
        """The video's name made safe for a file name (folders joined by '_')."""
        return re.sub(r"[^\w.-]+", "_", str(self.row["video"])).strip("_") or "video"


def select_videos(out: Path, video: str | None = None) -> list[pd.Series]:
    """The videos index rows to export: all, or the one named ``video`` (its name in the
    tables, or its file name when that is unique)."""
    videos = read(out, "videos")
    if video is None:
        return [r for _, r in videos.iterrows()]
    names = videos["video"].astype(str)
    hit = videos[names == video]
    if hit.empty:
        hit = videos[names.map(lambda n: Path(n).name) == video]
    if len(hit) != 1:
        known = ", ".join(names)
        raise ConfigError(f"no video named {video!r} in {out}" if hit.empty else
                          f"{video!r} names {len(hit)} videos in {out}; give the full name"
                          f" (videos: {known})")
    return [hit.iloc[0]]


def video_tables(out: Path, row: pd.Series, track: int | None = None,
                 layout: KeypointLayout | None = None,
                 angles: pd.DataFrame | None = None) -> VideoTables:
    """``angles``: the job's gait angles (``OUT/gait/angles.parquet``), for the legs as the
    gait names them (:class:`Legs`); None: as tracked."""
    vid = int(row["video_id"])
    layout = layout if layout is not None else job_layout(read_manifest(out))
    kp = read(out, "keypoints", video_id=vid)
    people = read(out, "people", video_id=vid)
    if track is not None:
        kp = kp[kp["track"] == track]
        people = people[people["track"] == track]
    traded, smoothing = None, TrackConfig()
    if angles is not None:
        from ..gait import track_settings

        mine = angles[angles["video"].astype(str) == str(row["video"])]
        missing = set(kp["track"].dropna().astype(int)) - set(mine["track"].astype(int))
        if missing:
            raise ConfigError(f"{out / 'gait'} has no gait analysis of {row['video']} track "
                              f"{', '.join(map(str, sorted(missing)))} (it was run for other "
                              f"videos or tracks): run `posebatch gait {out}` for it first")
        traded = mine.set_index(["track", "frame"])["legs_traded"].astype(bool)
        smoothing = track_settings(out)
    return VideoTables(row, kp, people, read(out, "frames", video_id=vid), layout, traded,
                       smoothing)


def gait_angles(out: Path) -> pd.DataFrame:
    """The job's gait angles (video, track, frame, legs_traded), or a ConfigError saying
    how to make them."""
    path = out / "gait" / "angles.parquet"
    if not path.is_file():
        raise ConfigError(f"--legs gait writes the legs as the gait analysis names them, and "
                          f"{out} has none ({path} is missing): run `posebatch gait {out}` "
                          "first (or `posebatch run --gait`)")
    return pd.read_parquet(path, columns=["video", "track", "frame", "legs_traded"])


def export(out: str | Path, fmt: Format | str, folder: str | Path | None = None,
           video: str | None = None, track: int | None = None,
           height_m: float | None = None, legs: Legs | str = Legs.TRACKED) -> ExportResult:
    """Write ``fmt`` for every video of the job in ``out`` (or one ``video``, one ``track``)
    into ``folder`` (default OUT/export/FORMAT); ``legs``: csv and trc, as tracked or as the
    gait analysis names them (:class:`Legs`)."""
    from . import coco, openpose, trc, wide_csv

    out = Path(out)
    fmt = Format(fmt)
    legs = Legs(legs)
    folder = Path(folder) if folder is not None else out / "export" / fmt.value
    if height_m is not None and fmt is not Format.TRC:
        raise ConfigError("--height-m applies to the trc format only (its units)")
    if legs is Legs.GAIT and fmt not in (Format.CSV, Format.TRC):
        raise ConfigError("--legs gait applies to the per-track formats, csv and trc (openpose "
                          "and coco write each detection as the network found it)")
    angles = gait_angles(out) if legs is Legs.GAIT else None
    writer = {Format.OPENPOSE: openpose.write, Format.COCO: coco.write,
              Format.CSV: wide_csv.write, Format.TRC: trc.write}[fmt]
    result = ExportResult(fmt, folder)
    layout = job_layout(read_manifest(out))
    for row in select_videos(out, video):
        if row["status"] != "ok":
            continue                 # nothing was estimated: the videos index says why
        vt = video_tables(out, row, track, layout, angles)
        if track is not None and vt.keypoints.empty:
            continue
        kwargs = {"height_m": height_m} if fmt is Format.TRC else {}
        files, frames, people = writer(vt, folder, **kwargs)
        result.files += files
        result.videos += 1
        result.frames += frames
        result.people += people
    if track is not None and not result.videos:
        raise ConfigError(f"no track {track} in {out}" + (f" video {video!r}" if video else ""))
    return result
