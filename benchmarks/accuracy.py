"""The speed/accuracy curve behind the quality presets (README "Accuracy you can choose").

For each network setting (preprocess mode, input height, precision, flip, scales) the network
runs once over every image of the COCO sets in ../shared (coco_dev: 50 train images, tune here;
coco: 4 val images), then each post-processing setting (upsample ratio, sub-pixel peaks, person
score) is evaluated on those outputs with pycocotools. Speed is measured in the same run on
the demo video with posebatch.bench's stage timings: the network (augmentations included) and
the post-processing per frame, against the bare network of today's default (reference
432x368, fp32) timed before and after, so ratios hold on any machine.

    .venv/bin/python benchmarks/accuracy.py --out benchmarks/results/accuracy.json
    .venv/bin/python benchmarks/accuracy.py --plot docs/accuracy.png --from benchmarks/results/accuracy.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SETS = {"coco_dev": (SHARED / "coco_dev" / "person_keypoints_train2017.json",
                     SHARED / "coco_dev" / "train2017"),
        "coco": (SHARED / "coco" / "test_coco.json", SHARED / "coco")}


def network_settings(grid: str) -> list[dict]:
    """Network-side settings: (preprocess, net height, precision, flip, scales)."""
    from posebatch.engine.config import cpu_has_bf16

    out = []
    heights = {"reference": (256, 288, 320, 368, 432, 512, 656),
               "aspect": (256, 288, 320, 368, 432, 512, 656),
               "area": (256, 288, 320, 368, 432, 512)}
    for pre, hs in heights.items():
        for prec in ("fp32", "bf16") if cpu_has_bf16() else ("fp32",):   # refused elsewhere
            for h in hs:
                out.append(dict(preprocess=pre, net_height=h, precision=prec))
    if grid == "quick":
        out = [s for s in out if s["net_height"] in (288, 368, 512) and s["precision"] == "fp32"]
    for pre, h in (("reference", 368), ("reference", 432), ("aspect", 368), ("aspect", 432),
                   ("area", 320), ("area", 368), ("area", 432), ("area", 512)):
        out.append(dict(preprocess=pre, net_height=h, precision="fp32", flip=True))
    for pre, h, scales in (("reference", 368, (1.0, 1.5)), ("area", 368, (1.0, 1.5)),
                           ("area", 512, (1.0, 0.75)), ("area", 432, (1.0, 0.75, 1.25))):
        out.append(dict(preprocess=pre, net_height=h, precision="fp32", scales=scales))
    out.append(dict(preprocess="area", net_height=432, precision="fp32", flip=True,
                    scales=(1.0, 0.75)))
    return out


POST = [dict(upsample=u, subpixel=sp, person_score=ps)
        for u in (2.0, 4.0, 8.0) for sp in (False, True) for ps in ("openpose", "parts")]


def pose_config(net: dict, post: dict):
    from posebatch.engine.config import PoseConfig

    h = net["net_height"]
    w = int(round(432 * h / 368 / 8)) * 8      # reference mode keeps 432x368's shape
    return PoseConfig(net_width=w, **net, **post)


def label(net: dict, post: dict | None = None) -> str:
    s = f"{net['preprocess']} {net['net_height']} {net['precision']}"
    if net.get("flip"):
        s += " flip"
    if len(net.get("scales", (1.0,))) > 1:
        s += " scales " + "/".join(f"{x:g}" for x in net["scales"])
    if post:
        s += f" up{post['upsample']:g}" + (" subpx" if post["subpixel"] else "")
        s += f" score={post['person_score']}"
    return s


def measure(grid: str, frames: int, out_path: Path) -> list[dict]:
    import cv2

    from posebatch.bench import _decode
    from posebatch.runner.evaluate import evaluate, gt_images, to_coco
    from posebatch.engine.estimator import Estimator, result_from_network_output
    from posebatch.models.fetch import ensure_asset
    from posebatch.models.manifest import get_asset

    images = {name: [(i, cv2.imread(str(d / f))) for i, f in gt_images(gt)]
              for name, (gt, d) in SETS.items()}
    demo = [f.image for f in _decode(ensure_asset(get_asset("demo_video")), frames)]
    bare = Estimator()
    bare_ms: list[float] = []

    def time_bare() -> None:
        xs = [bare.prepare(f) for f in demo]
        bare._run(xs[0])
        t = time.perf_counter()
        for x in xs:
            bare._run(x)
        bare_ms.append((time.perf_counter() - t) / len(xs) * 1e3)

    time_bare()
    rows = []
    for net in network_settings(grid):
        est = Estimator(config=pose_config(net, POST[0]))
        outs = {name: [(i, est.network(im), im.shape) for i, im in ims]
                for name, ims in images.items()}
        # speed on the demo video: preprocessing and network (augmentations included)
        est._run(est.prepare(demo[0]))
        t = time.perf_counter()
        demo_out = [est._run(est.prepare(f)) for f in demo]
        net_ms = (time.perf_counter() - t) / len(demo) * 1e3
        for post in POST:
            cfg = pose_config(net, post)
            t = time.perf_counter()
            for o, f in zip(demo_out, demo):
                result_from_network_output(o, (f.shape[1], f.shape[0]), est.layout, cfg)
            post_ms = (time.perf_counter() - t) / len(demo) * 1e3
            row = dict(net=net, post=post, label=label(net, post), net_ms=net_ms,
                       post_ms=post_ms, ms=net_ms + post_ms)
            for name, items in outs.items():
                results = []
                for i, o, shape in items:
                    r = result_from_network_output(o, (shape[1], shape[0]), est.layout, cfg)
                    results += to_coco(i, r.keypoints, r.scores, est.layout)
                stats = evaluate(SETS[name][0], results)
                row[name] = {k: stats[k] for k in ("AP", "AP50", "AP75", "AR")}
            rows.append(row)
            print(f"{row['label']:<62} {row['ms']:7.1f} ms  dev AP {row['coco_dev']['AP']:.3f}"
                  f"  coco AP {row['coco']['AP']:.3f}", flush=True)
        est.close()
    time_bare()
    doc = {"bare_ms": statistics.median(bare_ms), "bare_ms_runs": bare_ms, "frames": frames,
           "machine": machine(), "rows": rows}
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(doc, indent=1, default=list))
    return rows


def machine() -> str:
    import os
    import platform

    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{name}, {os.cpu_count()} CPUs"


PREVIOUS_DEFAULT = "reference 368 fp32 up4 score=openpose"


def add_costs(doc: dict) -> None:
    """cost = ms per frame (network + post-processing) / the previous default's, same run."""
    base = next(r for r in doc["rows"] if r["label"] == PREVIOUS_DEFAULT)["ms"]
    for r in doc["rows"]:
        r["cost"] = r["ms"] / base


