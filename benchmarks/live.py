"""Live latency and throughput: a 30 fps 1920x1080 H.264 stream (the demo video, scaled)
sent over UDP on 127.0.0.1 as MPEG-TS, received by a live session for a while, per precision.

    .venv/bin/python benchmarks/live.py [--seconds 30] [--quality balanced]

The stream is encoded once beforehand and its packets are sent at their own pace (remuxed,
not re-encoded), so the sender costs almost nothing on this machine, as a camera would.
Reported: frames received and estimated per second, the share skipped (the newest frame wins
when inference is slower than the source), and latency (median, 95th percentile, max): from a
frame leaving the decoder to its keypoints (what the session records), and end to end, from
the moment the sender sent the frame (its capture, for a camera) to its keypoints.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from posebatch.models.fetch import ensure_asset  # noqa: E402
from posebatch.live.session import LiveOptions, run_live  # noqa: E402
from posebatch.models.manifest import get_asset, get_model  # noqa: E402
from posebatch.engine.quality import resolve  # noqa: E402
from posebatch.engine.config import cpu_has_bf16  # noqa: E402
from tests.streams import free_udp_port  # noqa: E402


def encode_1080p(path: Path, seconds: float) -> Path:
    """The demo video's frames scaled to 1920x1080, looped to ``seconds`` at 30 fps, H.264
    (a keyframe every second) in MPEG-TS."""
    import av

    with av.open(str(ensure_asset(get_asset("demo_video")))) as c:
        frames = [cv2.resize(f.to_ndarray(format="bgr24"), (1920, 1080))
                  for f in c.decode(video=0)]
    with av.open(str(path), "w", format="mpegts") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = 1920, 1080, "yuv420p"
        s.options = {"g": "30", "preset": "veryfast", "tune": "zerolatency", "crf": "23"}
        for i in range(int(seconds * 30)):
            f = av.VideoFrame.from_ndarray(frames[i % len(frames)], format="bgr24")
            f.pts = i
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


class Remuxer(threading.Thread):
    """Send a file's packets to udp://127.0.0.1:port at the pace of their timestamps."""

    def __init__(self, src: Path, port: int, delay: float):
        super().__init__(daemon=True)
        self.src, self.port, self.delay = src, port, delay
        self.t0: float | None = None     # a packet of time T is sent at t0 + T

    def run(self) -> None:
        import av

        time.sleep(self.delay)
        with av.open(str(self.src)) as inp, av.open(
                f"udp://127.0.0.1:{self.port}?pkt_size=1316", "w", format="mpegts") as out:
            s_in = inp.streams.video[0]
            s_out = out.add_stream_from_template(s_in)
            t0 = self.t0 = time.monotonic()
            for p in inp.demux(s_in):
                if p.dts is None:
                    continue
                wait = t0 + float(p.dts * s_in.time_base) - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                p.stream = s_out
                out.mux(p)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="session length")
    ap.add_argument("--quality", default="balanced")
    ap.add_argument("--precisions", default="fp32,bf16" if cpu_has_bf16() else "fp32")
    args = ap.parse_args()
    spec = get_model("mobilenet_thin")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        ts = encode_1080p(Path(tmp) / "stream.ts", args.seconds + 30)
        for precision in args.precisions.split(","):
            config = resolve(args.quality, spec.name, spec.input_size, precision=precision)
            port = free_udp_port()
            sender = Remuxer(ts, port, delay=0.0)
            sender.start()                        # the session joins the running stream
            e2e: list[float] = []

            def on_frame(f, res, stats, sender=sender, e2e=e2e):
                if f.time is not None and sender.t0 is not None:
                    e2e.append((time.monotonic() - (sender.t0 + f.time)) * 1e3)
                return False

            report = run_live(f"udp://127.0.0.1:{port}", Path(tmp) / precision, config,
                              options=LiveOptions(duration=args.seconds), on_frame=on_frame)
            s = report.stats.summary()
            e2e.sort()
            s["end_to_end_ms"] = {"median": round(e2e[len(e2e) // 2], 1),
                                  "p95": round(e2e[int(0.95 * len(e2e))], 1),
                                  "max": round(e2e[-1], 1)} if e2e else None
            rows.append((precision, s))
            print(f"{args.quality} {precision}: {s}", flush=True)
    print("\n| precision | received frames/s | estimated frames/s | skipped | decoder to "
          "keypoints (median, p95, max) | sent to keypoints (median, p95, max) |\n"
          "|---|---|---|---|---|---|")
    for precision, s in rows:
        lat, e2e = s["latency_ms"], s["end_to_end_ms"] or {}
        print(f"| {precision} | {s['received'] / s['seconds']:.1f} | {s['processed_fps']} | "
              f"{100 * s['skipped_share']:.1f}% | {lat['median']}, {lat['p95']}, {lat['max']} ms "
              f"| {e2e.get('median')}, {e2e.get('p95')}, {e2e.get('max')} ms |")


if __name__ == "__main__":
    main()
