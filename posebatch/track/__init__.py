"""People over time: one video's detections -> tracks, left/right corrected, smoothed.

Pure functions over arrays (no Ray, no files): ``track_video`` runs the three steps,
``associate`` (which detection continues which person), ``correct_swaps`` (left/right
relabelling per track) and ``fill_gaps`` / ``lowpass`` (trajectories on true timestamps).
``posebatch.track.apply`` turns a video's stored detections into the job's tracked tables.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..engine.config import TrackConfig
from ..errors import InputShapeError
from ..engine.layout import KeypointLayout, flip_index
from .associate import associate, person_height
from .doubles import found_twice
from .smooth import fill_gaps, lowpass, smooth_samples
from .swaps import correct_swaps

__all__ = ["VideoTracks", "track_video", "frame_durations", "associate", "correct_swaps",
           "fill_gaps", "lowpass", "smooth_samples"]


@dataclass(frozen=True)
class VideoTracks:
    """Tracks of one video. D detections, R samples (one per reported track and frame of its
    span that has a value, detected or filled), P parts.

    ``track`` (D,) int32: the detection's track id, -1 where it belongs to no reported track.
    ``keypoints`` (D, P, 3): the detections with left/right corrected (raw values moved, never
    changed); ``swapped`` (D, P) bool: part p of the corrected detection is what the network
    labelled as p's mirror; ``doubled`` (D, P) bool: part p of the detection is its mirror
    part found a second time (``posebatch.track.doubles``), left out of the smoothed curve.
    ``sample_track``, ``sample_frame`` (R,) int32; ``sample_det`` (R,) int32, the detection in
    that frame or -1; ``smooth`` (R, P, 2) float32 smoothed x, y (NaN: no value); ``filled``
    (R, P) bool: the value was interpolated across a gap.
    """

    track: np.ndarray
    keypoints: np.ndarray
    swapped: np.ndarray
    doubled: np.ndarray
    sample_track: np.ndarray
    sample_frame: np.ndarray
    sample_det: np.ndarray
    smooth: np.ndarray
    filled: np.ndarray

    @property
    def n_tracks(self) -> int:
        return int(self.track.max()) + 1 if len(self.track) else 0


def frame_durations(times: np.ndarray) -> np.ndarray:
    """(F,) how long each frame is shown: the time to the next frame with a time (the median
    interval for the last one); NaN where the frame has no time. Give frames the network did
    not look at NaN times here, and each looked-at frame stands for the time until the next
    one (a live session estimating one frame in fifteen: half a second each)."""
    out = np.full(len(times), np.nan)
    ok = np.flatnonzero(np.isfinite(times))
    if len(ok) == 0:
        return out
    d = np.diff(times[ok])
    typical = float(np.median(d)) if len(d) else 1 / 30
    out[ok] = np.append(d, typical)
    return out


def _check(times: np.ndarray, frame: np.ndarray, keypoints: np.ndarray,
           layout: KeypointLayout) -> None:
    if times.ndim != 1:
        raise InputShapeError(f"times: expected shape (frames,), got {times.shape}")
    if keypoints.ndim != 3 or keypoints.shape[1:] != (layout.n_parts, 3):
        raise InputShapeError(f"keypoints: expected shape (n, {layout.n_parts}, 3), got "
                              f"{keypoints.shape}")
    if frame.shape != (len(keypoints),):
        raise InputShapeError(f"frame: expected shape ({len(keypoints)},), got {frame.shape}")
    if len(frame) and (np.any(np.diff(frame) < 0) or frame[0] < 0 or frame[-1] >= len(times)):
        raise InputShapeError("frame: expected non-decreasing frame indices within "
                              f"[0, {len(times)})")


def track_video(times: np.ndarray, frame: np.ndarray, keypoints: np.ndarray,
                layout: KeypointLayout, config: TrackConfig,
                repeat: np.ndarray | None = None,
                estimated: np.ndarray | None = None) -> VideoTracks:
    """Follow every person through one video.

    ``times`` (F,) seconds of each frame (NaN where a frame has none); ``frame`` (D,) each
    detection's frame, non-decreasing; ``keypoints`` (D, P, 3) x, y, score (score 0 where a
    part was not found); ``repeat`` (F,) bool, frames whose picture repeats the previous one:
    they hold no new instant, so the smoothed trajectories pass through them (interpolated)
    instead of stopping; ``estimated`` (F,) bool, frames the network looked at (None: all
    with a time). A track is reported (numbered 0, 1, ... by first appearance) when it was
    seen for at least ``config.min_seen`` seconds, in two frames or more: each frame it was
    found in counts until the next estimated frame, so frames never looked at (skipped by a
    live session that fell behind, failed to decode) are neither time seen nor time unseen.
    """
    times = np.asarray(times, np.float64)
    repeat = np.zeros(len(times), bool) if repeat is None else np.asarray(repeat, bool)
    frame = np.asarray(frame, np.int64)
    keypoints = np.asarray(keypoints, np.float32)
    _check(times, frame, keypoints, layout)
    if estimated is not None and np.shape(estimated) != times.shape:
        raise InputShapeError(f"estimated: expected shape {times.shape}, got "
                              f"{np.shape(estimated)}")
    looked = times if estimated is None else np.where(np.asarray(estimated, bool), times, np.nan)
    durations = frame_durations(looked)
    flip = flip_index(layout)
    track = np.full(len(frame), -1, np.int32)
    corrected = keypoints.copy()
    swapped = np.zeros(keypoints.shape[:2], bool)
    doubled = np.zeros(keypoints.shape[:2], bool)
    samples = []
    n = 0
    for dets in associate(times, frame, keypoints, layout, config):
        dets = np.asarray(dets)
        if len(dets) < 2 or durations[frame[dets]].sum() < config.min_seen - 1e-9:
            continue
        track[dets] = n
        height = float(np.median([person_height(k) for k in keypoints[dets]]))
        mirror = correct_swaps(keypoints[dets], durations[frame[dets]], height, layout,
                               config.swap_horizon)
        for i, d in enumerate(dets):
            if mirror[i].any():
                parts = np.flatnonzero(mirror[i])
                corrected[d, parts] = keypoints[d, flip[parts]]
                swapped[d, parts] = corrected[d, parts, 2] > 0
        *sample, doubled[dets] = _smooth_track(n, dets, frame, corrected, times, repeat,
                                               layout, config, height)
        samples.append(sample)
        n += 1
    cols = list(zip(*samples)) if samples else [[np.empty(0, np.int32)]] * 3 + [
        [np.empty((0, layout.n_parts, 2), np.float32)], [np.empty((0, layout.n_parts), bool)]]
    return VideoTracks(track, corrected, swapped, doubled,
                       *(np.concatenate(c) for c in cols))


def _smooth_track(tid: int, dets: np.ndarray, frame: np.ndarray, kp: np.ndarray,
                  times: np.ndarray, repeat: np.ndarray, layout: KeypointLayout,
                  config: TrackConfig, height: float):
    """Samples of one track over the frames of its span: fill gaps, then low-pass, on the
    frames that are new pictures; repeated pictures take the curve's value at their time.
    Parts found twice (``posebatch.track.doubles``, on the first curves) are then left out and
    the curves drawn again; last, (D_track, P) bool of those, per detection."""
    f0, f1 = int(frame[dets[0]]), int(frame[dets[-1]])
    span = np.arange(f0, f1 + 1)
    span = span[np.isfinite(times[span])]
    t = times[span]
    pos = np.searchsorted(span, frame[dets])
    xy = np.full((len(span), layout.n_parts, 2), np.nan)
    found = kp[dets, :, 2] > 0
    for p in range(layout.n_parts):
        xy[pos[found[:, p]], p] = kp[dets[found[:, p]], p, :2]
    new = ~repeat[span]
    new[0] = True                    # the track's first sample is its first instant
    smooth, filled = smooth_samples(t, xy, new, config.fill_gap, config.cutoff)
    score = np.zeros(xy.shape[:2])
    score[pos] = kp[dets, :, 2]
    twice = found_twice(xy, score, smooth, layout.found_twice, height)
    if twice.any():
        xy[twice] = np.nan
        again = np.flatnonzero(twice.any(0))      # only those parts' curves change
        smooth[:, again], filled[:, again] = smooth_samples(t, xy[:, again], new,
                                                            config.fill_gap, config.cutoff)
        filled &= ~twice             # detected there: the detection's row carries the curve
    det = np.full(len(span), -1, np.int32)
    det[pos] = dets
    keep = (det >= 0) | filled.any(1)
    return (np.full(int(keep.sum()), tid, np.int32), span[keep].astype(np.int32), det[keep],
            smooth[keep].astype(np.float32), filled[keep], twice[pos])
