"""Videos drawn from a job's tables: a frame range at a time, each encoded as its own closed
H.264 segment at the source's own timestamps, then joined by stream copy.

Nothing here runs the network: the people come from the keypoints table, the pictures from
the source video (decoded by exact frame ranges, turned upright). Segments use no B-frames
and start with a keyframe, so joining them packet by packet gives one file whose frames are
exactly the source's, in order, at the source's times (variable frame rate kept). Audio is
not kept.
"""
from __future__ import annotations

import fractions
import re
import tempfile
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from ..decode import VideoIndex, decode_range, upright
from ..engine.layout import KeypointLayout
from ..engine.poses import Poses
from ..storage.atomic import atomic_path
from .draw import caption, draw_tracked


class Style(str, Enum):
    OVERLAY = "overlay"
    SKELETON = "skeleton"
    SIDE_BY_SIDE = "side-by-side"


@dataclass(frozen=True)
class RenderOptions:
    """What a render shows. ``right``: the right half of a side-by-side (``skeleton`` or
    ``overlay``); ``raw``: the detections as found instead of the smoothed tracks;
    ``max_width``: the output is scaled down to at most this many pixels wide; ``crf``:
    H.264 quality (lower is better and larger)."""

    style: Style = Style.OVERLAY
    right: Style = Style.SKELETON
    raw: bool = False
    max_width: int = 1280
    captions: bool = True
    events: bool = True
    crf: int = 20

    def __post_init__(self) -> None:
        object.__setattr__(self, "style", Style(self.style))
        object.__setattr__(self, "right", Style(self.right))
        if self.right is Style.SIDE_BY_SIDE:
            from ..errors import ConfigError

            raise ConfigError("--right is the right half of a side-by-side: overlay or skeleton")


def safe_name(name: str) -> str:
    """A file-name-safe form of a video's name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "video"


def compose(image: np.ndarray, kp: np.ndarray, tracks: np.ndarray, opts: RenderOptions,
            layout: KeypointLayout, lines: list[str], contacts: list[tuple[float, float]],
            size: tuple[int, int]) -> np.ndarray:
    """One output frame of ``size`` (w, h): overlay, skeleton on black, or both halves side
    by side. The picture is scaled first and the people drawn at the output's scale (lines
    and text read the same at any size, and drawing costs what the output's size costs)."""
    halves = 2 if opts.style is Style.SIDE_BY_SIDE else 1
    w = size[0] // halves
    scale = w / image.shape[1]
    if (w, size[1]) != (image.shape[1], image.shape[0]):
        image = cv2.resize(image, (w, size[1]), interpolation=cv2.INTER_AREA)
    kp = kp.copy()
    kp[..., :2] *= scale

    def draw(background: np.ndarray) -> np.ndarray:
        out = draw_tracked(background, kp, tracks, layout)
        r = max(5, round(max(image.shape[:2]) / 90))
        for x, y in contacts:                                   # a gait contact
            cv2.circle(out, (int(round(x * scale)), int(round(y * scale))), r, (0, 255, 255),
                       2, cv2.LINE_AA)
        return out

    if opts.style is Style.OVERLAY:
        frame = draw(image)
    elif opts.style is Style.SKELETON:
        frame = draw(np.zeros_like(image))
    else:
        right = draw(image if opts.right is Style.OVERLAY else np.zeros_like(image))
        right = caption(right, [opts.right.value])
        left = caption(image, ["original"] + (lines if opts.captions else []))
        return np.hstack([left, right])
    return caption(frame, lines) if opts.captions and lines else frame


