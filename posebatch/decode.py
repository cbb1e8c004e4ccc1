"""Video decoding by exact frame ranges, with each frame's time from the container.

A first pass reads the container's packets (decoding only the first few frames) and lists the video frames'
presentation timestamps in order: frame i is the i-th smallest pts. A chunk [start, end) then
seeks to the keyframe at or before frame start's pts and decodes forward, keeping the frames
whose pts fall in the chunk, so the chunks concatenated equal a sequential decode. When a file's
timestamps do not allow that (missing pts, a seek that lands past the target), the chunk is
decoded from the start of the file instead and the fallback is recorded.

PyAV (FFmpeg) is used rather than OpenCV's VideoCapture because it exposes pts, keyframes and
seeking explicitly; OpenCV's frame-number seeking is not exact for all codecs.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import VideoError

log = logging.getLogger(__name__)
_ORDER_CHECK_FRAMES = 48


@dataclass(frozen=True)
class VideoIndex:
    """What the packet pass found: one entry per video frame, in presentation order."""

    path: str
    pts: np.ndarray            # (n,) int64 presentation timestamps, sorted
    time_base: float           # seconds per pts unit
    container_frames: int      # the frame count the container header claims (0: unknown)
    fps: float                 # average frame rate from the container
    width: int
    height: int
    codec: str
    rotation: int              # degrees counterclockwise, from the display matrix (FFmpeg's sign)
    keyframes: np.ndarray      # (k,) int64 pts of keyframes, sorted
    seekable: bool             # False: packet timestamps cannot place decoded frames exactly

    @property
    def frames(self) -> int:
        return int(self.pts.shape[0])

    @property
    def turn(self) -> int:
        """Degrees clockwise a stored frame is turned to be shown upright (0, 90, 180, 270)."""
        return (-self.rotation) % 360

    @property
    def display_size(self) -> tuple[int, int]:
        """(width, height) of the upright frames the pose stages see."""
        return (self.height, self.width) if self.turn in (90, 270) else (self.width, self.height)

    def times(self) -> np.ndarray:
        """(n,) seconds of each frame from the container's timestamps (correct for VFR)."""
        return self.pts.astype(np.float64) * self.time_base


@dataclass(frozen=True)
class Frame:
    index: int
    pts: int
    time: float
    image: np.ndarray          # (h, w, 3) uint8 BGR
    corrupt: bool = False      # the decoder reported damage in its data (and concealed it)


def _decoded(container, stream) -> Iterator[tuple[object, bool]]:
    """Each decoded frame with whether it is damaged. FFmpeg conceals damaged picture data
    (the frame looks whole) and only says so in its log ("error while decoding MB ...") or,
    for some codecs, in the frame's corrupt flag. PyAV counts the log's errors; the count is
    read around each packet's decoding (synchronous with slice threading, PyAV's default),
    and a packet that raised it marks its picture (by timestamp), whenever the decoder hands
    that picture out."""
    import av.logging

    _count_decoder_errors()
    damaged: set[int] = set()
    for packet in container.demux(stream):
        before = av.logging.get_last_error()[0]
        frames = packet.decode()
        if av.logging.get_last_error()[0] > before and packet.pts is not None:
            damaged.add(packet.pts)
        for f in frames:
            yield f, bool(f.is_corrupt) or (f.pts is not None and f.pts in damaged)


def _count_decoder_errors() -> None:
    """Have PyAV see FFmpeg's errors (it ignores FFmpeg's log by default) without printing
    them: they are recorded per frame instead (``Frame.corrupt``)."""
    import logging

    import av.logging

    level = av.logging.get_level()
    if level is None or level < av.logging.ERROR:
        av.logging.set_level(av.logging.ERROR)
        logging.getLogger("libav").setLevel(logging.CRITICAL)


def _open(path: Path):
    import av

    path = Path(path)
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: empty file (0 bytes)")
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(f"{path}: not a readable video ({exc})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: contains no video stream")
    return container


