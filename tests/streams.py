"""A real stream on loopback for the live tests: frames encoded with H.264 in MPEG-TS and sent
over UDP to 127.0.0.1 at their own pace, as a camera or an encoder on the network would."""
from __future__ import annotations

import socket
import threading
import time

import numpy as np


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UdpSender(threading.Thread):
    """Send ``frames`` (BGR, all one size) to udp://127.0.0.1:port at ``fps``, ``loops`` times
    over, starting after ``delay`` s (so the receiver is listening)."""

    def __init__(self, port: int, frames: list[np.ndarray], fps: int = 30, loops: int = 1,
                 delay: float = 1.0, gop: int = 10):
        super().__init__(daemon=True)
        self.port, self.frames, self.fps, self.loops = port, frames, fps, loops
        self.delay, self.gop = delay, gop
        self.sent = 0
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    def run(self) -> None:
        import av

        try:
            self._halt.wait(self.delay)
            h, w = self.frames[0].shape[:2]
            with av.open(f"udp://127.0.0.1:{self.port}?pkt_size=1316", "w",
                         format="mpegts") as out:
                s = out.add_stream("libx264", rate=self.fps)
                s.width, s.height, s.pix_fmt = w, h, "yuv420p"
                s.options = {"g": str(self.gop), "tune": "zerolatency", "preset": "ultrafast"}
                t0 = time.monotonic()
                for i in range(len(self.frames) * self.loops):
                    if self._halt.is_set():
                        break
                    wait = t0 + i / self.fps - time.monotonic()
                    if wait > 0:
                        time.sleep(wait)
                    f = av.VideoFrame.from_ndarray(self.frames[i % len(self.frames)],
                                                   format="bgr24")
                    f.pts = i
                    for p in s.encode(f):
                        out.mux(p)
                    self.sent += 1
                for p in s.encode():
                    out.mux(p)
        except BaseException as exc:  # reported by the test
            self.error = exc
