"""posebatch image and posebatch evaluate: photos in, keypoints and AP out."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from rich.markup import escape

from ..engine.quality import describe, resolve_refine
from .common import (INPUTS_FAILED, Given, command, console, err, estimator, fail, guard,
                     model_config)


@command(no_args_is_help=True)
def image(
    paths: Annotated[list[Path], typer.Argument(help="Image files.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the tables and the "
                   "annotated images.", show_default=False)],
    skeleton_only: Annotated[bool, typer.Option("--skeleton-only",
                             help="Also write the skeletons on black.")] = False,
    panels: Annotated[bool, typer.Option("--panels", help="Also write a 4-panel figure: "
                      "result, heatmap max, PAF x, PAF y.")] = False,
    coco: Annotated[Optional[Path], typer.Option("--coco", help="Write COCO keypoint results "
                    "(17 keypoints) to this JSON file.")] = None,
    coco_gt: Annotated[Optional[Path], typer.Option("--coco-gt", exists=True, dir_okay=False,
                       help="COCO annotations to take image ids from (else from file names).",
                       show_default=False)] = None,
    *, opts: Given,
):
    """Find people in images: keypoints.parquet, images.parquet and annotated PNGs in OUT."""
    from ..runner.evaluate import gt_images
    from ..runner.images import run_images

    with guard():
        model, config = model_config(opts)      # checked before anything is written
        if not any(p.exists() for p in paths):
            raise fail(f"no such image: {', '.join(map(str, paths[:3]))}"
                       f"{' ...' if len(paths) > 3 else ''}; name image files that exist")
        second = resolve_refine(opts.value("quality"), opts.get("refine"))
        est = estimator(opts, (model, config))
        ids = {name: i for i, name in gt_images(coco_gt)} if coco_gt else None
        report = run_images(paths, out, est, skeleton=skeleton_only, panels=panels,
                            coco_ids=ids, refine=second)
        if coco:
            coco.parent.mkdir(parents=True, exist_ok=True)
            coco.write_text(json.dumps(report.coco))
    t = Table("image", "people", "status")
    for o in report.outcomes:
        t.add_row(o.image, "" if o.people is None else str(o.people),
                  "ok" if o.status == "ok" else f"[red]{escape(str(o.error))}[/red]")
    console.print(t)
    console.print(f"keypoints: {report.keypoints_path}\nimages: {report.images_path}")
    if report.failed:
        err.print(f"[red]{len(report.failed)} of {len(report.outcomes)} images failed[/red]")
        raise typer.Exit(INPUTS_FAILED)


@command(no_args_is_help=True)
def evaluate(
    coco: Annotated[Path, typer.Option("--coco", exists=True, dir_okay=False,
                    help="COCO keypoint annotations.", show_default=False)],
    images: Annotated[Path, typer.Option("--images", exists=True, file_okay=False,
                      help="Folder with the annotated images.", show_default=False)],
    *, opts: Given,
):
    """Keypoint AP of a model on COCO-format ground truth (pycocotools COCOeval)."""
    from ..runner.evaluate import evaluate as coco_evaluate, gt_images, to_coco
    from ..runner.images import read_image
    from ..engine.refine import refine_result

    with guard():
        second = resolve_refine(opts.value("quality"), opts.get("refine"))
        est = estimator(opts)
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
    console.print(f"{opts.value('model')}, quality {opts.value('quality')} "
                  f"({describe(est.config)}"
                  f"{', refine people' if second.enabled else ''}): "
                  f"{len(results)} people found", soft_wrap=True, highlight=False)
    t = Table(*shown)
    t.add_row(*(f"{stats[k]:.3f}" for k in shown))
    console.print(t)
