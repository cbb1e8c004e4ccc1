"""A second look at each person at full resolution (``--refine people``).

The first pass sees the whole frame at the network's input size (432x368 for mobilenet_thin),
so a walker 250 px tall in a 1080p frame is about 85 input pixels, some 20 heatmap cells
from head to foot. Here each person's box (with a margin, at the network's aspect) is cut out
of the full-resolution frame and run through the same estimator on its own, so the person
fills the network's input; of the people found in the crop the one that matches the
first-pass person is kept, its keypoints moved back to frame pixels, and the parts it lacks
taken from the first pass.

Pure functions over arrays (no Ray, no files): :func:`crop_for_box` (geometry),
:func:`cut` (pixels), :func:`match` (which person of the crop), :func:`merge` (fallback
parts) and :func:`refine_people` (all of it for one frame, with an estimator). The job's
stage (boxes from the smoothed tracks, chunks on the pose actors) is
``posebatch.runner.refine_job``.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from enum import Enum

import numpy as np

from ..errors import ConfigError, InputShapeError
from .layout import KeypointLayout, flip_index
from .similarity import part_tolerance, person_height, similarity

# Bump when what the second look produces changes: stored refine chunks are then redone.
REFINE_ALGORITHM = 2
_MIN_SIDE = 32.0     # pixels: the smallest box side a crop is planned from
# A person who nearly fills the frame: the margin would take the crop past the frame, and the
# network would see them no larger than in the first pass (a walker 80 % of a 720-px frame
# with the default margin: 0.35 input pixels per frame pixel in the crop, 0.34 in the whole
# frame), with black around. There the crop is shrunk to the frame, down to this margin.
MIN_MARGIN = 0.1


class Refine(str, Enum):
    """``off``: one pass over the whole frame. ``people``: then a second look at each
    person, cropped from the full-resolution frame."""

    OFF = "off"
    PEOPLE = "people"


@dataclass(frozen=True)
class RefineConfig:
    """How the second look is taken.

    ``margin``: added on each side of the person's box, as a fraction of its width and
    height (the box of the found parts misses the top of the head and the feet).
    ``max_zoom``: a crop is never enlarged more than this many times on its way to the
    network's input (a small person is cropped wider instead: the network finds nothing in
    a picture blown up far beyond its detail). ``min_similarity``: the keypoint similarity
    (OKS-like, 0..1, as the tracker's) a person of the crop needs with the first-pass person
    to replace it; below it the first pass is kept.
    """

    mode: Refine = Refine.OFF
    margin: float = 0.5
    max_zoom: float = 3.0
    min_similarity: float = 0.3

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "mode", Refine(self.mode))
        except ValueError:
            raise ConfigError(f"refine must be off or people, got {self.mode!r}") from None
        if not 0 <= self.margin <= 2:
            raise ConfigError(f"refine margin must be in [0, 2] (a fraction of the box), "
                              f"got {self.margin!r}")
        if not 1 <= self.max_zoom <= 16:
            raise ConfigError(f"refine max_zoom must be in [1, 16], got {self.max_zoom!r}")
        if not 0 < self.min_similarity <= 1:
            raise ConfigError(f"refine min_similarity must be in (0, 1], got "
                              f"{self.min_similarity!r}")

    @property
    def enabled(self) -> bool:
        return self.mode is Refine.PEOPLE


def refine_key(config: RefineConfig, first_pass: str) -> str:
    """Hash of the second look's settings and algorithm and of what its boxes came from
    (``first_pass``: the tracking key of the first pass's tracks)."""
    doc = {"refine": asdict(config), "algorithm": REFINE_ALGORITHM, "boxes": first_pass}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Crop:
    """A region of the frame in whole pixels: columns ``x0 .. x0 + width - 1``, rows
    ``y0 .. y0 + height - 1``; it may reach past the frame's edges (that part is black)."""

    x0: int
    y0: int
    width: int
    height: int


def person_box(keypoints: np.ndarray) -> np.ndarray:
    """(4,) x_min, y_min, x_max, y_max of a person's found parts ((P, 3), score > 0, or
    (P, 2) with NaN where missing); NaN when none is found."""
    kp = np.asarray(keypoints, np.float64)
    xy = kp[kp[:, 2] > 0, :2] if kp.shape[1] == 3 else kp[np.isfinite(kp).all(1)]
    if not len(xy):
        return np.full(4, np.nan)
    return np.concatenate([xy.min(0), xy.max(0)])


def crop_for_box(box: np.ndarray, net_size: tuple[int, int], margin: float = 0.5,
                 max_zoom: float = 3.0, frame_size: tuple[int, int] | None = None) -> Crop:
    """The region to show the network for a person whose parts span ``box`` (x_min, y_min,
    x_max, y_max, frame pixels): the box grown by ``margin`` of its size on each side (each
    side at least 32 px), widened or heightened about its centre to the network input's
    aspect (``net_size`` = (width, height)), and to at least 1 / ``max_zoom`` of the input's
    size; rounded to whole pixels. With ``frame_size`` (width, height): a crop larger than
    the frame is shrunk to it (the margin down to ``MIN_MARGIN``), and one that fits is
    moved inside it rather than reaching past an edge."""
    box = np.asarray(box, np.float64)
    if box.shape != (4,) or not np.isfinite(box).all() or box[2] < box[0] or box[3] < box[1]:
        raise InputShapeError(f"box: expected finite (x_min, y_min, x_max, y_max), got {box}")
    net_w, net_h = net_size
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    # parts sit on pixel centres: the box covers one pixel more than their span
    bw, bh = max(box[2] - box[0] + 1, _MIN_SIDE), max(box[3] - box[1] + 1, _MIN_SIDE)
    aspect = net_w / net_h

    def at_aspect(w: float, h: float) -> tuple[float, float]:
        return max(w, h * aspect), max(h, w / aspect)

    w, h = at_aspect(bw * (1 + 2 * margin), bh * (1 + 2 * margin))
    if frame_size is not None:
        fit = min(1.0, frame_size[0] / w, frame_size[1] / h)
        if fit < 1:
            least = at_aspect(bw * (1 + 2 * min(margin, MIN_MARGIN)),
                              bh * (1 + 2 * min(margin, MIN_MARGIN)))
            w, h = max(w * fit, least[0]), max(h * fit, least[1])
    w, h = max(w, net_w / max_zoom), max(h, net_h / max_zoom)
    width, height = int(round(w)), int(round(h))
    # the region's centre, between pixels x0 - 0.5 and x0 + width - 0.5, is the box's
    x0, y0 = int(round(cx - (width - 1) / 2)), int(round(cy - (height - 1) / 2))
    if frame_size is not None:
        # inside the frame where it fits: the box, within the frame, stays within the crop
        if width <= frame_size[0]:
            x0 = min(max(x0, 0), frame_size[0] - width)
        if height <= frame_size[1]:
            y0 = min(max(y0, 0), frame_size[1] - height)
    return Crop(x0, y0, width, height)


def cut(frame: np.ndarray, crop: Crop) -> np.ndarray:
    """The crop's pixels (height, width, channels), black where it reaches past the frame."""
    h, w = frame.shape[:2]
    out = np.zeros((crop.height, crop.width) + frame.shape[2:], frame.dtype)
    x0, y0 = max(crop.x0, 0), max(crop.y0, 0)
    x1, y1 = min(crop.x0 + crop.width, w), min(crop.y0 + crop.height, h)
    if x1 > x0 and y1 > y0:
        out[y0 - crop.y0:y1 - crop.y0, x0 - crop.x0:x1 - crop.x0] = frame[y0:y1, x0:x1]
    return out


def to_frame(keypoints: np.ndarray, crop: Crop) -> np.ndarray:
    """(n, P, 3) keypoints in the crop's pixels -> the frame's (missing parts stay NaN)."""
    out = np.array(keypoints, np.float32, copy=True)
    out[..., 0] += crop.x0
    out[..., 1] += crop.y0
    return out


def match(candidates: np.ndarray, reference: np.ndarray, layout: KeypointLayout,
          min_similarity: float) -> tuple[int, bool, float]:
    """Which of ``candidates`` (n, P, 3), frame pixels, is the person ``reference`` (P, 3):
    (index or -1, mirrored, similarity). The similarity is the tracker's OKS-like one at the
    reference's height, the better of the candidate as labelled and mirrored left/right (the
    first pass may have swapped sides: that is one of the things the second look corrects);
    ``mirrored`` says the mirrored reading won. Below ``min_similarity``: -1."""
    if len(candidates) == 0 or not (reference[:, 2] > 0).any():
        return -1, False, 0.0
    found = reference[None, :, 2] > 0
    args = (reference[None, :, :2], found, found, np.array([person_height(reference)]))
    tol = part_tolerance(layout)
    direct = similarity(*args, candidates, tol)[0]
    mirrored = similarity(*args, candidates[:, flip_index(layout)], tol)[0]
    best = np.maximum(direct, mirrored)
    i = int(np.argmax(best))
    if best[i] < min_similarity:
        return -1, False, float(best[i])
    return i, bool(mirrored[i] > direct[i]), float(best[i])


def merge(first: np.ndarray, second: np.ndarray, mirrored: bool, layout: KeypointLayout
          ) -> tuple[np.ndarray, np.ndarray]:
    """The second look's person (P, 3) with the parts it did not find taken from the first
    pass's (P, 3), read in the second look's left/right labelling (``mirrored``: the first
    pass had them the other way round, so its fallback parts are mirrored first; otherwise a
    fallback ankle could land on the side the second look already placed one). Returns
    (keypoints (P, 3), refined (P,) bool: the part is the second look's)."""
    fallback = first[flip_index(layout)] if mirrored else first
    refined = second[:, 2] > 0
    return np.where(refined[:, None], second, fallback).astype(np.float32), refined


@dataclass(frozen=True)
class Refined:
    """The second look at n people of one frame.

    keypoints (n, P, 3) float32: frame pixels; parts the crop did not give are the first
    pass's (NaN, NaN, 0 where neither found them). scores (n,) float32: the matched person's
    score in the crop (the first pass's where none matched). refined (n, P) bool: the part's
    value is the second look's. similarity (n,) float32: of the kept person of the crop to
    the first pass's (0 where none matched). crops: the regions looked at.
    """

    keypoints: np.ndarray
    scores: np.ndarray
    refined: np.ndarray
    similarity: np.ndarray
    crops: tuple[Crop, ...]

    @property
    def matched(self) -> np.ndarray:
        """(n,) bool: a person of the crop replaced the first pass's."""
        return np.asarray(self.refined.any(1))


def refine_people(estimator, frame: np.ndarray, boxes: np.ndarray, first: np.ndarray,
                  scores: np.ndarray, config: RefineConfig) -> Refined:
    """Look again at each of n people of one frame: ``boxes`` (n, 4) where to look (x_min,
    y_min, x_max, y_max, frame pixels: in a video, from the smoothed track; in a picture,
    the first pass's parts), ``first`` (n, P, 3) and ``scores`` (n,) the first pass's people.
    Each crop runs through ``estimator`` (the first pass's settings, at the network's input
    size) on its own."""
    layout = estimator.layout
    n, P = len(first), layout.n_parts
    if boxes.shape != (n, 4) or first.shape != (n, P, 3) or scores.shape != (n,):
        raise InputShapeError(f"boxes (n, 4), first (n, {P}, 3), scores (n,): got "
                              f"{boxes.shape}, {first.shape}, {scores.shape}")
    cfg = estimator.config
    net_size = (cfg.net_width, cfg.net_height)
    out_kp = np.array(first, np.float32, copy=True)
    out_sc = np.array(scores, np.float32, copy=True)
    refined = np.zeros((n, P), bool)
    sim = np.zeros(n, np.float32)
    crops = []
    for i in range(n):
        crop = crop_for_box(boxes[i], net_size, config.margin, config.max_zoom,
                            (frame.shape[1], frame.shape[0]))
        crops.append(crop)
        res = estimator.estimate(cut(frame, crop))
        candidates = to_frame(res.keypoints, crop)
        j, mirrored, s = match(candidates, first[i], layout, config.min_similarity)
        if j < 0:
            continue
        out_kp[i], refined[i] = merge(first[i], candidates[j], mirrored, layout)
        out_sc[i], sim[i] = res.scores[j], s
    return Refined(out_kp, out_sc, refined, sim, tuple(crops))


def refine_result(estimator, frame: np.ndarray, keypoints: np.ndarray, scores: np.ndarray,
                  config: RefineConfig) -> Refined:
    """A picture's second look: every first-pass person, boxed by their own found parts."""
    boxes = (np.stack([person_box(k) for k in keypoints]) if len(keypoints)
             else np.empty((0, 4)))
    return refine_people(estimator, frame, boxes, keypoints, scores, config)
