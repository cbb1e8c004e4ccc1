"""Soak: one job over many short generated videos on 2 actors; memory over time; no process
left behind after it ends, after Ctrl-C (SIGINT) and after SIGTERM.

    .venv/bin/python benchmarks/soak.py [--videos 200 --frames 8 --work DIR]

Prints the summed RSS of the job's process tree (driver, Ray, actors) every 5 s, the
job's outcome, and for each way of ending: the processes of the job still alive 10 s later
(none expected).
"""
from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from big_jobs import short_clips  # benchmarks/big_jobs.py

from posebatch.models.fetch import ensure_asset
from posebatch.models.manifest import get_asset

EXE = str(Path(sys.executable).parent / "posebatch")


def tree_rss(root: psutil.Process) -> tuple[float, int]:
    procs = [root] + root.children(recursive=True)
    total = 0
    for p in procs:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**30, len(procs)


def run(inputs: Path, out: Path, stop: int | None = None, after: float = 0.0) -> dict:
    """Run the job; with ``stop``, send that signal ``after`` seconds in. Returns the RSS
    samples, the exit code, and the job's processes still alive 10 s after it ended."""
    proc = subprocess.Popen([EXE, "run", str(inputs), "--out", str(out), "--force",
                             "--chunk", "128", "--log-interval", "10"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    root = psutil.Process(proc.pid)
    samples, family, t0, sent = [], set(), time.time(), False
    while proc.poll() is None:
        try:
            family |= {p.pid for p in root.children(recursive=True)}
            if not samples or time.time() - t0 >= 5 * len(samples):
                samples.append((round(time.time() - t0), *tree_rss(root)))
        except psutil.Error:
            pass
        if stop is not None and not sent and time.time() - t0 > after:
            proc.send_signal(stop)
            sent = True
        time.sleep(0.25)
    err = proc.stderr.read()
    time.sleep(10)
    left = [p for p in family if psutil.pid_exists(p) and psutil.Process(p).status() !=
            psutil.STATUS_ZOMBIE]
    return {"rc": proc.returncode, "samples": samples, "left": left, "seconds": time.time() - t0
            - 10, "log_lines": sum(" progress: " in x for x in err.splitlines()),
            "tail": err.strip().splitlines()[-3:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", type=int, default=200)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--work", type=Path, default=Path("/tmp/posebatch-soak"))
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    clips = short_clips(ensure_asset(get_asset("demo_video")), args.work, args.videos,
                        args.frames)
    r = run(clips, args.work / "out")
    videos = json.loads((args.work / "out" / "manifest.json").read_text())["videos"]
    ok = sum(v["status"] == "ok" for v in videos)
    print(f"{args.videos} videos x {args.frames} frames: exit {r['rc']}, {ok} ok, "
          f"{r['seconds']:.0f} s, {r['log_lines']} progress lines; processes left: "
          f"{r['left'] or 'none'}")
    print("RSS of the job's process tree over time (s, GB, processes):")
    for t, gb, n in r["samples"]:
        print(f"  {t:4d} s  {gb:.2f} GB  {n}")
    for name, sig in (("Ctrl-C (SIGINT)", signal.SIGINT), ("SIGTERM", signal.SIGTERM)):
        s = run(clips, args.work / f"out_{sig.name}", stop=sig, after=20)
        print(f"{name} after 20 s: exit {s['rc']}, processes left 10 s later: "
              f"{s['left'] or 'none'}; last lines: {s['tail']}")


if __name__ == "__main__":
    main()
