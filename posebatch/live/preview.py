"""Seeing a live session: each estimated frame with its skeletons and the frames/s, in an
OpenCV window when there is a display, or on a local web page (MJPEG, 127.0.0.1 only)."""
from __future__ import annotations

import html
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np

from ..errors import ConfigError
from ..render.draw import caption, draw_people

MAX_WIDTH = 960          # preview pictures are scaled down to this width


def annotate(image: np.ndarray, keypoints: np.ndarray | None, layout, lines: list[str]
             ) -> np.ndarray:
    """The frame scaled to at most MAX_WIDTH with its people drawn and ``lines`` on top."""
    scale = min(1.0, MAX_WIDTH / image.shape[1])
    if scale < 1.0:
        image = cv2.resize(image, (round(image.shape[1] * scale), round(image.shape[0] * scale)),
                           interpolation=cv2.INTER_AREA)
    if keypoints is not None and len(keypoints):
        kp = keypoints.copy()
        kp[..., :2] *= scale
        image = draw_people(image, kp, layout)
    return caption(image, lines)


class WebPreview:
    """``http://127.0.0.1:PORT/``: a page showing ``/stream.mjpg`` (the newest annotated frame
    as motion JPEG) and ``/stats.json``; ``/frame.jpg`` is the newest frame alone."""

    def __init__(self, port: int, title: str):
        self._cond = threading.Condition()
        self._jpeg: bytes | None = None
        self._seq = 0
        self._stats: dict = {}
        self._closed = False
        preview = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):      # no request log on the terminal
                pass

            def do_GET(self):
                if self.path in ("/", "/index.html"):
                    body = _PAGE.replace("TITLE", html.escape(title)).encode()
                    self._send(200, "text/html; charset=utf-8", body)
                elif self.path == "/frame.jpg":
                    jpeg = preview.wait_frame(-1, 5.0)[1]
                    if jpeg is None:
                        self._send(503, "text/plain", b"no frame yet")
                    else:
                        self._send(200, "image/jpeg", jpeg)
                elif self.path == "/stats.json":
                    self._send(200, "application/json", json.dumps(preview._stats).encode())
                elif self.path == "/stream.mjpg":
                    self.send_response(200)
                    self.send_header("Content-Type",
                                     "multipart/x-mixed-replace; boundary=frame")
                    self.send_header("Cache-Control", "no-store")
                    self.end_headers()
                    seq = -1
                    try:
                        while not preview._closed:
                            seq, jpeg = preview.wait_frame(seq, 1.0)
                            if jpeg is None:
                                continue
                            self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n"
                                             + f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                                             + jpeg + b"\r\n")
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                else:
                    self._send(404, "text/plain", b"not found")

            def _send(self, code: int, kind: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        try:
            self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        except OSError as exc:
            raise ConfigError(f"cannot serve the preview on 127.0.0.1:{port}: {exc}; choose "
                              "another --port") from None
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True,
                                        name="posebatch-preview")
        self._thread.start()

    def wait_frame(self, seen: int, timeout: float) -> tuple[int, bytes | None]:
        """The newest JPEG once it is newer than ``seen`` (or None after ``timeout``)."""
        with self._cond:
            if self._seq <= seen or self._jpeg is None:
                self._cond.wait(timeout)
            if self._seq <= seen:
                return seen, None
            return self._seq, self._jpeg

    def show(self, image: np.ndarray, stats: dict) -> None:
        ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 80])
        if not ok:
            return
        with self._cond:
            self._jpeg = buf.tobytes()
            self._seq += 1
            self._stats = stats
            self._cond.notify_all()

    def close(self) -> None:
        self._closed = True
        with self._cond:
            self._cond.notify_all()
        self.server.shutdown()
        self.server.server_close()


class WindowPreview:
    """An OpenCV window (``q`` or Esc in it ends the session)."""

    def __init__(self, title: str):
        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL)
        except cv2.error:
            raise ConfigError("this OpenCV cannot open windows (opencv-python-headless, or no "
                              "display): use --preview web and open the page it prints") from None
        self.quit = False

    def show(self, image: np.ndarray, stats: dict) -> None:
        cv2.imshow(self.title, image)
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            self.quit = True

    def close(self) -> None:
        cv2.destroyWindow(self.title)


_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>posebatch live: TITLE</title>
<style>body{background:#111;color:#eee;font:15px system-ui,sans-serif;margin:16px}
img{max-width:100%;border:1px solid #444}#s{margin:8px 0;font-variant-numeric:tabular-nums}
</style></head><body>
<h1 style="font-size:18px">posebatch live: TITLE</h1>
<div id="s">waiting for frames...</div>
<img src="/stream.mjpg" alt="the newest frame with its skeletons">
<script>
async function poll(){try{const r=await fetch('/stats.json');const s=await r.json();
if(s.received!==undefined){document.getElementById('s').textContent=
`${s.processed_fps} frames/s estimated, ${s.received} received, ${s.skipped} skipped, `+
`latency ${s.latency_ms.median} ms (median)`;}}catch(e){}setTimeout(poll,1000);}poll();
</script></body></html>
"""