def plot(doc: dict, png: Path, marks: dict[str, str] | None = None) -> None:
    """AP on coco_dev against cost per frame relative to the previous default."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 2, figsize=(12, 5), dpi=100, sharex=True)
    groups: dict[str, list] = {}
    for r in doc["rows"]:
        n = r["net"]
        kind = ("flip / scales (fp32)" if n.get("flip") or len(n.get("scales", [1])) > 1
                else f"{n['preprocess']} {n['precision']}")
        groups.setdefault(kind, []).append(r)
    front = pareto(doc["rows"])
    for ax, name, title in zip(axes, ("coco_dev", "coco"),
                               ("coco_dev: 50 COCO train images (tuned here)",
                                "coco: 4 COCO val images (not tuned on)")):
        for kind, rs in sorted(groups.items()):
            ax.scatter([r["cost"] for r in rs], [r[name]["AP"] for r in rs], s=10,
                       label=kind, alpha=0.6)
        ax.plot([r["cost"] for r in front], [r[name]["AP"] for r in front], "k-", lw=0.8,
                label="best coco_dev AP at each cost")
        for i, (mark, lab) in enumerate((marks or {}).items()):
            r = next(r for r in doc["rows"] if r["label"] == lab)
            ax.scatter([r["cost"]], [r[name]["AP"]], s=60, facecolors="none", edgecolors="k",
                       linewidths=1.5)
            ax.annotate(mark, (r["cost"], r[name]["AP"]), xytext=(6, -14 if i % 2 else 8),
                        textcoords="offset points", fontsize=9, weight="bold")
        ax.set_xscale("log")
        ax.set_xticks([0.35, 0.5, 0.75, 1, 1.3, 2, 3, 4])
        ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
        ax.minorticks_off()
        ax.set_xlabel("cost per frame / the previous default's (reference 432x368, upsample 4, "
                      "fp32)", fontsize=8)
        ax.set_ylabel("COCO keypoint AP (pycocotools)")
        ax.set_title(title, fontsize=10)
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize=7, loc="lower right")
    fig.suptitle("mobilenet_thin: accuracy against cost, demo video timings on "
                 + doc["machine"], fontsize=10)
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png)


def pareto(rows: list[dict]) -> list[dict]:
    best, front = -1.0, []
    for r in sorted(rows, key=lambda r: (r["cost"], -r["coco_dev"]["AP"])):
        if r["coco_dev"]["AP"] > best:
            front.append(r)
            best = r["coco_dev"]["AP"]
    return front


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", choices=("full", "quick"), default="full")
    ap.add_argument("--frames", type=int, default=20, help="demo video frames timed")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/accuracy.json")
    ap.add_argument("--from", dest="src", type=Path, help="plot/print an earlier run's JSON")
    ap.add_argument("--plot", type=Path, help="write the speed/accuracy plot (PNG) here")
    ap.add_argument("--mark", action="append", default=[], metavar="NAME=LABEL",
                    help="annotate a row on the plot (and name it in --markdown)")
    ap.add_argument("--markdown", action="store_true",
                    help="print the best-AP-at-each-cost rows and the marked ones as a table")
    args = ap.parse_args()
    if not all(gt.exists() for gt, _ in SETS.values()):
        sys.exit(f"the COCO sets are not in {SHARED}")
    if args.src:
        doc = json.loads(args.src.read_text())
    else:
        measure(args.grid, args.frames, args.out)
        doc = json.loads(args.out.read_text())
    add_costs(doc)
    print(f"bare network (reference 432x368 fp32): {doc['bare_ms']:.1f} ms/frame; cost is per "
          f"frame relative to {PREVIOUS_DEFAULT!r} (network and post-processing, same run)")
    for r in pareto(doc["rows"]):
        print(f"{r['label']:<62} cost {r['cost']:5.2f}  dev AP {r['coco_dev']['AP']:.3f}  "
              f"coco AP {r['coco']['AP']:.3f}")
    marks = dict(m.split("=", 1) for m in args.mark)
    if args.plot:
        plot(doc, args.plot, marks)
    if args.markdown:
        named = {lab: name for name, lab in marks.items()}
        print("\n| setting | AP coco_dev | AP coco | ms/frame | cost |\n|---|---|---|---|---|")
        for r in sorted({r["label"]: r for r in pareto(doc["rows"]) + [
                r for r in doc["rows"] if r["label"] in named]}.values(),
                        key=lambda r: r["cost"]):
            name = f"**{named[r['label']]}**: " if r["label"] in named else ""
            print(f"| {name}{r['label']} | {r['coco_dev']['AP']:.3f} | {r['coco']['AP']:.3f} "
                  f"| {r['ms']:.1f} | {r['cost']:.2f} |")


if __name__ == "__main__":
    main()
