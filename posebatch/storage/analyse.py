"""From the job's tables back to arrays and per-video summaries (pandas at the edge)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..engine.layout import COCO18, KeypointLayout, flip_index


def frame_keypoints(keypoints: pd.DataFrame, frame: int, layout: KeypointLayout = COCO18,
                    video: str | None = None, as_detected: bool = False) -> np.ndarray:
    """(people, n_parts, 3) x, y, score of the detections of one frame from the keypoints
    table (NaN, NaN, 0 for parts not found), the array the renderers take; filled rows are
    not detections and are left out. Parts are left/right corrected, or labelled as the
    network found them with ``as_detected``."""
    rows = keypoints[keypoints["frame"] == frame]
    if video is not None:
        rows = rows[rows["video"] == video]
    if "filled" in rows:
        rows = rows[~rows["filled"]]
    n = int(rows["person"].max()) + 1 if len(rows) else 0
    out = np.zeros((n, layout.n_parts, 3), np.float32)
    out[..., :2] = np.nan
    p, k = rows["person"].to_numpy(int), rows["part_id"].to_numpy(int)
    if as_detected and "swapped" in rows:
        mirror = flip_index(layout)
        k = np.where(rows["swapped"].to_numpy(bool), mirror[k], k)
    out[p, k] = rows[["x", "y", "score"]].to_numpy(np.float32)
    return out


def video_summary(videos: pd.DataFrame, frames: pd.DataFrame) -> pd.DataFrame:
    """Per video: frames, decoded, frames with people, mean people per frame, status."""
    per = frames.groupby("video_id").agg(mean_people=("people", "mean"),
                                         max_people=("people", "max"))
    cols = ["video_id", "video", "frames", "decoded_frames", "people_frames", "fps",
            "width", "height", "status", "error"]
    return videos[cols].merge(per, on="video_id", how="left").fillna(
        {"mean_people": 0.0, "max_people": 0})
