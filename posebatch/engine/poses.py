"""The people of one frame as arrays: the one converter between keypoints-table rows and the
(n, P, 3) arrays the renderers, exporters and evaluators take.

Rows are long (one per found part); arrays are x, y, score per person and part, with NaN, NaN,
0 for a part not found. ``from_rows`` and ``to_rows`` are each other's inverse on detections.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import InputShapeError
from ..storage.schemas import keypoint_columns
from .layout import KeypointLayout, flip_index


@dataclass(frozen=True)
class Poses:
    """``keypoints`` (n, P, 3) float32 x, y, score (NaN, NaN, 0: not found); ``ids`` (n,)
    int64: each person's number in the frame (``by="person"``) or track (-1: untracked)."""

    keypoints: np.ndarray
    ids: np.ndarray

    def __post_init__(self) -> None:
        kp, ids = self.keypoints, self.ids
        if kp.ndim != 3 or kp.shape[2] != 3 or kp.dtype != np.float32:
            raise InputShapeError(f"poses must be float32 (people, parts, 3), got {kp.dtype} "
                                  f"{kp.shape}")
        if ids.shape != (kp.shape[0],):
            raise InputShapeError(f"{kp.shape[0]} people but {ids.shape} ids")

    def __len__(self) -> int:
        return len(self.keypoints)

    @classmethod
    def empty(cls, layout: KeypointLayout) -> Poses:
        kp = np.zeros((0, layout.n_parts, 3), np.float32)
        return cls(kp, np.zeros(0, np.int64))

    @classmethod
    def from_rows(cls, rows: pd.DataFrame, layout: KeypointLayout, *,
                  by: Literal["person", "track"] = "person", smoothed: bool = False,
                  as_detected: bool = False) -> Poses:
        """One frame's keypoints-table rows as arrays.

        ``by="person"``: the frame's detections, one per ``person`` number, as found (parts
        left/right corrected, or as the network labelled them with ``as_detected``); gap-filled
        rows are not detections and are left out. ``by="track"``: one per track (untracked
        detections after, id -1), at the smoothed, gap-filled positions with ``smoothed``
        (filled parts get score 0.5: drawn half-faded), else as found without filled rows."""
        if by == "person" or not smoothed:
            if "filled" in rows:
                rows = rows[~rows["filled"].astype(bool)]
        if rows.empty:
            return cls.empty(layout)
        part = rows["part_id"].to_numpy(np.int64)
        if as_detected and "swapped" in rows:
            part = np.where(rows["swapped"].to_numpy(bool), flip_index(layout)[part], part)
        if by == "person":
            key = rows["person"].to_numpy(np.int64)
            x, y = rows["x"], rows["y"]
        else:
            tracked = rows["track"].notna()
            x = rows["x_smooth"].where(tracked, rows["x"]) if smoothed else rows["x"]
            y = rows["y_smooth"].where(tracked, rows["y"]) if smoothed else rows["y"]
            key = np.where(tracked, rows["track"].fillna(-1).to_numpy(np.int64),
                           -2 - rows["person"].fillna(0).to_numpy(np.int64))
        people = np.unique(key)
        kp = np.zeros((len(people), layout.n_parts, 3), np.float32)
        kp[..., :2] = np.nan
        who = np.searchsorted(people, key)
        score = rows["score"].fillna(0.5).to_numpy(np.float32)
        kp[who, part] = np.stack([x.to_numpy(np.float32), y.to_numpy(np.float32), score], 1)
        ids = people if by == "person" else np.where(people >= 0, people, -1)
        return cls(kp, ids.astype(np.int64))

    def to_rows(self, scores: np.ndarray) -> dict[str, np.ndarray]:
        """Long-format columns (one row per found part: person, person_score, part_id, x, y,
        score) with each person's ``scores`` (n,)."""
        return keypoint_columns(self.keypoints, np.asarray(scores))
