"""Peak memory of `posebatch run` on a long 1080p video versus a short one.

Makes two videos by looping the demo video scaled to 1920x1080 (encoded once with libx264,
then its packets repeated with shifted timestamps, so making them is quick), runs
`posebatch run` on each in a fresh output folder, samples the resident memory of the whole
process tree (driver, Ray's processes, the actors) twice a second, and prints the peaks.

    .venv/bin/python benchmarks/memory.py [--minutes 10 --short-minutes 1 --work DIR]

Not a test: a 10-minute video takes about half an hour on a 2-core machine.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import psutil

from posebatch.decode import decode_sequential
from posebatch.models.fetch import ensure_asset
from posebatch.models.manifest import get_asset

SIZE = (1920, 1080)


def encode_loop(demo: Path, path: Path) -> Path:
    """One pass of the demo video at 1080p, H.264, a keyframe every 60 frames."""
    with av.open(str(path), "w") as out:
        s = out.add_stream("libx264", rate=30)
        s.width, s.height, s.pix_fmt = *SIZE, "yuv420p"
        s.options = {"crf": "20", "g": "60", "preset": "veryfast"}
        for f in decode_sequential(demo):
            img = cv2.resize(f.image, SIZE, interpolation=cv2.INTER_LINEAR)
            for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def repeat(loop: Path, path: Path, seconds: float) -> Path:
    """Concatenate copies of ``loop``'s packets (no re-encoding) until ``seconds`` long."""
    with av.open(str(loop)) as src:
        ins = src.streams.video[0]
        packets = [p for p in src.demux(ins) if p.size]
        dur = max(p.pts for p in packets) + packets[0].duration - min(p.pts for p in packets)
        loop_s = float(dur * ins.time_base)
        with av.open(str(path), "w") as dst:
            outs = dst.add_stream_from_template(ins)
            for k in range(int(round(seconds / loop_s)) or 1):
                for p in packets:
                    q = av.Packet(bytes(p))
                    q.pts, q.dts = p.pts + k * dur, p.dts + k * dur
                    q.time_base, q.stream = ins.time_base, outs
                    q.is_keyframe = p.is_keyframe
                    dst.mux(q)
    return path


def peak_memory(cmd: list[str]) -> dict:
    """Run ``cmd``; peak of the summed RSS (and PSS) of it and all its descendants, sampled
    every 0.5 s. Summed RSS counts shared libraries once per process: an upper bound."""
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    peak_tree = peak_driver = peak_pss = 0
    while proc.poll() is None:
        try:
            procs = [root] + root.children(recursive=True)
            rss, pss = [], []
            for p in procs:
                try:
                    m = p.memory_full_info()  # pss: shared pages (TensorFlow's libraries
                    rss.append(m.rss)         # in every actor) counted once in total
                    pss.append(getattr(m, "pss", m.rss))
                except psutil.Error:
                    pass
            peak_tree = max(peak_tree, sum(rss))
            peak_pss = max(peak_pss, sum(pss))
            peak_driver = max(peak_driver, root.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.5)
    stderr = proc.stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-3000:]}")
    return {"tree_gb": peak_tree / 2**30, "pss_gb": peak_pss / 2**30,
            "driver_gb": peak_driver / 2**30,
            "seconds": time.time() - t0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--short-minutes", type=float, default=1)
    ap.add_argument("--work", type=Path, default=None, help="folder for videos and outputs")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="posebatch-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    demo = ensure_asset(get_asset("demo_video"))
    loop = work / "loop1080.mp4"
    if not loop.exists():
        encode_loop(demo, loop)
    exe = str(Path(sys.executable).parent / "posebatch")
    results = {}
    for minutes in (args.short_minutes, args.minutes):
        video = work / f"demo1080_{minutes:g}min.mp4"
        if not video.exists():
            repeat(loop, video, minutes * 60)
        out = work / f"out_{minutes:g}min"
        r = peak_memory([exe, "run", str(video), "--out", str(out), "--force", "--no-progress"])
        import pandas as pd

        v = pd.read_parquet(out / "videos.parquet").iloc[0]
        r.update(frames=int(v.frames), status=v.status)
        results[minutes] = r
        print(f"{minutes:g} min, {v.frames} frames ({v.width}x{v.height}): peak RSS "
              f"{r['tree_gb']:.2f} GB (sum over the process tree; PSS {r['pss_gb']:.2f} GB), driver {r['driver_gb']:.2f} GB, "
              f"{r['seconds']:.0f} s = {v.frames / r['seconds']:.1f} frames/s, {v.status}",
              flush=True)
    long, short = results[args.minutes], results[args.short_minutes]
    growth = long["tree_gb"] / short["tree_gb"] - 1
    print(f"long / short peak: {1 + growth:.3f} ({growth:+.1%}); under 3 GB: "
          f"{long['tree_gb'] < 3}; within 25%: {abs(growth) <= 0.25}")


if __name__ == "__main__":
    main()
