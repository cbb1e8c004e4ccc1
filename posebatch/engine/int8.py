"""INT8 on OpenVINO: NNCF post-training quantisation of the frozen graph, calibrated once per
model on real frames and cached with its settings and a checksum.

Quantising every layer destroys the part affinity fields (PAF correlation with fp32 0.04,
COCO AP 0.000): each stage of the network ends in a depthwise convolution whose output is tiny
(standard deviation 0.003-0.07, outliers 50 x larger) feeding the 1x1 convolution that writes
the stage's heatmaps or PAFs, and 8 bits cannot hold that activation. The per-layer
sensitivity analysis (``benchmarks/int8.py``, README "Runtimes") measures each layer's output
against fp32 and finds which layers must stay in floating point: :data:`FLOAT_RULES` names
the candidate sets it tried, :data:`RULE` the one used.

No configuration tried keeps the people (README "INT8": quantising only the backbone keeps AP
on coco_dev but loses 0.079 on the val images and 15% of the demo's keypoints move by more than
a heatmap cell), so ``--precision int8`` is refused (config.INT8_REFUSAL) and no preset uses
it; this module and the study are what the next attempt starts from.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from ..errors import RuntimeUnavailableError

log = logging.getLogger(__name__)

CALIBRATION_VIDEO_FRAMES = 60      # spread evenly over the demo video
CALIBRATION_SIZE = (432, 368)      # the models' input: the reference preprocessing
VERSION = 2                        # bump when calibration or rules change what is cached


def _stage_outputs(ops) -> list:
    """The 1x1 convolutions that write each stage's heatmaps (19) or PAFs (38)."""
    return [o for o in ops if o.get_type_name() == "Convolution"
            and o.get_output_partial_shape(0)[1].get_length() in (19, 38)]


def _inputs_of(nodes) -> list:
    return [n.input(0).get_source_output().get_node() for n in nodes]


def _stage_firsts(ops) -> list:
    """The layers that read a stage's input (backbone features concatenated with the previous
    stage's maps: ranges 30 x apart under one scale)."""
    return [t.get_node() for o in ops if o.get_type_name() == "Concat"
            for t in o.output(0).get_target_inputs()]


def _after_concat(ops, k: int) -> list:
    """Every convolution after the ``k``-th Concat in graph order (k = 0: the one that joins
    the backbone's features; the refinement stages are after it, stage s after the s-th)."""
    concats = [i for i, o in enumerate(ops) if o.get_type_name() == "Concat"]
    start = concats[k] if k < len(concats) else len(ops)
    return [o for o in ops[start:] if o.get_type_name() in ("Convolution", "GroupConvolution")]


def _after_layer(ops, n: int) -> list:
    """Every convolution but the first ``n`` in graph order."""
    convs = [o for o in ops if o.get_type_name() in ("Convolution", "GroupConvolution")]
    return convs[n:]


def _rule(name: str):
    def layers(model) -> list[str]:
        ops = model.get_ordered_ops()
        out = _stage_outputs(ops)
        if name.startswith("all but the first "):     # e.g. "all but the first 12"
            return sorted({n.get_friendly_name()
                           for n in _after_layer(ops, int(name.rsplit(" ", 1)[1]))})
        keep = {"none": [],
                "stages": _after_concat(ops, 0),
                "stages 2-6": _after_concat(ops, 1),
                "stage_outputs": out,
                "stage_outputs+inputs": out + _inputs_of(out),
                "stage_outputs+inputs+stage_firsts": out + _inputs_of(out) + _stage_firsts(ops),
                }[name]
        return sorted({n.get_friendly_name() for n in keep})
    return layers


# Which layers stay in floating point, by structure (OpenVINO names its operations by a
# per-process counter, Convolution_59, ...: names cannot be written down, roles can).
FLOAT_RULES = ("none", "stage_outputs", "stage_outputs+inputs",
               "stage_outputs+inputs+stage_firsts", "stages 2-6", "stages")
RULE = "stages"      # the best measured: only the backbone quantised


def float_layers(model, rule: str = RULE) -> list[str]:
    """Names, in ``model``, of the operations ``rule`` keeps in floating point."""
    return _rule(rule)(model)


