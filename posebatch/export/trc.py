"""TRC marker trajectories (the text format OpenSim and Pose2Sim read), one file per track:
the smoothed, gap-filled keypoints of every frame from the track's first to its last, in 2-D
(Z = 0) with Y up (the frame's height minus the image row), in pixels, or in metres with the
walker's height (scaled by the track's median standing height, as ``posebatch gait`` does).
Marker names are OpenPose's for its COCO-18 model. Times are the frames' own timestamps;
DataRate is their median rate."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..storage.atomic import atomic_write_bytes
from ..gait.angles import body_height

MARKERS = ("Nose", "Neck", "RShoulder", "RElbow", "RWrist", "LShoulder", "LElbow", "LWrist",
           "RHip", "RKnee", "RAnkle", "LHip", "LKnee", "LAnkle", "REye", "LEye", "REar", "LEar")


def trc_text(name: str, frames: np.ndarray, times: np.ndarray, xyz: np.ndarray,
             markers: tuple[str, ...], units: str) -> str:
    """The TRC file for (T,) frame numbers, (T,) times and (T, M, 3) coordinates (NaN: the
    marker is missing there, written empty as OpenSim expects)."""
    steps = np.diff(times)
    steps = steps[np.isfinite(steps) & (steps > 0)]
    rate = 1.0 / float(np.median(steps)) if len(steps) else 0.0
    n, m = len(frames), len(markers)
    buf = io.StringIO()
    buf.write(f"PathFileType\t4\t(X/Y/Z)\t{name}\n")
    buf.write("DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\t"
              "OrigDataStartFrame\tOrigNumFrames\n")
    buf.write(f"{rate:.2f}\t{rate:.2f}\t{n}\t{m}\t{units}\t{rate:.2f}\t{int(frames[0])}\t{n}\n")
    buf.write("Frame#\tTime\t" + "\t\t\t".join(markers) + "\t\t\t\n")
    buf.write("\t\t" + "\t".join(f"X{i}\tY{i}\tZ{i}" for i in range(1, m + 1)) + "\t\n")
    for f, t, row in zip(frames, times, xyz.reshape(n, -1)):
        cells = "\t".join("" if not np.isfinite(v) else f"{v:.5f}" for v in row)
        buf.write(f"{int(f)}\t{t:.5f}\t{cells}\n")
    return buf.getvalue()


def write(vt, folder: Path, height_m: float | None = None) -> tuple[list[Path], int, int]:
    folder.mkdir(parents=True, exist_ok=True)
    table = vt.wide()
    frame_time = vt.frames.set_index("frame")["time"]
    height_px = int(vt.row["height"])
    files, frames = [], 0
    for track, w in table.groupby(level="track"):
        w = w.reset_index().set_index("frame")
        span = np.arange(int(w.index.min()), int(w.index.max()) + 1)
        w = w.reindex(span)
        xyz = np.zeros((len(span), vt.layout.n_parts, 3))
        for i, part in enumerate(vt.layout.parts):
            xyz[:, i, 0] = w[f"{part}_x"].to_numpy(np.float64)
            xyz[:, i, 1] = height_px - w[f"{part}_y"].to_numpy(np.float64)
        units = "px"
        if height_m is not None:
            heights = body_height(w)
            stature = float(np.nanmedian(heights)) if np.isfinite(heights).any() else np.nan
            if not stature > 0:
                raise ConfigError(f"{vt.row['video']} track {track}: no frame shows the head "
                                  "or neck and the ankles, so there is no body height to scale "
                                  "to metres; export it in pixels (without --height-m)")
            xyz[..., :2] *= height_m / stature
            units = "m"
        xyz[np.isnan(xyz[..., 0]) | np.isnan(xyz[..., 1])] = np.nan
        times = frame_time.reindex(span).to_numpy(np.float64)
        name = f"{vt.stem}.track{int(track)}.trc"
        p = folder / name
        atomic_write_bytes(p, trc_text(name, span, times, xyz, MARKERS, units).encode())
        files.append(p)
        frames += len(span)
    return files, frames, len(files)
