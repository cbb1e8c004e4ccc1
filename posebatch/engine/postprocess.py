"""From raw network output to the parser's inputs: upsample, smooth, keep local maxima.

Pure functions over float32 arrays laid out (rows, columns, channels). Matches the
tf-pose-estimation post-processing that produced the goldens: legacy bilinear upsampling
(align_corners=False, half_pixel_centers=False), its 25-tap "sigma 3" Gaussian with zero
padding, and 3x3 peak suppression.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
from scipy.special import ndtr

from . import _upsample
from ..errors import InputShapeError
from .layout import KeypointLayout


@dataclass(frozen=True)
class Maps:
    """The parser's inputs at upsampled resolution (H, W = network output * ratio).

    heat: (H, W, n_parts + 1) part confidence, last channel background.
    paf: (H, W, 2 * n_limbs) part affinity fields.
    peaks: (H, W, n_parts) smoothed confidence where it is a 3x3 local maximum, 0 elsewhere.
    """

    heat: np.ndarray
    paf: np.ndarray
    peaks: np.ndarray


def map_shape(h: int, w: int, ratio: float) -> tuple[int, int]:
    """(rows, columns) of the maps upsampled from an (h, w) network output."""
    return int(h * ratio), int(w * ratio)


def upsample(net_out: np.ndarray, ratio: float) -> np.ndarray:
    """Resize (h, w, C) to (int(h*ratio), int(w*ratio), C) by legacy bilinear interpolation.

    Output cell (y, x) samples input position (y*h/H, x*w/W), clamped at the far edge (what
    TensorFlow's resize_bilinear did with align_corners=False, half_pixel_centers=False).
    """
    if net_out.ndim != 3:
        raise InputShapeError(f"expected network output of shape (h, w, C), got {net_out.shape}")
    h, w = net_out.shape[:2]
    return _upsample.upsample(np.ascontiguousarray(net_out, dtype=np.float32),
                              *map_shape(h, w, ratio))


@lru_cache(maxsize=8)
def gaussian_taps(size: int = 25, nsig: float = 3.0) -> np.ndarray:
    """1-D taps of tf-pose-estimation's smoothing kernel.

    Its 2-D kernel is sqrt(outer(k, k)) normalised, where k holds normal-CDF differences over
    [-nsig - d/2, nsig + d/2] in ``size`` bins; that factorises into outer(t, t) with
    t = sqrt(k) / sum(sqrt(k)), so it runs as two 1-D passes.
    """
    interval = (2 * nsig + 1.0) / size
    edges = np.linspace(-nsig - interval / 2.0, nsig + interval / 2.0, size + 1)
    taps = np.sqrt(np.diff(ndtr(edges)))
    return (taps / taps.sum()).astype(np.float32)


def smooth(heat: np.ndarray, size: int = 25, nsig: float = 3.0) -> np.ndarray:
    """Gaussian-smooth every channel of (H, W, C), zero padding outside the map."""
    taps = gaussian_taps(size, nsig)
    out = cv2.sepFilter2D(np.ascontiguousarray(heat, dtype=np.float32), -1, taps, taps,
                          borderType=cv2.BORDER_CONSTANT)
    return out.reshape(heat.shape)  # OpenCV drops a single channel axis


def local_maxima(smoothed: np.ndarray) -> np.ndarray:
    """Keep cells equal to the maximum of their 3x3 neighbourhood (SAME padding), zero others."""
    m = smoothed.copy()
    np.maximum(m[1:], smoothed[:-1], out=m[1:])
    np.maximum(m[:-1], smoothed[1:], out=m[:-1])
    m2 = m.copy()
    np.maximum(m2[:, 1:], m[:, :-1], out=m2[:, 1:])
    np.maximum(m2[:, :-1], m[:, 1:], out=m2[:, :-1])
    return np.where(smoothed == m2, smoothed, np.float32(0))


def find_peaks(heat: np.ndarray, layout: KeypointLayout, smooth_size: int = 25,
               smooth_sigma: float = 3.0) -> np.ndarray:
    """(H, W, n_parts) peaks map from upsampled (H, W, >= n_parts) confidence maps.

    Only the part channels are searched: the background channel is never parsed.
    """
    return local_maxima(smooth(heat[..., : layout.n_parts], smooth_size, smooth_sigma))


def _hot_boxes(net_heat: np.ndarray, thresh: float, out_h: int, out_w: int
               ) -> list[tuple[int, int, int, int]]:
    """Boxes [y0, y1) x [x0, x1) of the upsampled map outside which no cell of any channel can
    exceed ``thresh``: the upsampled value at a cell lies between its four source cells'
    values, so only cells whose sources include a hot network cell can. One box per connected
    hot region (8-connected, all parts together), so two people far apart make two boxes."""
    # a hair below the threshold, so float rounding in the lerp can never escape a box
    hot = (net_heat > thresh - 1e-5 * max(1.0, abs(thresh))).any(axis=2)
    if not hot.any():
        return []
    # a cell lerps between source rows i and i + 1: a hot row i also reaches cells of row i - 1
    grown = cv2.dilate(np.asarray(hot, np.uint8), np.ones((3, 3), np.uint8))
    n, _, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    h, w = net_heat.shape[:2]
    return [(int(np.floor(y * out_h / h)) - 1, int(np.ceil((y + bh) * out_h / h)) + 1,
             int(np.floor(x * out_w / w)) - 1, int(np.ceil((x + bw) * out_w / w)) + 1)
            for x, y, bw, bh, _ in stats[1:]]


def _merge_crops(boxes: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Join two (crop, hot box) pairs while one crop around both costs less area than the two
    (overlapping crops would smooth the same cells twice)."""
    def area(b):
        return (b[1] - b[0]) * (b[3] - b[2])

    boxes = list(boxes)
    merged = True
    while merged and len(boxes) > 1:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                u = tuple(f(p, q) for f, p, q in zip((min, max) * 4, a, b))
                if area(u) <= area(a) + area(b):
                    boxes[i] = u
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return boxes


@dataclass(frozen=True)
class PeakOffsets:
    """Sub-cell positions of peaks: ``keys`` (sorted) = (row * W + col) * n_parts + part of
    each peak, ``dxy`` its (d col, d row) in map cells, each in [-0.5, 0.5]."""

    keys: np.ndarray
    dxy: np.ndarray
    width: int
    n_parts: int

    def apply(self, kp: np.ndarray) -> np.ndarray:
        """(n, P, 3) (col, row, score) in map cells, peaks at whole cells -> refined copy."""
        out = kp.copy()
        found = kp[..., 2] > 0
        if not found.any() or not len(self.keys):
            return out
        person, part = np.nonzero(found)
        col = kp[person, part, 0].astype(np.int64)
        row = kp[person, part, 1].astype(np.int64)
        key = (row * self.width + col) * self.n_parts + part
        at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        hit = self.keys[at] == key
        out[person[hit], part[hit], :2] += self.dxy[at[hit]]
        return out


def subpixel_offsets(smoothed: np.ndarray, ys: np.ndarray, xs: np.ndarray, ps: np.ndarray
                     ) -> np.ndarray:
    """(k, 2) (d col, d row) of the maximum of a parabola through each peak and its two
    neighbours along each axis of the smoothed map (a peak on the map's edge, or without a
    maximum's curvature on an axis, keeps its cell on that axis). ``smoothed`` must hold
    every peak's 4-neighbours unless the peak is on its edge."""
    h, w = smoothed.shape[:2]
    out = np.zeros((len(ys), 2), np.float32)
    c = smoothed[ys, xs, ps].astype(np.float64)
    for axis, (pos, size) in enumerate(((xs, w), (ys, h))):
        inner = (pos > 0) & (pos < size - 1)
        lo, hi = pos.copy(), pos.copy()
        lo[inner] -= 1
        hi[inner] += 1
        a = smoothed[ys, lo, ps] if axis == 0 else smoothed[lo, xs, ps]
        b = smoothed[ys, hi, ps] if axis == 0 else smoothed[hi, xs, ps]
        curv = a.astype(np.float64) - 2.0 * c + b
        ok = inner & (curv < 0)
        d = np.zeros(len(ys))
        d[ok] = 0.5 * (a[ok] - b[ok]) / curv[ok]
        out[:, axis] = np.clip(d, -0.5, 0.5)
    return out


def find_peaks_above(net_out: np.ndarray, layout: KeypointLayout, ratio: float,
                     thresh: float, smooth_size: int = 25, smooth_sigma: float = 3.0
                     ) -> np.ndarray:
    """What the parser takes from :func:`find_peaks`: every peak above ``thresh`` at the same
    cell with the same value, bit for bit, computed only near hot network cells instead of over
    the whole upsampled map. Cells hold 0 or at most ``thresh`` everywhere else.

    A smoothed cell can exceed ``thresh`` only within the kernel's radius r of an upsampled
    cell that does, and its 3x3 test reads one cell further, so each hot box is smoothed over
    a crop reaching 2r + 1 past it (zero padding only where the crop meets the map's edge)
    and its peaks are kept r + 1 past it. Cost follows the area people cover.
    """
    return find_peaks_refined(net_out, layout, ratio, thresh, smooth_size, smooth_sigma,
                              refine=False)[0]


def find_peaks_refined(net_out: np.ndarray, layout: KeypointLayout, ratio: float,
                       thresh: float, smooth_size: int = 25, smooth_sigma: float = 3.0,
                       refine: bool = True) -> tuple[np.ndarray, PeakOffsets | None]:
    """:func:`find_peaks_above`, and with ``refine`` the sub-cell offsets of its peaks above
    ``thresh`` (:func:`subpixel_offsets`), read from the same smoothed crops: a peak lies
    within r of its box, so its neighbours' smoothed values are exact there too."""
    check_output(net_out, layout)
    out_h, out_w = map_shape(net_out.shape[0], net_out.shape[1], ratio)
    n = layout.n_parts
    net = np.ascontiguousarray(net_out, dtype=np.float32)
    peaks = np.zeros((out_h, out_w, n), np.float32)
    taps = gaussian_taps(smooth_size, smooth_sigma)
    r = smooth_size // 2
    boxes = _merge_crops([(max(y0 - 2 * r - 1, 0), min(y1 + 2 * r + 1, out_h),
                           max(x0 - 2 * r - 1, 0), min(x1 + 2 * r + 1, out_w), y0, y1, x0, x1)
                          for y0, y1, x0, x1 in _hot_boxes(net[..., :n], thresh, out_h, out_w)])
    keys, dxy = [], []
    for cy0, cy1, cx0, cx1, y0, y1, x0, x1 in boxes:
        crop = _upsample.upsample_region(net, out_h, out_w, cy0, cy1, cx0, cx1, 0, n)
        smoothed = cv2.sepFilter2D(crop, -1, taps, taps, borderType=cv2.BORDER_CONSTANT
                                   ).reshape(crop.shape)
        found = local_maxima(smoothed)
        ky0, ky1 = max(y0 - r - 1, 0), min(y1 + r + 1, out_h)
        kx0, kx1 = max(x0 - r - 1, 0), min(x1 + r + 1, out_w)
        keep = peaks[ky0:ky1, kx0:kx1]
        kept = found[ky0 - cy0:ky1 - cy0, kx0 - cx0:kx1 - cx0]
        np.maximum(keep, kept, out=keep)
        if refine:
            ys, xs, ps = np.nonzero(kept > thresh)
            ys, xs = ys + (ky0 - cy0), xs + (kx0 - cx0)     # in the crop
            # a peak on the crop's edge is on the map's edge (the crop reaches r past it)
            dxy.append(subpixel_offsets(smoothed, ys, xs, ps))
            keys.append(((ys + cy0) * out_w + (xs + cx0)) * n + ps)
    if not refine:
        return peaks, None
    k = np.concatenate(keys).astype(np.int64) if keys else np.zeros(0, np.int64)
    d = np.concatenate(dxy) if dxy else np.zeros((0, 2), np.float32)
    order = np.argsort(k, kind="stable")
    return peaks, PeakOffsets(k[order], d[order], out_w, n)


def split(up: np.ndarray, layout: KeypointLayout) -> tuple[np.ndarray, np.ndarray]:
    """Upsampled network output -> (heat, paf), each C-contiguous."""
    return (np.ascontiguousarray(up[..., : layout.n_heatmaps]),
            np.ascontiguousarray(up[..., layout.n_heatmaps:]))


def check_output(net_out: np.ndarray, layout: KeypointLayout) -> None:
    expected = layout.n_heatmaps + layout.n_pafs
    if net_out.ndim != 3 or net_out.shape[2] != expected:
        raise InputShapeError(
            f"expected network output (h, w, {expected}) for layout {layout.name!r}, "
            f"got {net_out.shape}"
        )


def postprocess(net_out: np.ndarray, layout: KeypointLayout, ratio: float = 4.0,
                smooth_size: int = 25, smooth_sigma: float = 3.0) -> Maps:
    """Split (h, w, heatmaps + pafs) network output and prepare the parser's three maps."""
    check_output(net_out, layout)
    heat, paf = split(upsample(net_out, ratio), layout)
    return Maps(heat=heat, paf=paf, peaks=find_peaks(heat, layout, smooth_size, smooth_sigma))