def calibration_frames(video: Path, images: Path | None = None,
                       n_video: int = CALIBRATION_VIDEO_FRAMES) -> list[np.ndarray]:
    """(368, 432, 3) float32 network inputs, preprocessed as the presets do (stretched with
    cubic interpolation): ``n_video`` frames spread over ``video`` and every JPEG in
    ``images`` (the COCO development images where present)."""
    import cv2

    def prep(img):
        return cv2.resize(img, CALIBRATION_SIZE, interpolation=cv2.INTER_CUBIC
                          ).astype(np.float32)

    cap = cv2.VideoCapture(str(video))
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    frames = []
    for i in np.linspace(0, max(n - 1, 0), n_video).astype(int):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int(i))
        ok, f = cap.read()
        if ok:
            frames.append(prep(f))
    cap.release()
    for p in sorted(Path(images).glob("*.jpg")) if images else ():
        img = cv2.imread(str(p))
        if img is not None:
            frames.append(prep(img))
    return frames


def quantize(path: Path, frames: list[np.ndarray], rule: str = RULE,
             preset: str = "performance"):
    """The OpenVINO model of the graph at ``path`` quantised by NNCF on ``frames``, the
    layers of ``rule`` left in floating point; its input is left of any size."""
    try:
        import nncf
    except ImportError:
        raise RuntimeUnavailableError("precision int8 needs NNCF to calibrate once: pip "
                                      "install nncf (or posebatch's [int8] extra)") from None
    import openvino as ov

    model = ov.convert_model(str(path))
    w, h = CALIBRATION_SIZE
    model.reshape({model.inputs[0]: [1, h, w, 3]})
    scope = nncf.IgnoredScope(names=float_layers(model, rule)) if rule != "none" else None
    q = nncf.quantize(model, nncf.Dataset(frames, lambda x: x[None]),
                      subset_size=len(frames), ignored_scope=scope,
                      preset=nncf.QuantizationPreset(preset))
    q.reshape({q.inputs[0]: [-1, -1, -1, 3]})
    return q


def _settings(graph_sha: str, images: Path | None) -> dict:
    import nncf
    import openvino as ov

    return {"graph_sha256": graph_sha, "rule": RULE, "video_frames": CALIBRATION_VIDEO_FRAMES,
            "images": str(images) if images else None, "size": list(CALIBRATION_SIZE),
            "preset": "performance", "nncf": nncf.__version__, "openvino": ov.__version__,
            "version": VERSION}


def _digest(*files: Path) -> str:
    h = hashlib.sha256()
    for f in files:
        h.update(f.read_bytes())
    return h.hexdigest()


def calibration_images() -> Path | None:
    """Images calibrated on beside the demo video: $POSEBATCH_CALIBRATION_IMAGES (a folder of
    JPEGs; the measurements in the README used ../shared/data/coco_dev/train2017), else none."""
    env = os.environ.get("POSEBATCH_CALIBRATION_IMAGES")
    return Path(env).expanduser().resolve() if env else None


def quantized_model(path: Path, images: Path | None = None):
    """The cached INT8 model of the graph at ``path`` (calibrated now, once, when missing or
    when its settings or checksum do not match), calibrated on the demo video and ``images``
    (default :func:`calibration_images`)."""
    import openvino as ov

    images = images or calibration_images()
    from ..storage.atomic import atomic_write_bytes, sha256_file
    from ..models.manifest import cache_dir

    graph_sha = sha256_file(path)
    try:
        settings = _settings(graph_sha, images)
    except ImportError:
        raise RuntimeUnavailableError("precision int8 needs NNCF: pip install nncf") from None
    key = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    folder = cache_dir() / "int8"
    xml, bin_, meta = (folder / f"{key}.xml", folder / f"{key}.bin", folder / f"{key}.json")
    if meta.exists() and xml.exists() and bin_.exists():
        doc = json.loads(meta.read_text())
        if doc.get("settings") == settings and doc.get("sha256") == _digest(xml, bin_):
            return ov.Core().read_model(str(xml))
        log.warning("cached INT8 model %s does not match its settings or checksum: "
                    "calibrating again", xml)
    from ..models.fetch import ensure_asset
    from ..models.manifest import get_asset

    log.warning("calibrating the INT8 model once (NNCF, minutes; cached in %s)", folder)
    frames = calibration_frames(ensure_asset(get_asset("demo_video")), images,
                                CALIBRATION_VIDEO_FRAMES)
    q = quantize(path, frames)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"{key}.tmp.xml"
    ov.save_model(q, str(tmp))
    tmp.replace(xml)
    tmp.with_suffix(".bin").replace(bin_)
    atomic_write_bytes(meta, json.dumps({"settings": settings, "frames": len(frames),
                                         "sha256": _digest(xml, bin_)}, indent=1).encode())
    return ov.Core().read_model(str(xml))
