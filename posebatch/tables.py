"""A job's output folder as pandas DataFrames, and the wide per-track view analyses start from.

    from posebatch import tables
    t = tables.load("out/demo")          # keypoints, people, frames, tracks, videos
    walk = tables.wide(t.keypoints)      # one row per (video, track, time); right_knee_x, ...
    walk.loc[("demo.mp4", 1)]            # one person's smoothed trajectories, indexed by time
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from .errors import ConfigError
from .layout import COCO18, KeypointLayout
from .write import SCHEMA_VERSION

NAMES = ("keypoints", "people", "frames", "tracks", "videos")


@dataclass(frozen=True)
class JobTables:
    """The five tables of a job folder (see the README's "Tables" for every column)."""

    keypoints: pd.DataFrame
    people: pd.DataFrame
    frames: pd.DataFrame
    tracks: pd.DataFrame
    videos: pd.DataFrame


def load(out: str | Path) -> JobTables:
    """Read a finished job's tables. A folder written by an older posebatch (no tracks) is
    refused with the command that updates it (no inference is redone)."""
    out = Path(out)
    frames = {}
    for name in NAMES:
        path = out / f"{name}.parquet"
        if not path.exists():
            raise ConfigError(f"{path} not found: is {out} the --out folder of a finished "
                              f"`posebatch run`? (`posebatch status {out}` tells)")
        meta = pq.read_schema(path).metadata or {}
        version = meta.get(b"posebatch.schema", b"?").decode()
        if version != f"{name}/{SCHEMA_VERSION}":
            raise ConfigError(f"{path} is {version}, this posebatch reads {name}/"
                              f"{SCHEMA_VERSION}: rerun the job (`posebatch run ... --out "
                              f"{out}`) to update the tables; finished chunks are reused")
        frames[name] = pd.read_parquet(path)
    return JobTables(**frames)


def wide(keypoints: pd.DataFrame, smooth: bool = True,
         layout: KeypointLayout = COCO18) -> pd.DataFrame:
    """One row per (video, track, time) of the tracked keypoints, columns ``PART_x``,
    ``PART_y`` (smoothed and gap-filled by default; ``smooth=False``: as detected, left/right
    corrected) and ``PART_score``, plus ``frame``. Untracked detections are left out; a part
    without a value in a frame is NaN. Columns follow the layout's part order."""
    kp = keypoints[keypoints["track"].notna()]
    x, y = ("x_smooth", "y_smooth") if smooth else ("x", "y")
    kp = kp.assign(part=kp["part"].astype(str), track=kp["track"].astype(int))
    if "video" in kp:
        kp = kp.assign(video=kp["video"].astype(str))
    index = ["video", "track", "time"] if "video" in kp else ["track", "time"]
    table = kp.set_index(index + ["frame", "part"])[[x, y, "score"]].unstack("part")
    cols = {}
    for part in layout.parts:
        for value, suffix in ((x, "x"), (y, "y"), ("score", "score")):
            key = (value, part)
            cols[f"{part}_{suffix}"] = table[key] if key in table else float("nan")
    out = pd.DataFrame(cols, index=table.index).reset_index("frame")
    return out.sort_index()
