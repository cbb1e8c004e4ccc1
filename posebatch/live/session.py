"""A live session: frames from a camera or stream through the same pose stages as a job, into
the same tables, published every few seconds.

The newest frame always wins: while the network works on one frame the source delivers more,
and those it never sees are rows with status ``skipped`` (their number and time), so every
frame the source delivered is accounted for. Every ``chunk_seconds`` the rows so far become a
chunk in the store (a crash loses at most one chunk) and the session's tables are rewritten
from all its chunks, tracked, each file atomically, with the videos index and the manifest:
``tables.load(OUT)`` reads a running session as it reads a finished job.
"""
from __future__ import annotations

import dataclasses
import logging
import signal
import statistics
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path

import numpy as np

from ..engine.config import PoseConfig, RuntimeConfig, TrackConfig
from ..decode import VideoIndex
from ..errors import ConfigError
from ..runner.spec import params_key, track_key
from ..engine.quality import describe
from ..storage.store import Store, output_lock, video_stamp
from ..storage.schemas import CHUNK_SCHEMA_VERSION
from .source import Capture, Captured, parse_source

log = logging.getLogger(__name__)


class Preview(str, Enum):
    """``window``: an OpenCV window (needs a display and an OpenCV built with a GUI);
    ``web``: a page on http://127.0.0.1:PORT/ with the drawn frames as MJPEG; ``none``."""

    WINDOW = "window"
    WEB = "web"
    NONE = "none"


@dataclass(frozen=True)
class LiveOptions:
    duration: float | None = None     # s; None: until Ctrl-C, SIGTERM or the source ends
    chunk_seconds: float = 5.0
    realtime: bool = False            # a file played at its own speed
    preview: Preview = Preview.NONE
    port: int = 8765
    open_timeout: float = 10.0
    # s to wait for a stream that is not there yet (inf: until stopped); None: the source's
    # default, which is until --duration, Ctrl-C or SIGTERM for streams that are received
    # by listening (udp, rtp, srt) and not at all for the others
    wait: float | None = None

    def __post_init__(self) -> None:
        if self.duration is not None and not self.duration > 0:
            raise ConfigError(f"--duration must be more than 0 seconds, got {self.duration}")
        if not self.chunk_seconds > 0:
            raise ConfigError(f"chunk seconds must be more than 0, got {self.chunk_seconds}")
        if self.wait is not None and not self.wait >= 0:
            raise ConfigError(f"--wait must be 0 or more seconds, got {self.wait}")


@dataclass
class LiveStats:
    """What a session measured: frames delivered, estimated and skipped, the sustained rate
    of estimated frames, and latency from a frame leaving the decoder to its keypoints."""

    received: int = 0
    processed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    latency_ms: list[float] = field(default_factory=list)

    def summary(self) -> dict:
        lat = sorted(self.latency_ms)
        q = (lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))], 1)) if lat else (
            lambda p: None)
        return {"received": self.received, "processed": self.processed,
                "skipped": self.skipped,
                "skipped_share": round(self.skipped / self.received, 4) if self.received else 0,
                "seconds": round(self.seconds, 3),
                "processed_fps": round(self.processed / self.seconds, 2) if self.seconds else 0,
                "latency_ms": {"median": round(statistics.median(lat), 1) if lat else None,
                               "p95": q(0.95), "max": round(lat[-1], 1) if lat else None}}


@dataclass
class LiveReport:
    out: Path
    name: str
    stats: LiveStats
    chunks: int
    outages: list[dict]
    settings: str
    ended: str


