"""One video's detections (its chunk tables, concatenated) -> its tracked tables.

The edge between Arrow and the array core in this package: no files, no Ray. The result does
not depend on how the video was chunked, only on its detections and the settings.
"""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from ..engine.config import TrackConfig
from ..errors import InputShapeError
from ..engine.layout import KeypointLayout, flip_index
from ..storage.schemas import (ESTIMATED_STATUS, TRACK_SUMMARY, TRACKED_KEYPOINTS,
                               TRACKED_PEOPLE, part_array)
from . import VideoTracks, track_video


def _np(table: pa.Table, name: str, dtype=None) -> np.ndarray:
    col = table[name]
    if col.null_count:
        col = col.fill_null(np.nan)
    return col.to_numpy() if dtype is None else col.to_numpy().astype(dtype)


def detections(keypoints: pa.Table, people: pa.Table, frames: pa.Table,
               layout: KeypointLayout
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(times (F,), frame (D,), keypoints (D, P, 3), repeat (F,), estimated (F,)) from a
    video's chunk tables; the detections are the ``people`` rows in their order (frame, then
    person); ``repeat`` is False where unknown; ``estimated``: the network looked at the frame
    (status ok or corrupt; not skipped, failed or missing)."""
    n_frames = int(max(_np(frames, "frame").max(initial=-1) + 1, 0))
    times = np.full(n_frames, np.nan)
    times[_np(frames, "frame")] = _np(frames, "time", np.float64)
    repeat = np.zeros(n_frames, bool)
    repeat[_np(frames, "frame")] = frames["repeat"].fill_null(False).to_numpy(
        zero_copy_only=False)
    estimated = np.zeros(n_frames, bool)
    status = frames["status"].cast(pa.string()).to_pylist()
    estimated[_np(frames, "frame")] = [s in ESTIMATED_STATUS for s in status]
    frame = _np(people, "frame", np.int64)
    person = _np(people, "person", np.int64)
    kp = np.zeros((len(frame), layout.n_parts, 3), np.float32)
    kp[..., :2] = np.nan
    if len(frame):
        # detection of each keypoint row: its (frame, person) among the people rows, which
        # are sorted by frame, then person
        width = int(person.max()) + 1
        keys = frame * width + person
        rows = _np(keypoints, "frame", np.int64) * width + _np(keypoints, "person", np.int64)
        d = np.searchsorted(keys, rows)
        if np.any(np.diff(keys) <= 0) or not np.array_equal(keys[np.minimum(d, len(keys) - 1)],
                                                             rows):
            raise InputShapeError("keypoints rows must belong to people rows sorted by "
                                  "(frame, person)")
        kp[d, _np(keypoints, "part_id", np.int64)] = np.stack(
            [_np(keypoints, "x"), _np(keypoints, "y"), _np(keypoints, "score")], 1)
    return times, frame, kp, repeat, estimated


def track_tables(keypoints: pa.Table, people: pa.Table, frames: pa.Table,
                 layout: KeypointLayout, config: TrackConfig,
                 refined: np.ndarray | None = None) -> dict[str, pa.Table]:
    """The video's ``keypoints``, ``people`` and ``tracks`` tables (schemas TRACKED_KEYPOINTS,
    TRACKED_PEOPLE, TRACK_SUMMARY) from its concatenated chunk tables. With tracking off,
    the same tables with every track null and no tracks. ``refined`` (D, P) bool, in the
    order of the ``people`` rows: parts whose values are the second look's (the keypoints
    table's ``refined``; None: none)."""
    times, frame, kp, repeat, estimated = detections(keypoints, people, frames, layout)
    if refined is None:
        refined = np.zeros(kp.shape[:2], bool)
    elif refined.shape != kp.shape[:2]:
        raise InputShapeError(f"refined: expected shape {kp.shape[:2]}, got {refined.shape}")
    if config.enabled:
        vt = track_video(times, frame, kp, layout, config, repeat, estimated)
    else:
        vt = _untracked(kp)
    track = pa.array(vt.track, pa.int32(), mask=vt.track < 0)
    tracked_people = people.add_column(3, TRACKED_PEOPLE.field("track"), track)
    return {"keypoints": _keypoint_rows(vt, frame, _np(people, "person", np.int16), times,
                                        layout, refined),
            "people": tracked_people.cast(TRACKED_PEOPLE),
            "tracks": _summary(vt, frame, times, _np(people, "score"),
                               _np(people, "y_max") - _np(people, "y_min"))}


def _untracked(kp: np.ndarray) -> VideoTracks:
    n, p = kp.shape[:2]
    none = np.empty(0, np.int32)
    return VideoTracks(np.full(n, -1, np.int32), kp, np.zeros((n, p), bool),
                       np.zeros((n, p), bool), none, none, none,
                       np.empty((0, p, 2), np.float32), np.empty((0, p), bool))


