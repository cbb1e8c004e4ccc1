"""Where a pose actor's start-up goes, in a fresh process per precision: importing
TensorFlow, loading the graph (parse, verify, import, session), the first network run (where
TensorFlow optimises the graph and oneDNN builds its kernels), and a second run.

    .venv/bin/python benchmarks/startup.py [--precision fp32 bf16 --repeats 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

from posebatch.engine.config import cpu_has_bf16

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import numpy as np
import tensorflow as tf
t1 = time.perf_counter()
from posebatch.engine.config import Precision, PoseConfig, RuntimeConfig
from posebatch.engine.estimator import Estimator
est = Estimator("mobilenet_thin", PoseConfig(precision=Precision(sys.argv[1])),
                RuntimeConfig(intra_threads=1, inter_threads=1))
t2 = time.perf_counter()
x = np.zeros((1, 368, 432, 3), np.float32)
est.runner.run(x)
t3 = time.perf_counter()
est.runner.run(x)
t4 = time.perf_counter()
print(json.dumps({"import_tf": t1 - t0, "load": t2 - t1, "first_run": t3 - t2,
                  "second_run": t4 - t3}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--precision", nargs="+",
                    default=["fp32", "bf16"] if cpu_has_bf16() else ["fp32"])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    for p in args.precision:
        runs = [json.loads(subprocess.run([sys.executable, "-c", CHILD, p], check=True,
                                          capture_output=True, text=True).stdout.splitlines()[-1])
                for _ in range(args.repeats)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(f"{p}: " + ", ".join(f"{k} {v:.2f} s" for k, v in med.items())
              + f"; total {sum(med.values()):.2f} s (medians of {args.repeats})")


if __name__ == "__main__":
    main()
