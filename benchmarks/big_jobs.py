"""The driver's cost on big jobs: many short videos, and one long 1080p video.

Makes the inputs from the demo video (short clips: a few frames at 640x360, ten distinct
ones copied into nested folders; the long one: the demo scaled to 1920x1080 and its packets
repeated, as benchmarks/memory.py does), runs `posebatch run` on each in a fresh output
folder, samples the driver's resident memory, and prints what the job's manifest measured
(`timing`): planning (discovery, fingerprints, indexing), inference, the time from the last
chunk to the end of the job, the driver's CPU time per frame and per chunk. Then the
arithmetic for a cluster: how much of one core the driver needs to keep N actors busy.

    .venv/bin/python benchmarks/big_jobs.py [--videos 1000 --frames 4 --minutes 10
                                             --precision auto --work DIR --skip-long]

Not a test: on a 2-core machine the 10-minute video alone takes about ten minutes in bf16.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import psutil

from memory import encode_loop, repeat  # benchmarks/memory.py

from posebatch.decode import decode_sequential
from posebatch.models.fetch import ensure_asset
from posebatch.models.manifest import get_asset


def short_clips(demo: Path, work: Path, videos: int, frames: int, distinct: int = 10
                ) -> Path:
    """``videos`` short H.264 clips of ``frames`` frames at 640x360 under work/many/."""
    root = work / f"many{videos}x{frames}"
    if root.exists() and sum(1 for _ in root.rglob("*.mp4")) == videos:
        return root
    shutil.rmtree(root, ignore_errors=True)
    pictures = [cv2.resize(f.image, (640, 360)) for f, _ in zip(decode_sequential(demo),
                                                                 range(distinct * 10 + frames))]
    sources = []
    for k in range(distinct):
        path = work / f"clip{k}.mp4"
        with av.open(str(path), "w") as out:
            s = out.add_stream("libx264", rate=30)
            s.width, s.height, s.pix_fmt = 640, 360, "yuv420p"
            for img in pictures[k * 10:k * 10 + frames]:
                for p in s.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                    out.mux(p)
            for p in s.encode():
                out.mux(p)
        sources.append(path)
    for i in range(videos):
        dest = root / f"session{i // 100:02d}" / f"clip{i:05d}.mp4"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sources[i % distinct], dest)
    return root


def run(inputs: Path, out: Path, precision: str, chunk: int) -> dict:
    """`posebatch run` in a subprocess (the driver is that process); its peak RSS sampled
    every 0.2 s; the manifest's timing."""
    exe = str(Path(sys.executable).parent / "posebatch")
    cmd = [exe, "run", str(inputs), "--out", str(out), "--force", "--no-progress",
           "--precision", precision, "--chunk", str(chunk)]
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    driver = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, driver.memory_info().rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    err = proc.stderr.read()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-3000:]}")
    m = json.loads((out / "manifest.json").read_text())
    return {**m["timing"], "wall_s": time.time() - t0, "sampled_peak_gb": peak / 2**30,
            "videos": len(m["videos"]), "actors": len(m.get("actors", []))}


def report(name: str, r: dict) -> None:
    frames = r["frames_done"]
    print(f"\n{name}: {r['videos']} videos, {frames} frames, {r['chunks']} chunks, "
          f"{r['actors']} actors")
    print(f"  planning (discover, fingerprint, index): {r['plan_s']:.2f} s "
          f"({1000 * r['plan_s'] / max(r['videos'], 1):.2f} ms per video)")
    print(f"  first chunk done {r['first_chunk_s']:.2f} s after the start")
    print(f"  inference (from planned to the last chunk written): {r['infer_s']:.1f} s = "
          f"{frames / r['infer_s']:.1f} frames/s")
    print(f"  last chunk to end of job: {r['tail_s']:.2f} s (finishing the last videos, "
          "the index, the manifest)")
    print(f"  driver CPU (every thread of the process): {1000 * r['driver_cpu_s'] / frames:.3f} "
          f"ms per frame in all ({r['driver_cpu_s']:.1f} s: planning {r['plan_cpu_s']:.1f} s, "
          f"while chunks came in {r['infer_cpu_s']:.1f} s = "
          f"{1000 * r['infer_cpu_s'] / r['chunks']:.2f} ms per chunk, "
          f"{1000 * r['infer_cpu_s'] / frames:.3f} ms per frame); main thread per chunk "
          f"result: {r['chunk_ms_mean']:.2f} ms mean, {r['chunk_ms_max']:.1f} ms max")
    print(f"  driver peak memory: {r['driver_peak_gb']:.3f} GB (ru_maxrss; sampled "
          f"{r['sampled_peak_gb']:.3f} GB); job wall time {r['wall_s']:.1f} s")


def arithmetic(r: dict, actor_ms_per_frame: float, chunk: int, actors: int = 64) -> None:
    """How busy the driver is with ``actors`` actors of the measured speed."""
    chunks_per_s = actors * 1000 / (actor_ms_per_frame * chunk)
    per_chunk_ms = 1000 * r["infer_cpu_s"] / r["chunks"]
    load = chunks_per_s * per_chunk_ms / 1000
    print(f"  {actors} actors at {actor_ms_per_frame:.0f} ms per frame each, chunks of {chunk}: "
          f"{chunks_per_s:.1f} chunks/s; the driver's CPU per chunk while they come in "
          f"{per_chunk_ms:.2f} ms -> {load:.2f} of one core; the driver keeps up with "
          f"{1000 / per_chunk_ms:.0f} chunks/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=1000)
    ap.add_argument("--frames", type=int, default=4, help="frames per short video")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--precision", default="auto", help="auto: bf16 where the CPU has it")
    ap.add_argument("--chunk", type=int, default=128)
    ap.add_argument("--actor-ms", type=float, default=46.0,
                    help="an actor's CPU per frame (from `posebatch bench`) for the arithmetic")
    ap.add_argument("--work", type=Path, default=Path("/tmp/posebatch-big"))
    ap.add_argument("--skip-long", action="store_true")
    ap.add_argument("--skip-many", action="store_true")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    demo = ensure_asset(get_asset("demo_video"))
    if not args.skip_many:
        many = short_clips(demo, args.work, args.videos, args.frames)
        r = run(many, args.work / "out_many", args.precision, args.chunk)
        report(f"{args.videos} short videos ({args.frames} frames, 640x360, "
               f"{args.precision})", r)
        arithmetic(r, args.actor_ms, args.frames)
    if not args.skip_long:
        loop = args.work / "loop1080.mp4"
        if not loop.exists():
            encode_loop(demo, loop)
        video = args.work / f"demo1080_{args.minutes:g}min.mp4"
        if not video.exists():
            repeat(loop, video, args.minutes * 60)
        r = run(video, args.work / "out_long", args.precision, args.chunk)
        report(f"one {args.minutes:g}-minute 1920x1080 video ({args.precision})", r)
        arithmetic(r, args.actor_ms, args.chunk)


if __name__ == "__main__":
    main()
