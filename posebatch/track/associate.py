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
from ..engine.similarity import part_tolerance, person_height, similarity

_VELOCITY_ALPHA = 0.5    # weight of the newest displacement in the velocity estimate


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
    torso = layout.torso_mask()
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
