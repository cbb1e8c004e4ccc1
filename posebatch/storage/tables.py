"""A job's output folder as pandas DataFrames, and the wide per-track view analyses start from.

    from posebatch.storage import tables
    t = tables.load("out/demo")          # keypoints, people, frames, tracks, videos
    kp = tables.read("out/demo", "keypoints", video_id=0)   # one video's rows, its file only
    walk = tables.wide(t.keypoints)      # one row per (video, track, time); right_knee_x, ...
    walk.loc[("demo.mp4", 1)]            # one person's smoothed trajectories, indexed by time
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Sequence

import pandas as pd
import pyarrow.parquet as pq

from ..errors import ConfigError
from .store import fingerprint, video_file
from .schemas import SCHEMA_VERSION, PartNames

NAMES = ("keypoints", "people", "frames", "tracks", "videos")


@dataclass(frozen=True)
class JobTables:
    """The five tables of a job folder (every column: the docs' table reference, generated
    from the schemas in posebatch.storage.schemas)."""

    keypoints: pd.DataFrame
    people: pd.DataFrame
    frames: pd.DataFrame
    tracks: pd.DataFrame
    videos: pd.DataFrame
    # the settings the tables were made with (:func:`recorded_params`), {} where not known
    params: dict = field(default_factory=dict)


def load(out: str | Path, video_dirs: Sequence[str | Path] = ()) -> JobTables:
    """Read a finished job's tables. A folder written by an older posebatch (single files, or
    no tracks) is refused with the command that updates it (no inference is redone).
    ``video_dirs``: where videos moved since the run are now (:func:`find_videos`)."""
    out = _finished(Path(out))
    t = {name: read(out, name) for name in NAMES}
    t["videos"] = find_videos(t["videos"], video_dirs)
    return JobTables(**t, params=recorded_params(out))


def read(out: str | Path, table: str, video_id: int | None = None,
         columns: list[str] | None = None) -> pd.DataFrame:
    """One table of a job folder (``video_id``: only that video's rows, read from its own
    file). The same as ``pd.read_parquet(OUT / table)`` (``OUT / "videos.parquet"``)."""
    out = Path(out)
    if table == "videos":
        return pd.read_parquet(out / "videos.parquet", columns=columns)
    if table not in NAMES:
        raise ConfigError(f"no table {table!r}; a job's tables are {', '.join(NAMES)}")
    if video_id is not None:
        path = out / table / video_file(video_id)
        if not path.exists():
            raise ConfigError(f"{path} not found: no tables for video_id {video_id} "
                              f"(see {out / 'videos.parquet'})")
        return pd.read_parquet(path, columns=columns)
    return pd.read_parquet(out / table, columns=columns)


def recorded_params(out: str | Path) -> dict:
    """The settings a job folder's tables were made with, as each video's keypoints file
    records them (``config``, ``track``, ``model``, ...; videos of one job share them), or
    {} where none is recorded."""
    import json

    for path in sorted((Path(out) / "keypoints").glob("*.parquet")):
        meta = pq.read_schema(path).metadata or {}
        if b"posebatch.params" in meta:
            return json.loads(meta[b"posebatch.params"])
    return {}


def require_job(out: str | Path) -> Path:
    """``out`` when it holds a finished job's tables that this posebatch reads, else a
    ConfigError saying what to do (commands that read a job check this before writing)."""
    return _finished(Path(out))


def _finished(out: Path) -> Path:
    """``out`` when it holds a finished job's tables of this posebatch's version."""
    legacy = out / "keypoints.parquet"
    if legacy.is_file() and not (out / "keypoints").is_dir():
        version = (pq.read_schema(legacy).metadata or {}).get(b"posebatch.schema", b"?")
        raise ConfigError(f"{out} holds {version.decode()} tables in the single-file layout of "
                          f"an older posebatch; this posebatch reads keypoints/{SCHEMA_VERSION} "
                          f"datasets: rerun the job (`posebatch run ... --out {out}`) to update "
                          "the tables; finished chunks are reused")
    index = out / "videos.parquet"
    if not index.exists():
        raise ConfigError(f"no finished job in {out} (it has no videos.parquet): give the "
                          f"--out folder of a finished `posebatch run` (`posebatch status "
                          f"{out}` tells how far a job got)")
    version = (pq.read_schema(index).metadata or {}).get(b"posebatch.schema", b"?").decode()
    if version != f"videos/{SCHEMA_VERSION}":
        raise ConfigError(f"{index} is {version}, this posebatch reads videos/"
                          f"{SCHEMA_VERSION}: rerun the job (`posebatch run ... --out "
                          f"{out}`) to update the tables; finished chunks are reused")
    return out


def find_videos(videos: pd.DataFrame, dirs: Sequence[str | Path]) -> pd.DataFrame:
    """The job's ``videos`` table with each video that is no longer where the job read it
    (gone, or another size) pointed at its copy under one of ``dirs``: a file named as the
    tables name the video or as its file was named, at any depth, holding the bytes the job
    read (its size, and its ``fingerprint`` where recorded). For a job folder taken to
    another machine, or videos moved since the run (``--video-dir``); a video not found
    keeps its old path, and what reads it says it is gone. Live streams are left as they
    are."""
    if not dirs or not len(videos):
        return videos
    out = videos.copy()
    for i, row in out.iterrows():
        if row.get("decode") == "live" or _holds(Path(str(row["path"])), row, deep=False):
            continue
        names = list(dict.fromkeys([str(row["video"]), Path(str(row["path"])).name]))
        for folder in map(Path, dirs):
            near = [folder / n for n in names]
            deep = (p for n in dict.fromkeys(Path(n).name for n in names)
                    for p in sorted(folder.rglob(n)))
            # the folder is walked only where no file named alike lies directly in it
            hit = next((p for p in chain(near, deep) if _holds(p, row, deep=True)), None)
            if hit is not None:
                out.at[i, "path"] = str(hit.absolute())
                break
    return out


def _holds(path: Path, row: pd.Series, deep: bool) -> bool:
    """Whether ``path`` is the video of ``row`` (the videos table's): the same size, and with
    ``deep`` the same bytes (blake2b, where the table has it)."""
    size, digest = row.get("size"), row.get("fingerprint")
    if not path.is_file() or (size is not None and not pd.isna(size)
                              and path.stat().st_size != int(size)):
        return False
    return not deep or not isinstance(digest, str) or fingerprint(path) == digest


def wide(keypoints: pd.DataFrame, smooth: bool = True,
         layout: PartNames | None = None, doubled: bool = True) -> pd.DataFrame:
    """One row per (video, track, time) of the tracked keypoints, columns ``PART_x``,
    ``PART_y`` (smoothed and gap-filled by default; ``smooth=False``: as detected, left/right
    corrected) and ``PART_score``, plus ``frame``. Untracked detections are left out, and with
    ``smooth=False, doubled=False`` the parts found twice (``keypoints.doubled``), as the
    smoothed curves leave them out; a part without a value in a frame is NaN. Columns follow
    the layout's part order (default: the ``part`` column's own, every part of the model's
    layout as the tables store it)."""
    parts = part_names(keypoints) if layout is None else layout.parts
    kp = keypoints[keypoints["track"].notna()]
    if not smooth and not doubled and "doubled" in kp:
        kp = kp[~kp["doubled"].astype(bool)]
    x, y = ("x_smooth", "y_smooth") if smooth else ("x", "y")
    kp = kp.assign(part=kp["part"].astype(str), track=kp["track"].astype(int))
    if "video" in kp:
        kp = kp.assign(video=kp["video"].astype(str))
    index = ["video", "track", "time"] if "video" in kp else ["track", "time"]
    table = kp.set_index(index + ["frame", "part"])[[x, y, "score"]].unstack("part")
    cols = {}
    for part in parts:
        for value, suffix in ((x, "x"), (y, "y"), ("score", "score")):
            key = (value, part)
            cols[f"{part}_{suffix}"] = table[key] if key in table else float("nan")
    out = pd.DataFrame(cols, index=table.index).reset_index("frame")
    return out.sort_index()


def part_names(keypoints: pd.DataFrame) -> tuple[str, ...]:
    """The part names of a keypoints table in the layout's order: the ``part`` column's
    dictionary (every part of the layout, found or not), else the names found, by part id."""
    part = keypoints["part"]
    if isinstance(part.dtype, pd.CategoricalDtype):
        return tuple(str(c) for c in part.cat.categories)
    ids = keypoints[["part_id", "part"]].drop_duplicates().sort_values("part_id")
    return tuple(ids["part"].astype(str))


def prominence(tracks: pd.DataFrame, videos: pd.DataFrame) -> pd.Series:
    """How prominent each track (row of the tracks table) is in its video: the seconds it is
    in view (its last detection's time minus its first's) times its size (the median height of
    its box as a fraction of the upright frame's height). A person followed through the whole
    clip near the camera scores highest; a passer-by, a distant or a brief one low."""
    height = tracks["video_id"].map(videos.set_index("video_id")["height"]).astype(float)
    seconds = (tracks["end"] - tracks["start"]).astype(float)
    return (seconds * tracks["box_height"].astype(float) / height).fillna(0.0).rename(
        "prominence")


def prominent(tracks: pd.DataFrame, videos: pd.DataFrame, n: int) -> pd.DataFrame:
    """The ``n`` most prominent tracks of each video (:func:`prominence`; ties: more frames
    detected, then the lower track id): columns video_id, video, track, prominence."""
    t = tracks.assign(prominence=prominence(tracks, videos))
    t = t.sort_values(["video_id", "prominence", "frames", "track"],
                      ascending=[True, False, False, True])
    t = t.groupby("video_id", sort=True).head(n)
    return t[["video_id", "video", "track", "prominence"]].reset_index(drop=True)


def keep_tracks(rows: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (with video_id and track columns) of the ``chosen`` tracks only
    (:func:`prominent`)."""
    keys = pd.MultiIndex.from_arrays([chosen["video_id"].astype("int64"),
                                      chosen["track"].astype("int64")])
    tr = rows["track"]
    mine = pd.MultiIndex.from_arrays([rows["video_id"].astype("int64"),
                                      tr.fillna(-1).astype("int64")])
    return rows[mine.isin(keys) & tr.notna().to_numpy()]


def video_summary(videos: pd.DataFrame, frames: pd.DataFrame) -> pd.DataFrame:
    """Per video: frames, decoded, frames with people, mean people per frame, status."""
    per = frames.groupby("video_id").agg(mean_people=("people", "mean"),
                                         max_people=("people", "max"))
    cols = ["video_id", "video", "frames", "decoded_frames", "people_frames", "fps",
            "width", "height", "status", "error"]
    return videos[cols].merge(per, on="video_id", how="left").fillna(
        {"mean_people": 0.0, "max_people": 0})
