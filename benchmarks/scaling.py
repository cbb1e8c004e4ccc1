"""Frames/s of the job against the number of actors, on this machine (a local Ray runtime)
and on a two-node Ray cluster on loopback (`ray start --head` and a second `ray start`, one
CPU each, token authentication on, as tests/test_run.py starts it), with the parallel
efficiency: frames/s with N actors / (N x frames/s with one).

Every figure is `posebatch bench` (the job on the demo video's first frames, medians of its
repeats). The two-node cluster shares this machine's cores, so it shows what Ray's
cross-node path costs (results travel between nodes; remote actors' chunks are written by
the driver), not more hardware.

    .venv/bin/python benchmarks/scaling.py [--precision fp32 --frames 128 --repeats 3]
"""
from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def bench(actors: int, args, address: str | None = None, env=None) -> float:
    cmd = [str(BIN / "posebatch"), "bench", "--actors", str(actors), "--frames",
           str(args.frames), "--repeats", str(args.repeats), "--stage-frames", "5",
           "--precision", args.precision, "--chunk", str(args.chunk)]
    if address:
        cmd += ["--address", address]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{r.stderr[-3000:]}")
    m = re.search(r"job end to end: ([\d.]+) frames/s", r.stdout)
    return float(m.group(1))


def two_nodes() -> tuple[str, dict]:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    common = ["--num-cpus=1", "--disable-usage-stats", "--object-store-memory=200000000"]
    subprocess.run([BIN / "ray", "start", "--head", f"--port={port}",
                    "--node-ip-address=127.0.0.1", *common], check=True, env=env,
                   capture_output=True)
    address = f"127.0.0.1:{port}"
    subprocess.run([BIN / "ray", "start", f"--address={address}",
                    "--node-ip-address=127.0.0.1", *common], check=True, env=env,
                   capture_output=True)
    return address, env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--frames", type=int, default=128)
    ap.add_argument("--chunk", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    rows = []
    for n in range(1, cores + 1):
        rows.append(("this machine", n, bench(n, args)))
    address, env = two_nodes()
    try:
        for n in (1, 2):
            rows.append(("two nodes on loopback", n, bench(n, args, address, env)))
    finally:
        subprocess.run([BIN / "ray", "stop", "--force"], env=env, capture_output=True)
    print(f"{args.precision}, chunks of {args.chunk}, {args.frames} frames per repeat, "
          f"medians of {args.repeats}")
    print("| where | actors | frames/s | efficiency |")
    print("|---|---|---|---|")
    for where, n, fps in rows:
        one = next(f for w, k, f in rows if w == where and k == 1)
        print(f"| {where} | {n} | {fps:.1f} | {fps / (n * one):.0%} |")


if __name__ == "__main__":
    main()