def output_size(width: int, height: int, opts: RenderOptions) -> tuple[int, int]:
    """(w, h) of the output frames: the composed size scaled to ``max_width``, even (yuv420p)."""
    w = width * (2 if opts.style is Style.SIDE_BY_SIDE else 1)
    scale = min(1.0, opts.max_width / w)
    return max(2, int(w * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def time_base(index: VideoIndex) -> fractions.Fraction:
    return fractions.Fraction(index.time_base).limit_denominator(10_000_000)


def render_range(index: VideoIndex, start: int, end: int, keypoints: pd.DataFrame,
                 contacts: pd.DataFrame, opts: RenderOptions, layout: KeypointLayout,
                 name: str, every: int = 1) -> tuple[bytes, list[int]]:
    """Frames [start, end) drawn and encoded as one closed MP4 segment: (its bytes, the
    source pts of its frames in order). ``keypoints``: the video's rows for these frames;
    ``contacts``: gait contacts (frame, track, side) to mark, possibly empty. ``every``: the
    job's stride; a frame it did not analyse shows the people of the last one that it did
    (``keypoints`` then starts up to ``every - 1`` frames before ``start``)."""
    import av

    tb = time_base(index)
    width, height = index.display_size
    size = output_size(width, height, opts)
    by_frame = dict(tuple(keypoints.groupby("frame"))) if len(keypoints) else {}
    marks = {}
    for f, rows in (contacts.groupby("frame") if len(contacts) else []):
        marks[f] = rows
    stamps: list[int] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "segment.mp4"
        with av.open(str(path), "w") as container:
            stream = container.add_stream("libx264", rate=max(1, round(index.fps or 30)))
            stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
            stream.time_base = tb
            stream.codec_context.time_base = tb
            stream.options = {"crf": str(opts.crf), "bf": "0", "preset": "veryfast"}
            for fr in decode_range(index, start, end):
                image = upright(fr.image, index.turn)
                rows = by_frame.get(fr.index)
                if rows is None and every > 1:    # held from the last analysed frame
                    rows = next((by_frame[f] for f in range(fr.index - 1, fr.index - every, -1)
                                 if f in by_frame), None)
                # tracked people at their smoothed (gap-filled) positions, untracked
                # detections as found; raw: every detection as found, no filled parts
                poses = Poses.from_rows(rows, layout, by="track", smoothed=not opts.raw) \
                    if rows is not None else Poses.empty(layout)
                kp, tracks = poses.keypoints, poses.ids
                dots = _contact_points(marks.get(fr.index), kp, tracks, layout) \
                    if opts.events else []
                lines = [name, f"frame {fr.index}   {fr.time:.3f} s   people {len(tracks)}"]
                out = compose(image, kp, tracks, opts, layout, lines, dots, size)
                frame = av.VideoFrame.from_ndarray(out, format="bgr24")
                frame.pts, frame.time_base = fr.pts, tb
                stamps.append(fr.pts)
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return path.read_bytes(), stamps


def _contact_points(rows: pd.DataFrame | None, kp: np.ndarray, tracks: np.ndarray,
                    layout: KeypointLayout) -> list[tuple[float, float]]:
    """Where to mark this frame's gait contacts: the contacting ankle of that track."""
    if rows is None:
        return []
    out = []
    for _, e in rows.iterrows():
        hit = np.flatnonzero(tracks == int(e.track))
        if len(hit):
            p = kp[hit[0], layout.part_id(f"{e.side}_ankle")]
            if np.isfinite(p[:2]).all():
                out.append((float(p[0]), float(p[1])))
    return out


def join_segments(segments: list[tuple[Path, list[int]]], out: Path,
                  tb: fractions.Fraction) -> Path:
    """Concatenate closed segment files packet by packet (no re-encoding) into ``out``, the
    index at the front so browsers play it while it loads; written atomically. Each
    segment's frames are restamped with their source pts (``tb`` units): a segment's own
    container may shift its start (an edit list), the source's times are the truth."""
    import av

    with atomic_path(out) as dest:
        with av.open(str(dest), "w", format="mp4", options={"movflags": "faststart"}) as o:
            ostream = None
            for seg, stamps in segments:
                with av.open(str(seg)) as inp:
                    istream = inp.streams.video[0]
                    if ostream is None:
                        ostream = o.add_stream_from_template(istream)
                        ostream.time_base = tb
                    packets = [pk for pk in inp.demux(istream) if pk.dts is not None]
                    if len(packets) != len(stamps):
                        raise RuntimeError(f"{seg}: {len(packets)} packets for "
                                           f"{len(stamps)} frames")
                    for packet, pts in zip(packets, stamps):   # no B-frames: one per frame
                        packet.stream = ostream
                        packet.time_base = tb
                        packet.pts = packet.dts = pts
                        o.mux(packet)
    return Path(out)
