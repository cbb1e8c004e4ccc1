"""The PAF parser alone on ski.jpg's golden network output (../shared): median ms per call of
the parser as the pipeline runs it (peaks found near hot cells, heat and PAFs sampled from the
network output on demand) and of the parser on whole upsampled maps.

    .venv/bin/python benchmarks/parse_ski.py
"""
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from posebatch.engine.layout import COCO18
from posebatch.engine.parse import parse_maps, parse_people
from posebatch.engine.postprocess import find_peaks_above, postprocess, split

GOLDEN = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "golden" / "ski.net.npy"


def median_ms(fn, calls: int = 50, repeats: int = 7) -> float:
    fn()
    runs = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            fn()
        runs.append((time.perf_counter() - t) / calls)
    return statistics.median(runs) * 1e3


def main() -> None:
    if not GOLDEN.exists():
        sys.exit(f"{GOLDEN} is absent (../shared is only present in the development checkout)")
    net = np.load(GOLDEN).astype(np.float32)
    maps = postprocess(net, COCO18)
    heat, paf = split(net, COCO18)
    peaks = find_peaks_above(net, COCO18, 4.0, 0.05)
    kp, _ = parse_people(peaks, heat, paf, COCO18)
    print(f"ski.jpg: {kp.shape[0]} people")
    pipeline = median_ms(lambda: parse_people(peaks, heat, paf, COCO18))
    whole = median_ms(lambda: parse_maps(maps, COCO18))
    print(f"parser, pipeline's inputs: {pipeline:.3f} ms")
    print(f"parser, whole maps:        {whole:.3f} ms")


if __name__ == "__main__":
    main()
