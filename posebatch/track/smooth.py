"""Gap filling and zero-lag low-pass filtering of keypoint trajectories, on true timestamps.

A keypoint missing for at most ``fill_gap`` seconds between two detections is interpolated
linearly in time. Each run of values (detected or filled) is then filtered with a 4th-order
Butterworth low-pass run forwards and backwards (``sosfiltfilt``: zero phase lag, so events
such as heel strikes are not shifted in time), the usual choice in biomechanics for offline
kinematics (Winter: 6 Hz for walking). Video frame times are not evenly spaced (variable frame
rate, dropped frames), and the filter assumes even spacing, so each run is resampled onto an
even grid at its median frame interval (its mean where that is shorter), filtered there, and
interpolated back to the frames' own times.
"""
from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

ORDER = 4
_MIN_RUN = 2 * ORDER + 1   # fewer samples than this are left unfiltered (nothing to filter)


def fill_gaps(times: np.ndarray, values: np.ndarray, max_gap: float
              ) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate missing samples of one trajectory.

    ``times`` (T,) increasing seconds; ``values`` (T, k) with NaN rows where missing. Rows
    missing inside a gap of at most ``max_gap`` seconds (from the detection before to the
    one after) are interpolated linearly. Returns (values with the gaps filled, (T,) bool
    filled).
    """
    have = np.isfinite(values).all(1)
    filled = np.zeros(len(times), bool)
    out = values.copy()
    idx = np.flatnonzero(have)
    if len(idx) < 2:
        return out, filled
    for a, b in zip(idx[:-1], idx[1:]):
        if b - a > 1 and times[b] - times[a] <= max_gap + 1e-9:
            w = (times[a + 1:b] - times[a]) / (times[b] - times[a])
            out[a + 1:b] = values[a] + w[:, None] * (values[b] - values[a])
            filled[a + 1:b] = True
    return out, filled


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def lowpass(times: np.ndarray, values: np.ndarray, cutoff: float) -> np.ndarray:
    """Zero-lag Butterworth low-pass of each run of finite rows of ``values`` (T, k) sampled at
    ``times`` (T,). Runs shorter than the filter can handle are returned as they are; the
    cut-off is capped below the Nyquist frequency of the run's own frame rate."""
    out = values.copy()
    if cutoff <= 0:
        return out
    for a, b in _runs(np.isfinite(values).all(1)):
        if b - a < _MIN_RUN:
            continue
        t = times[a:b]
        # the grid at the typical interval, and never coarser than the samples' own rate:
        # where intervals alternate (15 pictures a second in a 24 fps file: 1 and 2 frames,
        # the median 2) the median alone would put 15 samples a second onto 12
        steps = np.diff(t)
        dt = float(min(np.median(steps), steps.mean()))
        if dt <= 0:
            continue
        n = int(round((t[-1] - t[0]) / dt)) + 1
        grid = t[0] + dt * np.arange(n)
        even = np.stack([np.interp(grid, t, values[a:b, k]) for k in range(values.shape[1])], 1)
        nyquist = 0.5 / dt
        sos = butter(ORDER, min(cutoff, 0.9 * nyquist) / nyquist, output="sos")
        smooth = sosfiltfilt(sos, even, axis=0, padlen=min(3 * (2 * len(sos) + 1), n - 1))
        out[a:b] = np.stack([np.interp(t, grid, smooth[:, k]) for k in range(values.shape[1])],
                            1)
    return out


def smooth_samples(t: np.ndarray, xy: np.ndarray, new: np.ndarray, fill_gap: float,
                   cutoff: float) -> tuple[np.ndarray, np.ndarray]:
    """A track's trajectories ``xy`` (T, P, 2), NaN where a part was not found, sampled at
    ``t`` (T,): gaps filled and low-passed part by part on the frames that are new pictures
    (``new``, (T,) bool); repeated pictures take the curve's value at their time. Returns
    (smoothed (T, P, 2), filled (T, P) bool). The tracker's smoothing, and the gait's where it
    trades the legs' labels (``posebatch.gait.legs``)."""
    filled = np.zeros(xy.shape[:2], bool)
    smooth = np.full_like(xy, np.nan)
    for p in range(xy.shape[1]):
        values, filled[new, p] = fill_gaps(t[new], xy[new, p], fill_gap)
        smooth[new, p] = lowpass(t[new], values, cutoff)
    if not new.all():
        smooth[~new] = _between(t, new, smooth)
        filled[~new] = np.isnan(xy[~new, :, 0]) & np.isfinite(smooth[~new, :, 0])
    return smooth, filled


def _between(t: np.ndarray, new: np.ndarray, smooth: np.ndarray) -> np.ndarray:
    """Values at the repeated frames (``~new``): interpolated in time between the new frames
    around them, or the last new frame's value where no later one has a value."""
    idx = np.flatnonzero(new)
    rep = np.flatnonzero(~new)
    before = idx[np.searchsorted(idx, rep) - 1]
    after_i = np.minimum(np.searchsorted(idx, rep), len(idx) - 1)
    after = idx[after_i]
    a, b = smooth[before], smooth[after]
    w = ((t[rep] - t[before]) / np.where(after > rep, t[after] - t[before], 1.0))[:, None, None]
    w = np.where((after > rep)[:, None, None], w, 0.0)
    out = a + w * (b - a)
    return np.where(np.isfinite(out), out, a)
