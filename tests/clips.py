"""Short test videos made on the spot from real frames (the demo video), with PyAV."""
from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np

from posebatch.decode import decode_sequential


def demo_frames(video: Path, n: int, size: tuple[int, int] = (640, 360)) -> list[np.ndarray]:
    """The first ``n`` frames of ``video`` resized to ``size`` (w, h), BGR."""
    out = []
    for f in decode_sequential(video):
        if f.index >= n:
            break
        out.append(cv2.resize(f.image, size, interpolation=cv2.INTER_AREA))
    return out


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 30, codec: str = "libx264",
               options: dict | None = None, container_options: dict | None = None) -> Path:
    """Encode ``frames`` at ``fps``. x264 runs single-threaded unless ``options`` say
    otherwise: its sliced threads made the same frames into different bytes under load (the
    hostile-file test's bit flips then landed elsewhere), and a test input must be the same
    file every time."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", options=container_options or {}) as c:
        s = c.add_stream(codec, rate=fps)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        s.options = {**({"threads": "1"} if codec == "libx264" else {}), **(options or {})}
        for img in frames:
            for pkt in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return path


def cut(src: Path, dst: Path, fraction: float = 0.5) -> Path:
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)


def set_display_rotation(path: Path, clockwise_degrees: int) -> Path:
    """Write an MP4 track header's display matrix as a phone does for a video to be shown
    rotated ``clockwise_degrees`` (90, 180, 270); FFmpeg's muxer no longer writes one."""
    data = bytearray(Path(path).read_bytes())
    i = data.find(b"tkhd")
    assert i > 0, "no tkhd box"
    version = data[i + 4]
    matrix_at = i + 4 + 4 + (32 if version == 1 else 20) + 8 + 2 + 2 + 2 + 2
    one, minus_one = 0x00010000, 0xFFFF0000
    ab_cd = {90: (0, one, minus_one, 0), 180: (minus_one, 0, 0, minus_one),
             270: (0, minus_one, one, 0)}[clockwise_degrees]
    values = [*ab_cd[:2], 0, *ab_cd[2:], 0, 0, 0, 0x40000000]
    data[matrix_at:matrix_at + 36] = b"".join(v.to_bytes(4, "big") for v in values)
    Path(path).write_bytes(bytes(data))
    return Path(path)
