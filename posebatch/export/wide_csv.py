"""One wide CSV per video for spreadsheets: a row per frame and track, columns ``frame``,
``time``, ``track`` and per part ``PART_x``, ``PART_y`` (smoothed and gap-filled, pixels of the
upright frame) and ``PART_score`` (the detection's confidence, empty where it was filled)."""
from __future__ import annotations

from pathlib import Path

from ..fetch import atomic_write_bytes
from ..tables import wide


def write(vt, folder: Path) -> tuple[list[Path], int, int]:
    folder.mkdir(parents=True, exist_ok=True)
    table = wide(vt.keypoints).reset_index().drop(columns="video", errors="ignore")
    cols = ["frame", "time", "track"] + [c for c in table.columns
                                         if c not in ("frame", "time", "track")]
    table = table[cols].sort_values(["frame", "track"])
    p = folder / f"{vt.stem}.csv"
    atomic_write_bytes(p, table.to_csv(index=False, float_format="%.3f").encode())
    return [p], int(table["frame"].nunique()), int(table["track"].nunique())
