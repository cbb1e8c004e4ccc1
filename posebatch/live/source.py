"""Live sources: a camera (V4L2 device), a stream address (rtsp, http, udp, srt, ...: whatever
FFmpeg opens) or a file played at its own speed, read by a thread that keeps only the newest
decoded picture. Whoever is slower than the source takes the newest frame and learns which
frames it never saw (their numbers and times), so they can be recorded as skipped rather than
silently lost. A stream that drops out is reopened with growing pauses and each outage is
reported; a source that never opens is an error that says what was tried.
"""
from __future__ import annotations

import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import PosebatchError

_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_RETRY = 2.0      # s: each attempt to open a stream that is not there yet, while waiting


class SourceError(PosebatchError):
    """The live source could not be opened (or reopened)."""


@dataclass(frozen=True)
class SourceSpec:
    """What to open: ``url`` for FFmpeg, its ``format`` (v4l2 for cameras, else probed),
    whether it is a ``file`` (played once, paced at its own speed with ``realtime``) and a
    name for the tables."""

    url: str
    name: str
    format: str | None = None
    file: bool = False
    realtime: bool = False


def parse_source(source: str, realtime: bool = False) -> SourceSpec:
    """A camera index (``0`` -> /dev/video0), a device path, a URL, or a video file."""
    if source.isdigit():
        return SourceSpec(f"/dev/video{source}", f"camera{source}", format="v4l2")
    if source.startswith("/dev/video"):
        return SourceSpec(source, Path(source).name, format="v4l2")
    if _URL.match(source):
        name = re.sub(r"[^\w.-]+", "_", source.split("://", 1)[1]).strip("_")
        return SourceSpec(source, name or source)
    p = Path(source).expanduser()
    if not p.exists():
        raise SourceError(f"{source}: no such file, and not a camera index (0, 1, ...), a "
                          "device (/dev/videoN) or a stream address (rtsp://, udp://, ...)")
    return SourceSpec(str(p), p.name, file=True, realtime=realtime)


@dataclass(frozen=True)
class Captured:
    """One frame as it left the decoder: ``index`` counts every frame the source delivered
    in this session (gaps never occur: a frame the consumer did not take is skipped, not
    missing), ``time`` the source's own timestamp (s; None without one) and ``received``
    the moment it was decoded (time.monotonic()), from which latency is measured."""

    index: int
    time: float | None
    received: float
    image: np.ndarray | None = None
    pts: int | None = None


@dataclass
class Outage:
    """A stretch without frames: when it began and ended (monotonic s), and why."""

    start: float
    end: float | None
    error: str


@dataclass
class CaptureStats:
    received: int = 0
    opened: int = 0
    outages: list[Outage] = field(default_factory=list)