def index_video(path: Path) -> VideoIndex:
    """Demux every packet of the first video stream; only the first frames are decoded, to
    check the decoder's output order and read the display rotation."""
    import av

    with _open(path) as container:
        stream = container.streams.video[0]
        pts, keys, reordered, missing = [], [], False, 0
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # flush packet
                if packet.pts is None:
                    missing += 1
                    continue
                pts.append(packet.pts)
                reordered |= packet.dts is not None and packet.pts != packet.dts
                if packet.is_keyframe:
                    keys.append(packet.pts)
        except av.error.FFmpegError as exc:
            log.warning("%s: demuxing stopped early: %s", path, exc)
        ctx = stream.codec_context
        # B-frames whose packets carry no separate pts (AVI, packed bitstreams) are reordered
        # by the decoder with new timestamps: packet pts cannot say which frame is which.
        seekable = (not missing and len(set(pts)) == len(pts)
                    and (reordered or not ctx.has_b_frames))
        rotation = 0
        sorted_pts = np.sort(np.asarray(pts, np.int64))
        try:
            # Decode the first frames (no colour conversion) to check that the decoder's
            # output order is the packets' pts order; read the display rotation on the way.
            container.seek(0)
            for i, f in enumerate(container.decode(stream)):
                if i == 0:
                    rotation = int(getattr(f, "rotation", 0) or 0)
                if i >= len(sorted_pts) or f.pts != sorted_pts[i]:
                    seekable = False
                    break
                if i >= _ORDER_CHECK_FRAMES:
                    break
        except av.error.FFmpegError:
            seekable = False
        return VideoIndex(
            path=str(path), pts=sorted_pts,
            time_base=float(stream.time_base) if stream.time_base else 0.0,
            container_frames=int(stream.frames or 0),
            fps=float(stream.average_rate) if stream.average_rate else 0.0,
            width=int(ctx.width), height=int(ctx.height), codec=str(ctx.name),
            rotation=rotation, keyframes=np.sort(np.asarray(keys, np.int64)),
            seekable=seekable,
        )


def frame_hash(image: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(image).tobytes(), digest_size=16).hexdigest()


def decode_sequential(path: Path) -> Iterator[Frame]:
    """Every frame from the start, in presentation order (the reference for chunked decoding)."""
    with _open(path) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base or 0)
        for i, (f, corrupt) in enumerate(_decoded(container, stream)):
            yield Frame(i, int(f.pts if f.pts is not None else -1),
                        float(f.pts * tb) if f.pts is not None else float("nan"),
                        f.to_ndarray(format="bgr24"), corrupt)


@dataclass
class ChunkOutcome:
    """How a chunk was decoded: ``seek`` exact, or ``from_start`` after a fallback."""

    method: str = "seek"
    note: str = ""


def decode_range(index: VideoIndex, start: int, end: int,
                 outcome: ChunkOutcome | None = None) -> Iterator[Frame]:
    """Frames start..end-1 (presentation order) of the indexed video."""
    if not 0 <= start <= end <= index.frames:
        raise ValueError(f"frame range [{start}, {end}) outside [0, {index.frames})")
    if start == end:
        return
    outcome = outcome or ChunkOutcome()
    wanted = index.pts[start:end]
    if not index.seekable:
        outcome.method, outcome.note = "from_start", "timestamps do not identify frames"
        yield from _from_start(index, start, end)
        return
    with _open(Path(index.path)) as container:
        stream = container.streams.video[0]
        seek_to = index.keyframes[index.keyframes <= wanted[0]]
        if start > 0 and seek_to.size:
            container.seek(int(seek_to[-1]), stream=stream, backward=True, any_frame=False)
        frames = _decoded(container, stream)
        first = True
        k = 0
        last = None
        for f, corrupt in frames:
            if f.pts is None:
                outcome.method, outcome.note = "from_start", "decoded frames carry no pts"
                break
            if first and f.pts > wanted[0] and start > 0:
                outcome.method = "from_start"
                outcome.note = f"seek landed at pts {f.pts}, after the first wanted {wanted[0]}"
                break
            if last is not None and f.pts <= last:
                raise VideoError(f"{index.path}: decoded timestamps go backwards ({last} then "
                                 f"{f.pts}) although the packets looked ordered")
            first, last = False, f.pts
            if f.pts < wanted[0]:
                continue
            while k < len(wanted) and wanted[k] < f.pts:
                k += 1  # a frame the packet list had but the decoder never produced
            if k >= len(wanted):
                return
            if f.pts == wanted[k]:
                yield Frame(start + k, int(f.pts), float(f.pts * index.time_base),
                            f.to_ndarray(format="bgr24"), corrupt)
                k += 1
                if k == len(wanted):
                    return
        else:
            return
    log.info("%s [%d, %d): %s; decoding from the start", index.path, start, end, outcome.note)
    yield from _from_start(index, start, end)


