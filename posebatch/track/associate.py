"""Frame-to-frame association: which detection continues which person.

Online, in time order. Each open track predicts where its keypoints are now (its last
keypoints moved by its velocity over the time elapsed); every (track, detection) pair is
scored by an OKS-like keypoint similarity, taking the better of the detection as labelled and
mirrored left/right (a swapped detection is still the same person); the pairs are matched by
``scipy.optimize.linear_sum_assignment`` and a match below ``min_similarity`` is refused. An
unmatched detection opens a track; a track unseen for longer than ``max_gap`` closes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from ..engine.config import TrackConfig
from ..engine.layout import KeypointLayout, flip_index

# COCO's per-keypoint OKS sigmas in COCO-18 order (the neck, which COCO lacks, takes the
# shoulders'): how precisely each part can be placed, relative to the person's size.
_COCO18_SIGMAS = np.array([.026, .079, .079, .072, .062, .079, .072, .062, .107, .087, .089,
                           .107, .087, .089, .025, .025, .035, .035])
# Parts whose mean is the body's centre for the velocity (neck, shoulders, hips).
_TORSO = (1, 2, 5, 8, 11)
_MIN_COMMON = 3          # similarity is averaged over at least this many parts
_MIN_HEIGHT = 16.0       # pixels: the scale of a person never drops below this
_VELOCITY_ALPHA = 0.5    # weight of the newest displacement in the velocity estimate


def part_tolerance(layout: KeypointLayout) -> np.ndarray:
    """(P,) tolerance per part as a fraction of the person's height: 2 x COCO's sigma (the
    OKS kappa), with the person's height standing in for COCO's sqrt(area)."""
    if layout.name == "coco18":
        return 2 * _COCO18_SIGMAS
    return np.full(layout.n_parts, 2 * 0.079)


def person_height(kp: np.ndarray) -> float:
    """Height in pixels of the box around the found parts (people stand up: steadier than
    the width, which changes as they turn)."""
    y = kp[kp[:, 2] > 0, 1]
    return max(float(y.max() - y.min()), _MIN_HEIGHT) if len(y) else _MIN_HEIGHT


def similarity(pred: np.ndarray, found_pred: np.ndarray, seen: np.ndarray,
               height: np.ndarray, det: np.ndarray, tol: np.ndarray) -> np.ndarray:
    """(T, D) OKS-like similarity in [0, 1] of T tracks' predicted keypoints ``pred``
    (T, P, 2) and D detections ``det`` (D, P, 3): per common part exp(-d^2 / (2 (tol *
    height)^2)), summed and divided by the parts in the track's last detection (``seen``,
    (T, P)) or the detection (at least _MIN_COMMON), so a fragment of a person (the parser
    sometimes splits one in two) scores below the whole person. ``found_pred`` (T, P): parts
    the track can predict; ``height`` (T,) pixels; ``tol`` (P,) fractions of the height."""
    found_det = det[..., 2] > 0
    common = found_pred[:, None] & found_det[None]
    d2 = ((pred[:, None] - det[None, :, :, :2]) ** 2).sum(-1)
    scale = 2 * (tol[None, None] * height[:, None, None]) ** 2
    e = np.exp(-np.where(common, d2, 0.0) / scale) * common
    parts = (seen[:, None] | found_det[None]).sum(-1)
    return e.sum(-1) / np.maximum(parts, _MIN_COMMON)


@dataclass
class _Track:
    first_det: int
    last_time: float
    kp: np.ndarray                    # (P, 3) last keypoints, oriented as the track sees them
    height: float
    seen: np.ndarray                  # (P,) bool: parts found in the last detection
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))
    dets: list[int] = field(default_factory=list)

    def predict(self, t: float) -> np.ndarray:
        return self.kp[:, :2] + self.velocity * (t - self.last_time)

    def update(self, det: int, kp: np.ndarray, t: float, torso: np.ndarray) -> None:
        """Continue with detection ``det`` (keypoints ``kp``) at time ``t``; ``torso`` (P,)
        marks the parts whose motion is the body's."""
        dt = t - self.last_time
        common = (self.kp[:, 2] > 0) & (kp[:, 2] > 0)
        use = common & torso if (common & torso).any() else common
        if use.any() and dt > 0:
            step = np.median(kp[use, :2] - self.kp[use, :2], axis=0) / dt
            self.velocity = _VELOCITY_ALPHA * step + (1 - _VELOCITY_ALPHA) * self.velocity
        # parts not seen now keep their last place, moved with the body
        merged = kp.copy()
        keep = (kp[:, 2] <= 0) & (self.kp[:, 2] > 0)
        merged[keep, :2] = self.kp[keep, :2] + self.velocity * dt
        merged[keep, 2] = self.kp[keep, 2]
        self.kp, self.last_time, self.seen = merged, t, kp[:, 2] > 0
        self.height = 0.8 * self.height + 0.2 * person_height(kp)
        self.dets.append(det)


def associate(times: np.ndarray, frame: np.ndarray, keypoints: np.ndarray,
              layout: KeypointLayout, config: TrackConfig) -> list[list[int]]:
    """Group detections into tracks.

    ``times`` (F,): seconds of each frame of the video (NaN: the frame has no time and no
    detections); ``frame`` (D,): each detection's frame, non-decreasing; ``keypoints``
    (D, P, 3): x, y, score with score 0 where a part was not found. Returns every track, short
    ones included, as the list of its detections in time order; tracks are ordered by their
    first detection.
    """
    tol = part_tolerance(layout)
    flip = flip_index(layout)
    torso = np.zeros(layout.n_parts, bool)
    torso[list(_TORSO) if layout.name == "coco18" else slice(None)] = True
    open_: list[_Track] = []
    done: list[_Track] = []
    starts = np.searchsorted(frame, np.arange(len(times) + 1))
    for f in range(len(times)):
        lo, hi = starts[f], starts[f + 1]
        t = float(times[f])
        if hi == lo or not np.isfinite(t):
            continue
        still = [tr for tr in open_ if t - tr.last_time <= config.max_gap]
        done += [tr for tr in open_ if t - tr.last_time > config.max_gap]
        open_ = still
        dets = range(lo, hi)
        matched: set[int] = set()
        if open_:
            pred = np.stack([tr.predict(t) for tr in open_])
            found = np.stack([tr.kp[:, 2] > 0 for tr in open_])
            seen = np.stack([tr.seen for tr in open_])
            height = np.array([tr.height for tr in open_])
            as_is = similarity(pred, found, seen, height, keypoints[lo:hi], tol)
            mirrored = similarity(pred, found, seen, height, keypoints[lo:hi][:, flip], tol)
            sim = np.maximum(as_is, mirrored)
            rows, cols = linear_sum_assignment(sim, maximize=True)
            for i, j in zip(rows, cols):
                if sim[i, j] >= config.min_similarity:
                    d = lo + j
                    kp = keypoints[d][flip] if mirrored[i, j] > as_is[i, j] else keypoints[d]
                    open_[i].update(d, kp, t, torso)
                    matched.add(d)
        for d in dets:
            if d not in matched:
                tr = _Track(d, t, keypoints[d].copy(), person_height(keypoints[d]),
                            keypoints[d, :, 2] > 0)
                tr.dets.append(d)
                open_.append(tr)
    return [tr.dets for tr in sorted(done + open_, key=lambda tr: tr.first_det)]
