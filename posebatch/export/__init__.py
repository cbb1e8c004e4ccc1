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

import pandas as pd

from ..errors import ConfigError
from ..engine.layout import KeypointLayout, job_layout
from ..storage.store import read_manifest
from ..storage.tables import read


class Format(str, Enum):
    OPENPOSE = "openpose"
    COCO = "coco"
    CSV = "csv"
    TRC = "trc"


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
                 layout: KeypointLayout | None = None) -> VideoTables:
    vid = int(row["video_id"])
    layout = layout if layout is not None else job_layout(read_manifest(out))
    kp = read(out, "keypoints", video_id=vid)
    people = read(out, "people", video_id=vid)
    if track is not None:
        kp = kp[kp["track"] == track]
        people = people[people["track"] == track]
    return VideoTables(row, kp, people, read(out, "frames", video_id=vid), layout)


def export(out: str | Path, fmt: Format | str, folder: str | Path | None = None,
           video: str | None = None, track: int | None = None,
           height_m: float | None = None) -> ExportResult:
    """Write ``fmt`` for every video of the job in ``out`` (or one ``video``, one ``track``)
    into ``folder`` (default OUT/export/FORMAT)."""
    from . import coco, openpose, trc, wide_csv

    out = Path(out)
    fmt = Format(fmt)
    folder = Path(folder) if folder is not None else out / "export" / fmt.value
    if height_m is not None and fmt is not Format.TRC:
        raise ConfigError("--height-m applies to the trc format only (its units)")
    writer = {Format.OPENPOSE: openpose.write, Format.COCO: coco.write,
              Format.CSV: wide_csv.write, Format.TRC: trc.write}[fmt]
    result = ExportResult(fmt, folder)
    layout = job_layout(read_manifest(out))
    for row in select_videos(out, video):
        if row["status"] != "ok":
            continue                 # nothing was estimated: the videos index says why
        vt = video_tables(out, row, track, layout)
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