class _Session:
    """The rows so far, the chunks written, and publishing them as tables."""

    def __init__(self, out: Path, name: str, url: str, config: PoseConfig, track: TrackConfig,
                 model_sha: str, layout, manifest: dict):
        self.out, self.name, self.url = out, name, url
        self.layout, self.track = layout, track
        self.store = Store(out, params_key(model_sha, config, CHUNK_SCHEMA_VERSION))
        self.key = "live-" + datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        self.tkey = track_key(track)
        self.rows: list[dict] = []
        self.chunks: list[tuple[int, int]] = []
        self.pts: list[int] = []
        self.next_frame = 0
        self.time_base = 1e-6
        self.size = (0, 0)
        self.codec = ""
        self.manifest = manifest
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="posebatch-publish")
        self._publishing: Future | None = None

    def add(self, rec: dict) -> None:
        assert rec["frame"] == self.next_frame, (rec["frame"], self.next_frame)
        self.rows.append(rec)
        self.pts.append(rec["pts"])
        self.next_frame += 1

    def flush(self, stats: LiveStats, state: str, wait: bool = False) -> None:
        """The rows since the last flush as a chunk, then every table rewritten: in the
        background while the session runs (a publication still going is not waited for; the
        next one covers its chunks), here when ``wait``."""
        from ..storage.schemas import frame_tables

        if self.rows:
            start, end = self.rows[0]["frame"], self.rows[-1]["frame"] + 1
            self.store.write_chunk(self.key, start, end, frame_tables(self.rows, self.layout),
                                   0.0, "live")
            self.chunks.append((start, end))
            self.rows = []
        snapshot = (list(self.chunks), list(self.pts), dataclasses.replace(
            stats, latency_ms=list(stats.latency_ms)), state)
        if self._publishing is not None:
            if not wait and not self._publishing.done():
                return
            self._publishing.result()          # its error, if any, is the session's
        if wait:
            self.publish(*snapshot)
        else:
            self._publishing = self._pool.submit(self.publish, *snapshot)

    def index(self, fps: float, pts: list[int]) -> VideoIndex:
        return VideoIndex(path=self.url, pts=np.asarray(pts, np.int64),
                          time_base=self.time_base, container_frames=0, fps=fps,
                          width=self.size[0], height=self.size[1], codec=self.codec, rotation=0,
                          keyframes=np.zeros(0, np.int64), seekable=False)

    def publish(self, chunks: list[tuple[int, int]], pts: list[int], stats: LiveStats,
                state: str) -> None:
        """The session's tables from ``chunks`` (tracked), the index and the manifest."""
        from ..runner.finish import VideoWork, finish_video
        from ..runner.outcome import VideoState, video_row

        fps = stats.received / stats.seconds if stats.seconds else 0.0
        if chunks:
            idx = self.index(fps, pts[:chunks[-1][1]])
            stamp = video_stamp(0, self.name, self.key, self.store.params_key, self.tkey)
            counts = finish_video(self.out, self.store.params_key,
                                  VideoWork(0, self.name, self.key, chunks, idx, stamp),
                                  self.layout, self.track, {"live": True})
            st = VideoState(0, self.name, Path(self.url), index=idx, key=self.key,
                            chunks=chunks)
            row = video_row(st, counts)
            row.update(path=self.url, decode="live")
            self.store.write_videos([row], {"params": self.manifest["params"], "live": True})
        self.manifest.update(state=state, live=stats.summary(), chunks=chunks,
                             updated=datetime.now(timezone.utc).isoformat(timespec="seconds"))
        self.store.write_manifest(self.manifest)


_LISTENING = ("udp://", "rtp://", "srt://")


def wait_for(spec, options: LiveOptions) -> float | None:
    """How long to wait for the source to start (s; None: until stopped)."""
    if options.wait is not None:
        return None if options.wait == float("inf") else options.wait
    if spec.url.startswith(_LISTENING):
        return options.duration
    return 0.0