def _keypoint_rows(vt: VideoTracks, frame: np.ndarray, person: np.ndarray, times: np.ndarray,
                   layout: KeypointLayout, refined: np.ndarray) -> pa.Table:
    """Detected parts (left/right corrected, raw values kept) and filled parts, ordered by
    frame, then detections (by person) before filled rows (by track), then part. A
    detection's ``refined`` flags follow its values when a swap moved them."""
    P = layout.n_parts
    refined = np.where(vt.swapped, refined[:, flip_index(layout)], refined)
    smooth_of_det = np.full((len(frame), P, 2), np.nan, np.float32)
    has = vt.sample_det >= 0
    smooth_of_det[vt.sample_det[has]] = vt.smooth[has]
    d, p = np.nonzero(vt.keypoints[..., 2] > 0)
    s, q = np.nonzero(vt.filled)
    det_of_sample = vt.sample_det[s]
    n_det, n_fill = len(d), len(s)
    cols = {
        "frame": np.concatenate([frame[d], vt.sample_frame[s]]).astype(np.int32),
        "person": np.concatenate([person[d], np.where(det_of_sample >= 0,
                                                      person[det_of_sample], -1)]),
        "track": np.concatenate([vt.track[d], vt.sample_track[s]]).astype(np.int32),
        "part_id": np.concatenate([p, q]).astype(np.int8),
        "x": np.concatenate([vt.keypoints[d, p, 0], np.full(n_fill, np.nan)]),
        "y": np.concatenate([vt.keypoints[d, p, 1], np.full(n_fill, np.nan)]),
        "score": np.concatenate([vt.keypoints[d, p, 2], np.full(n_fill, np.nan)]),
        "x_smooth": np.concatenate([smooth_of_det[d, p, 0], vt.smooth[s, q, 0]]),
        "y_smooth": np.concatenate([smooth_of_det[d, p, 1], vt.smooth[s, q, 1]]),
        "filled": np.concatenate([np.zeros(n_det, bool), np.ones(n_fill, bool)]),
        "swapped": np.concatenate([vt.swapped[d, p], np.zeros(n_fill, bool)]),
        "doubled": np.concatenate([vt.doubled[d, p], np.zeros(n_fill, bool)]),
        "refined": np.concatenate([refined[d, p], np.zeros(n_fill, bool)]),
    }
    kind = cols["filled"].astype(np.int8)
    who = np.where(cols["filled"], cols["track"], cols["person"])
    order = np.lexsort((cols["part_id"], who, kind, cols["frame"]))
    cols = {k: v[order] for k, v in cols.items()}
    null_person = cols["person"] < 0
    arrays = {
        "frame": pa.array(cols["frame"], pa.int32()),
        "time": pa.array(times[cols["frame"]], pa.float64(), from_pandas=True),
        "person": pa.array(cols["person"].astype(np.int16), pa.int16(), mask=null_person),
        "track": pa.array(cols["track"], pa.int32(), mask=cols["track"] < 0),
        "part_id": pa.array(cols["part_id"], pa.int8()),
        "part": part_array(cols["part_id"], layout),
    }
    for k in ("x", "y", "score", "x_smooth", "y_smooth"):
        arrays[k] = pa.array(cols[k].astype(np.float32), pa.float32(), from_pandas=True)
    arrays["filled"] = pa.array(cols["filled"], pa.bool_())
    arrays["swapped"] = pa.array(cols["swapped"], pa.bool_())
    arrays["doubled"] = pa.array(cols["doubled"], pa.bool_())
    arrays["refined"] = pa.array(cols["refined"], pa.bool_())
    return pa.table(arrays, schema=TRACKED_KEYPOINTS)


def _summary(vt: VideoTracks, frame: np.ndarray, times: np.ndarray, score: np.ndarray,
             height: np.ndarray) -> pa.Table:
    rows = []
    for t in range(vt.n_tracks):
        dets = np.flatnonzero(vt.track == t)
        f = frame[dets]
        rows.append({
            "track": t, "first_frame": int(f[0]), "last_frame": int(f[-1]),
            "start": float(times[f[0]]), "end": float(times[f[-1]]), "frames": len(dets),
            "filled_frames": int(((vt.sample_track == t) & (vt.sample_det < 0)).sum()),
            "mean_score": float(score[dets].mean()),
            "box_height": float(np.median(height[dets])),
            "swaps": int(vt.swapped[dets].any(1).sum()),
        })
    return pa.Table.from_pylist(rows, schema=TRACK_SUMMARY)
