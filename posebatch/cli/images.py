"""posebatch image and posebatch evaluate: photos in, keypoints and AP out."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..engine.quality import DEFAULT_QUALITY, describe
from ..engine.quality import resolve_refine
from .common import (CoordsOpt, FlipOpt, HeightOpt, ModelOpt, PersonScoreOpt, PrecisionOpt,
                     RuntimeOpt, PreOpt, QualityOpt, RefineOpt, ScalesOpt, SubpixelOpt,
                     ThreadsOpt, UpOpt, app, console, err, estimator, guard, pose_overrides)


@app.command()
def image(
    paths: Annotated[list[Path], typer.Argument(help="Image files.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    model: ModelOpt = "mobilenet_thin",
    quality: QualityOpt = DEFAULT_QUALITY,
    preprocess: PreOpt = None,
    height: HeightOpt = None,
    upsample: UpOpt = None,
    coords: CoordsOpt = None,
    precision: PrecisionOpt = None,
    runtime: RuntimeOpt = None,
    subpixel: SubpixelOpt = None,
    flip: FlipOpt = None,
    scales: ScalesOpt = None,
    person_score: PersonScoreOpt = None,
    refine: RefineOpt = None,
    skeleton_only: Annotated[bool, typer.Option("--skeleton-only",
                             help="Also write the skeletons on black.")] = False,
    panels: Annotated[bool, typer.Option("--panels", help="Also write a 4-panel figure: "
                      "result, heatmap max, PAF x, PAF y.")] = False,
    coco: Annotated[Optional[Path], typer.Option("--coco", help="Write COCO keypoint results "
                    "(17 keypoints) to this JSON file.")] = None,
    coco_gt: Annotated[Optional[Path], typer.Option("--coco-gt", exists=True, help="COCO "
                       "annotations to take image ids from (else from file names).")] = None,
    threads: ThreadsOpt = 0,
):
    """Find people in images: keypoints.parquet, images.parquet and annotated PNGs in OUT."""
    from ..runner.evaluate import gt_images
    from ..runner.images import run_images

    with guard():
        est = estimator(model, quality, threads, **pose_overrides(
            preprocess, height, upsample, coords, precision, subpixel, flip, scales,
            person_score, runtime=runtime))
        ids = {name: i for i, name in gt_images(coco_gt)} if coco_gt else None
        report = run_images(paths, out, est, skeleton=skeleton_only, panels=panels,
                            coco_ids=ids, refine=resolve_refine(quality, refine))
        if coco:
            coco.parent.mkdir(parents=True, exist_ok=True)
            coco.write_text(json.dumps(report.coco))
    t = Table("image", "people", "status")
    for o in report.outcomes:
        t.add_row(o.image, "" if o.people is None else str(o.people),
                  "ok" if o.status == "ok" else f"[red]{o.error}[/red]")
    console.print(t)
    console.print(f"keypoints: {report.keypoints_path}\nimages: {report.images_path}")
    if report.failed:
        err.print(f"[red]{len(report.failed)} of {len(report.outcomes)} images failed[/red]")
        raise typer.Exit(1)


@app.command()
def evaluate(
    coco: Annotated[Path, typer.Option("--coco", exists=True, help="COCO keypoint annotations.")],
    images: Annotated[Path, typer.Option("--images", exists=True, file_okay=False,
                      help="Folder with the annotated images.")],
    model: ModelOpt = "mobilenet_thin",
    quality: QualityOpt = DEFAULT_QUALITY,
    preprocess: PreOpt = None,
    height: HeightOpt = None,
    upsample: UpOpt = None,
    coords: CoordsOpt = None,
    precision: PrecisionOpt = None,
    runtime: RuntimeOpt = None,
    subpixel: SubpixelOpt = None,
    flip: FlipOpt = None,
    scales: ScalesOpt = None,
    person_score: PersonScoreOpt = None,
    refine: RefineOpt = None,
    threads: ThreadsOpt = 0,
):
    """Keypoint AP of a model on COCO-format ground truth (pycocotools COCOeval)."""
    from ..runner.evaluate import evaluate as coco_evaluate, gt_images, to_coco
    from ..runner.images import read_image
    from ..engine.refine import refine_result

    with guard():
        second = resolve_refine(quality, refine)
        est = estimator(model, quality, threads, **pose_overrides(
            preprocess, height, upsample, coords, precision, subpixel, flip, scales,
            person_score, runtime=runtime))
        results = []
        for image_id, name in gt_images(coco):
            img = read_image(images / name)
            res = est.estimate(img)
            kp, scores = res.keypoints, res.scores
            if second.enabled:     # the first pass's people are the boxes, as in a video
                again = refine_result(est, img, kp, scores, second)
                kp, scores = again.keypoints, again.scores
            results += to_coco(image_id, kp, scores, est.layout)
        stats = coco_evaluate(coco, results)
    shown = ("AP", "AP50", "AP75", "APm", "APl", "AR")
    console.print(f"{model}, quality {quality.value} ({describe(est.config)}"
                  f"{', refine people' if second.enabled else ''}): "
                  f"{len(results)} people found", soft_wrap=True, highlight=False)
    t = Table(*shown)
    t.add_row(*(f"{stats[k]:.3f}" for k in shown))
    console.print(t)