def run_live(source: str, out: Path, config: PoseConfig, track: TrackConfig = TrackConfig(),
             options: LiveOptions = LiveOptions(), runtime: RuntimeConfig = RuntimeConfig(),
             on_frame=None, on_wait=None) -> LiveReport:
    """Run a live session until ``options.duration`` passes, the source ends (a file), or
    Ctrl-C / SIGTERM; the tables are complete and the manifest says how it ended.
    ``on_frame(captured, result, stats)`` is called after each estimated frame (the preview);
    a true return ends the session; ``on_wait(url)`` when it begins to wait for a stream
    that is not there yet."""
    from ..engine.estimator import Estimator
    from ..models.fetch import ensure_model
    from ..storage.atomic import sha256_file
    from ..engine.layout import get_layout

    out = Path(out)
    spec = parse_source(source, options.realtime)
    model, model_path = ensure_model(config.model)
    layout = get_layout(model.layout)
    stop = threading.Event()
    ended = ["duration reached" if options.duration else "stopped"]

    def on_signal(signum, frame):
        ended[0] = f"stopped by {signal.Signals(signum).name}"
        stop.set()

    with ExitStack() as stack:
        stack.enter_context(output_lock(out))
        if (out / "manifest.json").exists():
            raise ConfigError(f"{out} already holds a job or a live session; give each "
                              "session its own --out folder")
        est = stack.enter_context(Estimator(model, config, runtime))
        est.estimate(np.zeros((config.net_height, config.net_width, 3), np.uint8))  # warm
        manifest = {"kind": "live", "source": spec.url, "name": spec.name,
                    "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    "params": {"source": source, "config": dataclasses.asdict(config),
                               "track": dataclasses.asdict(track),
                               "options": dataclasses.asdict(options)},
                    "model": {"name": model.name,
                              "sha256": model.sha256 or sha256_file(model_path)}}
        session = _Session(out, spec.name, spec.url, config, track,
                           manifest["model"]["sha256"], layout, manifest)
        stats = LiveStats()
        previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        if threading.current_thread() is threading.main_thread():
            for s in previous:
                signal.signal(s, on_signal)
            stack.callback(lambda: [signal.signal(s, h) for s, h in previous.items()])
        cap = Capture(spec, open_timeout=options.open_timeout).start(
            wait=wait_for(spec, options), on_wait=on_wait, stop=stop)
        stack.callback(cap.stop)
        session.time_base = cap.time_base
        session.codec = cap.codec
        t0 = time.monotonic()
        last_flush = t0
        session.flush(stats, "running", wait=True)
        try:
            while not stop.is_set():
                now = time.monotonic()
                if options.duration is not None and now - t0 >= options.duration:
                    break
                f, skipped = cap.take(timeout=0.2)
                for s in skipped:
                    session.add(_row(s, "skipped", None))
                    stats.skipped += 1
                if f is None and cap.ended:
                    ended[0] = "the source ended"
                    break
                if f is not None:
                    session.size = cap.size or session.size
                    try:
                        res = est.estimate(f.image)
                        rec = _row(f, "ok", res)
                    except Exception as exc:     # one bad frame must not end the session
                        rec = _row(f, "error", None, f"pose estimation failed: {exc}")
                        res = None
                    done = time.monotonic()
                    stats.latency_ms.append((done - f.received) * 1e3)
                    stats.processed += 1
                    session.add(rec)
                    if on_frame is not None and on_frame(f, res, stats):
                        ended[0] = "stopped from the preview"
                        break
                stats.received = session.next_frame
                stats.seconds = time.monotonic() - t0
                if time.monotonic() - last_flush >= options.chunk_seconds:
                    session.flush(stats, "running")
                    last_flush = time.monotonic()
        finally:
            cap.stop()
            f, skipped = cap.take(timeout=0)     # what arrived after the last frame taken
            for s in skipped + ([f] if f is not None else []):
                session.add(_row(s, "skipped", None))
                stats.skipped += 1
            stats.received = session.next_frame
            stats.seconds = time.monotonic() - t0
            outages = [{"start_s": round(o.start - t0, 3),
                        "end_s": None if o.end is None else round(o.end - t0, 3),
                        "error": o.error} for o in cap.stats.outages]
            manifest["outages"] = outages
            manifest["ended"] = ended[0]
            manifest["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
            session.flush(stats, "complete", wait=True)
    return LiveReport(out, spec.name, stats, len(session.chunks), outages,
                      describe(config), ended[0])


def _row(f: Captured, status: str, res, error: str | None = None) -> dict:
    rec = {"frame": f.index, "pts": f.pts, "time": f.time, "status": status, "error": error}
    if res is not None:
        rec.update(keypoints=res.keypoints, scores=res.scores)
    return rec

