"""INT8 for the pose graph: which layers must stay in floating point (README "Runtimes").

1. Calibrate NNCF's post-training quantisation on real frames (60 frames spread over the demo
   video and the 50 COCO development images, preprocessed as the presets do) with every layer
   quantised, and compare each convolution's output with fp32's on held-out frames: where the
   heatmaps and PAFs are lost (the per-layer sensitivity table).
2. Quantise again with the candidate sets of layers left in floating point
   (posebatch.engine.int8.FLOAT_RULES, by their role in the graph) and, with ``--accuracy-control``,
   NNCF's own search (quantize_with_accuracy_control, which reverts the most sensitive layers
   to floating point one by one until the outputs correlate with fp32's within 0.02).
3. For each: heatmap and PAF correlation with fp32 on held-out frames, the network's speed
   against OpenVINO fp32 in the same run (one thread), COCO AP on ../shared's coco_dev and coco
   sets, and on the demo video the frames whose people count matches fp32's and the fp32
   keypoints with an INT8 one within one heatmap cell.

    .venv/bin/python benchmarks/int8.py --out benchmarks/results/int8.json
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SHARED = ROOT.parent / "shared" / "data"
SETS = {"coco_dev": (SHARED / "coco_dev" / "person_keypoints_train2017.json",
                     SHARED / "coco_dev" / "train2017"),
        "coco": (SHARED / "coco" / "test_coco.json", SHARED / "coco")}


def corr(a, b) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def held_out(video: Path, n: int = 8) -> np.ndarray:
    """Frames the calibration did not see: between its video frames, and COCO val images."""
    from posebatch.engine.int8 import calibration_frames

    vid = calibration_frames(video, None, 2 * n + 1)[1::2][:n]
    coco = calibration_frames(video, SETS["coco"][1], 0)
    return np.stack(vid + coco)


def per_layer(fp32, q, xs) -> list[dict]:
    """Each convolution's (and concat's) output correlation with fp32's, in graph order (the
    quantised model holds the same operations in the same order, FakeQuantize aside)."""
    import openvino as ov

    core = ov.Core()
    kinds = ("Convolution", "GroupConvolution", "Concat")

    def outputs(model):
        model = model.clone()
        model.reshape({model.inputs[0]: [1, *xs.shape[1:]]})
        nodes = [o for o in model.get_ordered_ops() if o.get_type_name() in kinds]
        model.add_outputs([n.output(0) for n in nodes])
        c = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        per = [[] for _ in nodes]
        for x in xs:
            r = c(x[None])
            for i in range(len(nodes)):
                per[i].append(r[c.outputs[i + 1]])
        return nodes, [np.stack(p) for p in per]

    nodes, a = outputs(fp32)
    _, b = outputs(q)
    return [{"layer": i, "op": n.get_type_name(), "channels": int(x.shape[2]),
             "std": float(x.std()), "corr": corr(x, y)}
            for i, (n, x, y) in enumerate(zip(nodes, a, b))]


def timed(runner, x, runs=8) -> float:
    runner.run(x)
    runner.run(x)
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        runner.run(x)
        ts.append(time.perf_counter() - t)
    return statistics.median(ts) * 1e3


def evaluate(est) -> dict:
    """COCO AP on both sets (the balanced preset's post-processing)."""
    from posebatch.runner.evaluate import evaluate as coco_eval, gt_images, to_coco
    from posebatch.runner.images import read_image

    out = {}
    for name, (gt, images) in SETS.items():
        res = []
        for image_id, file in gt_images(gt):
            r = est.estimate(read_image(images / file))
            res += to_coco(image_id, r.keypoints, r.scores, est.layout)
        out[name] = coco_eval(gt, res)["AP"]
    return out


def video_people(est, frames) -> list:
    return [est.estimate(f) for f in frames]


def agreement(ref: list, got: list) -> dict:
    """Frames with fp32's people count; fp32 keypoints with one of ``got`` within one heatmap
    cell (8 network pixels, in frame pixels)."""
    same = sum(a.n_people == b.n_people for a, b in zip(ref, got))
    near = total = 0
    for a, b in zip(ref, got):
        cell = 8 * a.image_size[1] / a.net_size[1]
        for p in range(a.keypoints.shape[1]):
            xa = a.keypoints[:, p][a.keypoints[:, p, 2] > 0, :2]
            xb = b.keypoints[:, p][b.keypoints[:, p, 2] > 0, :2]
            total += len(xa)
            if len(xb):
                d = np.linalg.norm(xa[:, None] - xb[None], axis=-1).min(axis=1)
                near += int((d <= cell).sum())
    return {"same_count": same, "frames": len(ref), "near": near, "keypoints": total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "int8.json")
    ap.add_argument("--rules", default=",".join(
        ("none", "stage_outputs", "stage_outputs+inputs", "stage_outputs+inputs+stage_firsts")))
    ap.add_argument("--accuracy-control", type=Path, default=None,
                    help="an OpenVINO IR saved by NNCF's quantize_with_accuracy_control, "
                         "evaluated beside the rules")
    ap.add_argument("--video-frames", type=int, default=40)
    ap.add_argument("--preset", default="performance", choices=("performance", "mixed"),
                    help="NNCF's quantisation preset (mixed: asymmetric activations)")
    args = ap.parse_args()

    import openvino as ov

    from posebatch.engine.config import RuntimeConfig
    from posebatch.decode import decode_range, index_video, upright
    from posebatch.engine.estimator import Estimator
    from posebatch.models.fetch import ensure_asset, ensure_model
    from posebatch.engine.infer import OpenVinoRunner
    from posebatch.engine.int8 import calibration_frames, quantize
    from posebatch.models.manifest import get_asset
    from posebatch.engine.quality import resolve

    spec, path = ensure_model("mobilenet_thin")
    video = ensure_asset(get_asset("demo_video"))
    calib = calibration_frames(video, SETS["coco_dev"][1])
    xs = held_out(video)
    one = RuntimeConfig(intra_threads=1, inter_threads=1)
    cfg = resolve("balanced", "mobilenet_thin", spec.input_size, runtime="openvino")
    fp32 = Estimator(spec, cfg, one)
    idx = index_video(video)
    frames = [upright(f.image, idx.turn) for f in decode_range(idx, 0, args.video_frames)]
    ref_out = np.stack([fp32.runner.run(x[None])[0] for x in xs])
    base = {"ap": evaluate(fp32), "ms": timed(fp32.runner, xs[:1])}
    ref_people = video_people(fp32, frames)
    print(f"fp32: AP {base['ap']}, {base['ms']:.1f} ms", flush=True)
    rows, layers = [], None
    models = [(rule, None) for rule in args.rules.split(",")]
    if args.accuracy_control:
        models.append(("accuracy control", ov.Core().read_model(str(args.accuracy_control))))
    for name, model in models:
        t = time.perf_counter()
        if model is None:
            model = quantize(path, calib, name, args.preset)
        q_s = time.perf_counter() - t
        if name == "none":
            layers = per_layer(ov.convert_model(str(path)), model, xs[:4])
        est = Estimator(spec, cfg, one)
        est.runner = OpenVinoRunner(path, spec.input, spec.output, 57, one, "int8", model)
        out = np.stack([est.runner.run(x[None])[0] for x in xs])
        ms = timed(est.runner, xs[:1])
        ms_fp32 = timed(fp32.runner, xs[:1])
        row = {"float_layers": name, "preset": args.preset, "quantize_s": q_s,
               "corr_heat": corr(out[..., :19], ref_out[..., :19]),
               "corr_paf": corr(out[..., 19:], ref_out[..., 19:]),
               "ms_int8": ms, "ms_fp32": ms_fp32, "speedup": ms_fp32 / ms,
               "ap": evaluate(est), "video": agreement(ref_people, video_people(est, frames))}
        rows.append(row)
        print(json.dumps(row), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"fp32": base, "rows": rows, "per_layer": layers,
                                    "calibration_frames": len(calib)}, indent=1))
    print("| layers in floating point | heat corr | PAF corr | int8 / fp32 speed | AP coco_dev "
          "| AP coco | demo: same count | demo: keypoints within a cell |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| all (fp32) | 1.000 | 1.000 | 1.00 | {base['ap']['coco_dev']:.3f} | "
          f"{base['ap']['coco']:.3f} | - | - |")
    for r in rows:
        v = r["video"]
        print(f"| {r['float_layers']} | {r['corr_heat']:.3f} | {r['corr_paf']:.3f} | "
              f"{r['speedup']:.2f} | {r['ap']['coco_dev']:.3f} | {r['ap']['coco']:.3f} | "
              f"{v['same_count']}/{v['frames']} | {v['near']}/{v['keypoints']} |")


if __name__ == "__main__":
    main()