class Capture:
    """The reading thread. ``take(timeout)`` returns the newest frame not yet taken and the
    frames delivered since the previous one that were never taken (without their pictures);
    None once the source has ended (a file played out, or ``stop()``) and everything was
    taken. Streams that fail are reopened after 0.5, 1, 2, 4, ... (at most ``max_pause``) s."""

    def __init__(self, spec: SourceSpec, open_timeout: float = 10.0, max_pause: float = 8.0):
        self.spec = spec
        self.open_timeout = open_timeout
        self.max_pause = max_pause
        self.stats = CaptureStats()
        self.size: tuple[int, int] | None = None
        self.time_base = 1e-6          # of the source's timestamps (s per pts unit)
        self.codec = ""
        self._cond = threading.Condition()
        self._newest: Captured | None = None
        self._pending: deque[Captured] = deque()     # delivered, not taken (no pictures)
        self._stop = threading.Event()
        self._ended = False
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self._container = None

    # -- the consumer's side --------------------------------------------------------------
    def start(self, wait: float | None = 0.0, on_wait=None,
              stop: threading.Event | None = None) -> "Capture":
        """Open the source and start the reading thread. A stream address that cannot be
        opened yet is tried again (every ``_RETRY`` s) for ``wait`` seconds (None: until
        ``stop`` is set): receivers of UDP, SRT or RTP are started before their senders, as
        those protocols are used. ``on_wait(url)`` is called once when waiting begins. A
        file or camera that cannot be opened, or a stream still absent when the wait ends,
        is a SourceError."""
        deadline = None if wait is None else time.monotonic() + wait
        told = False
        while True:
            try:
                self._container = self._open(None if (self.spec.file or self.spec.format)
                                             else _RETRY if (wait is None or wait > 0)
                                             else None)
                break
            except SourceError as exc:
                left = None if deadline is None else deadline - time.monotonic()
                if self.spec.file or self.spec.format or (left is not None and left <= 0):
                    if told:
                        raise SourceError(f"{self.spec.url} did not start within "
                                          f"{wait:g} s of waiting (--wait). Check the "
                                          "address and that the sender is running.") from None
                    raise exc
                if stop is not None and stop.is_set():
                    raise SourceError(f"stopped while waiting for {self.spec.url} to start; "
                                      "nothing was received") from None
                if not told and on_wait is not None:
                    on_wait(self.spec.url)
                told = True
                if stop is not None:
                    stop.wait(0.05)
        self._thread = threading.Thread(target=self._run, name="posebatch-capture",
                                        daemon=True)
        self._thread.start()
        return self

    def take(self, timeout: float | None = None) -> tuple[Captured | None, list[Captured]]:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while self._newest is None and not self._ended:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None, self._drain()
                self._cond.wait(left)
            newest, self._newest = self._newest, None
            skipped = self._drain()
        if newest is None and self._error is not None:
            raise SourceError(f"{self.spec.url}: {self._error}")
        return newest, skipped

    @property
    def ended(self) -> bool:
        with self._cond:
            return self._ended and self._newest is None

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.open_timeout + 5)
        self._close()
        with self._cond:
            self._ended = True
            self._cond.notify_all()

    def _drain(self) -> list[Captured]:
        out = list(self._pending)
        self._pending.clear()
        return out

    # -- the reading thread -----------------------------------------------------------------
    def _open(self, timeout: float | None = None):
        import av

        timeout = self.open_timeout if timeout is None else timeout
        options = {}
        if self.spec.url.startswith("udp://"):
            options.update(overrun_nonfatal="1", fifo_size="100000")
        if self.spec.url.startswith("rtsp://"):
            options["rtsp_transport"] = "tcp"
        try:
            c = av.open(self.spec.url, format=self.spec.format, options=options,
                        timeout=(timeout, timeout))
        except Exception as exc:   # FFmpeg's errors: not found, refused, timed out, ...
            raise SourceError(f"cannot open {self.spec.url}: {exc}. Check the camera index, "
                              "the address and that the stream is running.") from None
        if not c.streams.video:
            c.close()
            raise SourceError(f"{self.spec.url} has no video stream")
        s = c.streams.video[0]
        self.time_base = float(s.time_base) if s.time_base else 1e-6
        self.codec = s.codec_context.name
        self.stats.opened += 1
        return c

    def _close(self) -> None:
        c, self._container = self._container, None
        if c is not None:
            try:
                c.close()
            except Exception:
                pass

    def _deliver(self, frame, stream, t0: float | None) -> float | None:
        image = frame.to_ndarray(format="bgr24")
        self.size = (image.shape[1], image.shape[0])
        t = None if frame.pts is None else float(frame.pts * stream.time_base)
        if self.spec.realtime and t is not None:      # a file at its own speed
            if t0 is None:
                t0 = time.monotonic() - t
            wait = t0 + t - time.monotonic()
            if wait > 0:
                self._stop.wait(wait)
        got = Captured(self.stats.received, t, time.monotonic(), image, frame.pts)
        self.stats.received += 1
        with self._cond:
            if self._newest is not None:       # never taken: skipped, kept without picture
                old = self._newest
                self._pending.append(Captured(old.index, old.time, old.received, None,
                                              old.pts))
            self._newest = got
            self._cond.notify_all()
        return t0

    def _run(self) -> None:
        pause = 0.5
        t0 = None
        try:
            while not self._stop.is_set():
                if self._container is None:
                    try:
                        self._container = self._open()
                        self.stats.outages[-1].end = time.monotonic()
                        pause = 0.5
                    except SourceError as exc:
                        self.stats.outages[-1].error = str(exc)
                        self._stop.wait(pause)
                        pause = min(pause * 2, self.max_pause)
                        continue
                stream = self._container.streams.video[0]
                # frame threading holds frames back (a few frames of latency); slices do not
                stream.thread_type = "AUTO" if self.spec.file else "SLICE"
                try:
                    for frame in self._container.decode(stream):
                        t0 = self._deliver(frame, stream, t0)
                        if self._stop.is_set():
                            break
                    else:
                        if self.spec.file:
                            break                    # played out
                        raise EOFError("the stream ended")
                except Exception as exc:             # a network error, a broken stream
                    if self.spec.file or self._stop.is_set():
                        if not self._stop.is_set():
                            self._error = exc
                        break
                    self.stats.outages.append(Outage(time.monotonic(), None, str(exc)))
                    self._close()
                    self._stop.wait(pause)
                    pause = min(pause * 2, self.max_pause)
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()
