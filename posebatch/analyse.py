"""From the job's tables back to arrays and per-video summaries (pandas at the edge)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def frame_keypoints(keypoints: pd.DataFrame, frame: int, n_parts: int = 18,
                    video: str | None = None) -> np.ndarray:
    """(people, n_parts, 3) x, y, score of one frame from the keypoints table (NaN, NaN, 0 for
    parts not found), the array the renderers take."""
    rows = keypoints[keypoints["frame"] == frame]
    if video is not None:
        rows = rows[rows["video"] == video]
    n = int(rows["person"].max()) + 1 if len(rows) else 0
    out = np.zeros((n, n_parts, 3), np.float32)
    out[..., :2] = np.nan
    p, k = rows["person"].to_numpy(int), rows["part_id"].to_numpy(int)
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