def _from_start(index: VideoIndex, start: int, end: int) -> Iterator[Frame]:
    """Fallback: count frames from the start of the file."""
    for fr in decode_sequential(Path(index.path)):
        if fr.index >= end:
            return
        if fr.index >= start:
            yield fr


class RangeDecoder:
    """Decodes range after range for one worker. A range that starts at the frame the previous
    one (same video) ended on continues the open decoder, so chunks handed to a worker in
    order are decoded once, without seeking back to a keyframe and decoding the frames before
    the chunk again. Anything else (another video, a jump, an error, a range left early)
    seeks afresh: results never depend on what the worker decoded before."""

    def __init__(self) -> None:
        self._path: str | None = None
        self._frames: Iterator[Frame] | None = None
        self._last: Frame | None = None      # the last frame handed out
        self._ahead: Frame | None = None     # decoded past the last range's end

    def range(self, index: VideoIndex, start: int, end: int,
              outcome: ChunkOutcome | None = None) -> Iterator[Frame]:
        """:func:`decode_range` (frames start..end-1, the same frames)."""
        if not 0 <= start <= end <= index.frames:
            raise ValueError(f"frame range [{start}, {end}) outside [0, {index.frames})")
        resume = (self._frames is not None and self._path == str(index.path)
                  and self._last is not None and self._last.index == start)
        try:
            if resume:
                if start < end:
                    yield self._last
            else:
                self.close()
                self._path = str(index.path)
                self._frames = decode_range(index, start, index.frames, outcome)
            while self._last is None or self._last.index < end - 1:
                fr, self._ahead = self._ahead, None
                if fr is None:
                    fr = next(self._frames, None)
                if fr is None:           # the video's end: nothing to continue
                    self.close()
                    return
                if fr.index >= end:
                    self._ahead = fr
                    return
                self._last = fr
                yield fr
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._frames is not None:
            close = getattr(self._frames, "close", None)
            if close is not None:
                close()
        self._frames = self._last = self._ahead = None


def upright(image: np.ndarray, turn: int) -> np.ndarray:
    """The frame as a player shows it: phones store portrait video landscape with a display
    matrix, and the network only finds people standing up. ``turn``: VideoIndex.turn."""
    import cv2

    if turn == 0:
        return image
    codes = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180,
             270: cv2.ROTATE_90_COUNTERCLOCKWISE}
    if turn not in codes:
        log.warning("display rotation of %d degrees is not a right angle; frames are used as "
                    "stored", turn)
        return image
    return cv2.rotate(image, codes[turn])


def chunk_ranges(n_frames: int, chunk: int) -> list[tuple[int, int]]:
    if chunk < 1:
        raise ValueError(f"chunk length must be at least 1 frame, got {chunk}")
    return [(s, min(s + chunk, n_frames)) for s in range(0, n_frames, chunk)]


# --- repeated frames -------------------------------------------------------------------------
# A recording made at a lower frame rate and converted to a higher one repeats pictures
# (every other frame of a 12.5 fps recording stored at 25 fps, say): the keypoints then move
# in steps, and a gait analysis would read the repeats as a person standing still. A frame is
# a repeat when no part of the picture changed by more than REPEAT_LEVELS grey levels (0-255)
# at the 99.5th percentile of the per-pixel difference, on grey images shrunk 8 times.
# Measured (benchmarks in the README): re-encoded duplicates differ by at most 2 levels, frames
# with a moving person by at least 7; a still scene is a repeat too, which changes nothing.
REPEAT_LEVELS = 3.0
_SIGNATURE_SHRINK = 8


def picture_signature(image: np.ndarray) -> np.ndarray:
    """A small grey copy of a BGR frame, all that is kept to compare it with the next."""
    import cv2

    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    h, w = grey.shape
    k = _SIGNATURE_SHRINK
    if h < k or w < k:
        return grey
    # whole blocks only: OpenCV averages k x k blocks on its fast path (half the time of a
    # fractional shrink); the few rows and columns past the last block are not compared
    return cv2.resize(grey[: h - h % k, : w - w % k], (w // k, h // k),
                      interpolation=cv2.INTER_AREA)


def picture_change(before: np.ndarray, after: np.ndarray) -> float:
    """How much the picture changed between two signatures: the 99.5th percentile of the
    absolute per-pixel difference, in grey levels (a moving person shows; coding noise and a
    few flickering pixels do not)."""
    diff = np.abs(after.astype(np.int16) - before.astype(np.int16))
    return float(np.percentile(diff, 99.5))


# --- trimming: which frames of a video a job analyses ------------------------------------------
# A position in a video is given in seconds on the video's own clock (the frames' ``time``,
# from the container's timestamps) or as a frame number (the ``frame`` column, 0-based):
# ``12.5``, ``12.5s``, ``1:02.5`` (minutes:seconds) or ``300f``.
POSITION_FORMS = "seconds (12.5 or 12.5s), minutes:seconds (1:02.5) or a frame number (300f)"


def parse_position(value: object, name: str = "position") -> str:
    """``value`` (a number of seconds, or text in one of POSITION_FORMS) as its canonical
    text, ``12.5s`` or ``300f``; a ValueError naming ``name`` and the accepted forms."""
    def bad() -> ValueError:
        return ValueError(f"{name} must be {POSITION_FORMS}, got {value!r}")

    if isinstance(value, bool):
        raise bad()
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if text.endswith("f"):
            digits = text[:-1].strip()
            if not digits.isdigit():
                raise bad()
            return f"{int(digits)}f"
        text = text[:-1].strip() if text.endswith("s") else text
        parts = text.split(":")
        try:
            seconds = float(parts[-1])
        except ValueError:
            raise bad() from None
        if len(parts) > 3 or len(parts) > 1 and not 0 <= seconds < 60:
            raise bad()
        for i, m in enumerate(reversed(parts[:-1])):
            if not m.isdigit():
                raise bad()
            seconds += int(m) * 60 ** (i + 1)
    else:
        raise bad()
    if seconds != seconds or seconds in (float("inf"), float("-inf")) or seconds < 0:
        raise bad()
    return f"{seconds!r}s"


def position_frame(position: str, times: np.ndarray) -> int:
    """The index of the first frame at or after ``position`` (canonical text,
    :func:`parse_position`) among frames at ``times`` (sorted seconds); len(times) past the
    end."""
    if position.endswith("f"):
        return min(int(position[:-1]), len(times))
    return int(np.searchsorted(times, float(position[:-1]) - 1e-9, side="left"))


@dataclass(frozen=True)
class FrameRange:
    """The frames of a video a job analyses: ``first``, ``first + every``, ... before ``end``
    (exclusive). ``to_end``: the range runs to the video's end (no end given, or one past
    it), so frames the container lists but does not hold are accounted for too."""

    first: int
    end: int
    every: int = 1
    to_end: bool = True

    @property
    def count(self) -> int:
        return len(range(self.first, self.end, self.every))

    def frames(self) -> np.ndarray:
        return np.arange(self.first, self.end, self.every, dtype=np.int64)

    def chunks(self, chunk: int) -> list[tuple[int, int]]:
        """The range cut into tasks of at most ``chunk`` analysed frames, on a grid of
        ``chunk * every`` frames from frame 0 (so a range that grows keeps its inner chunks):
        (first frame, last frame + 1) of each; with every > 1 a chunk holds its first frame
        and every ``every``-th after it."""
        if chunk < 1:
            raise ValueError(f"chunk length must be at least 1 frame, got {chunk}")
        frames = self.frames()
        if not len(frames):
            return []
        cell = frames // (chunk * self.every)
        cuts = np.flatnonzero(np.diff(cell)) + 1
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [len(frames)]]) - 1
        return [(int(frames[s]), int(frames[e]) + 1) for s, e in zip(starts, ends)]


def frame_range(index: VideoIndex, start: str | None = None, end: str | None = None,
                every: int = 1) -> FrameRange:
    """The frames of ``index``'s video from ``start`` up to (not including) ``end``
    (canonical positions; None: the video's first frame, its end), every ``every``-th."""
    times = index.times()
    first = position_frame(start, times) if start is not None else 0
    stop = position_frame(end, times) if end is not None else index.frames
    to_end = end is None or (end.endswith("f") and int(end[:-1]) >= index.container_frames
                             and int(end[:-1]) >= index.frames)
    return FrameRange(first, max(first, stop), every, to_end)
