"""The posebatch command line (Typer). Library errors become one clear line and exit code 1;
``--debug`` shows the traceback instead."""
from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from .config import Coords, PoseConfig, Preprocess, RuntimeConfig
from .errors import PosebatchError

app = typer.Typer(help="Batch human-pose analytics over images and videos.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
models_app = typer.Typer(help="List, fetch and add pose models.", no_args_is_help=True)
app.add_typer(models_app, name="models")

console = Console()
err = Console(stderr=True)
_state = {"debug": False}


@app.callback()
def _main(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
          verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress.")] = False):
    _state["debug"] = debug
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO if verbose else
                        logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


@contextlib.contextmanager
def _guard():
    try:
        yield
    except (PosebatchError, FileNotFoundError) as exc:
        if _state["debug"]:
            raise
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(1) from None


ModelOpt = Annotated[str, typer.Option("--model", "-m", help="Model name (posebatch models list).")]
PreOpt = Annotated[Preprocess, typer.Option("--preprocess", help="reference: stretch to the "
                   "model's input size (tf-pose-estimation); aspect: keep the aspect ratio.")]
UpOpt = Annotated[float, typer.Option("--upsample", help="Heatmap upsampling ratio.")]
CoordsOpt = Annotated[Coords, typer.Option("--coords", help="center: the centre of the "
                      "region a peak's cell saw (best AP); tfpose: tf-pose-estimation's corner "
                      "convention.")]
ThreadsOpt = Annotated[int, typer.Option("--threads", help="TensorFlow intra-op threads "
                       "(0: TensorFlow decides).")]


def _estimator(model: str, preprocess: Preprocess, upsample: float, threads: int = 0,
               coords: Coords = Coords.CENTER):
    from .estimator import Estimator
    from .models import get_model

    spec = get_model(model)
    cfg = PoseConfig(model=spec.name, preprocess=preprocess, net_width=spec.input_size[0],
                     net_height=spec.input_size[1], upsample=upsample, coords=coords)
    return Estimator(spec, cfg, RuntimeConfig(intra_threads=threads))


@app.command()
def image(
    paths: Annotated[list[Path], typer.Argument(help="Image files.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    model: ModelOpt = "mobilenet_thin",
    preprocess: PreOpt = Preprocess.REFERENCE,
    upsample: UpOpt = 4.0,
    coords: CoordsOpt = Coords.CENTER,
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
    from .coco import gt_images
    from .images import run_images

    with _guard():
        est = _estimator(model, preprocess, upsample, threads, coords)
        ids = {name: i for i, name in gt_images(coco_gt)} if coco_gt else None
        report = run_images(paths, out, est, skeleton=skeleton_only, panels=panels,
                            coco_ids=ids)
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
    preprocess: PreOpt = Preprocess.REFERENCE,
    upsample: UpOpt = 4.0,
    coords: CoordsOpt = Coords.CENTER,
    threads: ThreadsOpt = 0,
):
    """Keypoint AP of a model on COCO-format ground truth (pycocotools COCOeval)."""
    from .coco import evaluate as coco_evaluate, gt_images, to_coco
    from .images import read_image

    with _guard():
        est = _estimator(model, preprocess, upsample, threads, coords)
        results = []
        for image_id, name in gt_images(coco):
            res = est.estimate(read_image(images / name))
            results += to_coco(image_id, res.keypoints, res.scores, est.layout)
        stats = coco_evaluate(coco, results)
    shown = ("AP", "AP50", "AP75", "APm", "APl", "AR")
    t = Table(*shown, title=f"{model}, {preprocess.value}, upsample {upsample:g}, "
              f"{coords.value} coordinates: "
              f"{len(results)} people found")
    t.add_row(*(f"{stats[k]:.3f}" for k in shown))
    console.print(t)


@models_app.command("list")
def models_list():
    """Known models: cached? verified?"""
    from .errors import IntegrityError
    from .fetch import model_path, verify
    from .models import known_models

    with _guard():
        t = Table("name", "layout", "input", "cached", "verified", "source")
        for name, spec in known_models().items():
            path = model_path(spec)
            cached = path.exists()
            status = ""
            if cached:
                try:
                    verify(path, spec.sha256, name, "")
                    status = "[green]sha256 ok[/green]" if spec.sha256 else "[yellow]no sha256 on record[/yellow]"
                except IntegrityError:
                    status = "[red]MISMATCH: run models pull[/red]"
            src = "added locally" if spec.added else (spec.sources[0].describe() if spec.sources else "")
            t.add_row(name, spec.layout, "x".join(map(str, spec.input_size)),
                      "yes" if cached else "no", status, src)
        console.print(t)


@models_app.command("pull")
def models_pull(name: Annotated[str, typer.Argument(help="Model name.")],
                force: Annotated[bool, typer.Option("--force", help="Fetch even when cached.")] = False):
    """Download a model into the cache and verify its sha256."""
    from .fetch import pull_model

    with _guard():
        path = pull_model(name, force=force)
    console.print(f"{name}: {path}")


@models_app.command("add")
def models_add(
    name: Annotated[str, typer.Argument(help="Name to use with --model.")],
    path: Annotated[Path, typer.Argument(help="A frozen graph (graph_opt.pb).")],
    input: Annotated[str, typer.Option(help="Input tensor.")] = "image:0",
    output: Annotated[str, typer.Option(help="Output tensor.")] = "Openpose/concat_stage7:0",
    width: Annotated[int, typer.Option(help="Default input width.")] = 432,
    height: Annotated[int, typer.Option(help="Default input height.")] = 368,
    layout: Annotated[str, typer.Option(help="Keypoint layout.")] = "coco18",
):
    """Add a local frozen graph with the same inputs and outputs; its sha256 is recorded."""
    from .fetch import add_model

    with _guard():
        spec = add_model(name, path, input, output, (width, height), layout)
    console.print(f"added {spec.name} (sha256 {spec.sha256})")


@app.command()
def demo(out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out/demo"),
         frames: Annotated[int, typer.Option(help="Frames of the demo video to process.")] = 4):
    """Fetch the model and the demo video, find the people in frames of it, render them."""
    import cv2

    from .decode import decode_sequential, index_video
    from .fetch import ensure_asset, ensure_model
    from .images import run_images
    from .models import get_asset

    with _guard():
        ensure_model("mobilenet_thin")
        video = ensure_asset(get_asset("demo_video"))
        n = index_video(video).frames
        picks = {int(i * n / frames) for i in range(frames)}
        frame_dir = out / "frames"
        frame_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for f in decode_sequential(video):
            if f.index in picks:
                p = frame_dir / f"frame{f.index:04d}.png"
                cv2.imwrite(str(p), f.image)
                paths.append(p)
        report = run_images(paths, out, _estimator("mobilenet_thin", Preprocess.REFERENCE, 4.0),
                            skeleton=True, panels=True)
    for o in report.outcomes:
        console.print(f"{o.image}: {o.people} people")
    console.print(f"demo video: {video}\nrenders: {out}/*.png\nkeypoints: {report.keypoints_path}")


@app.command()
def bench(frames: Annotated[int, typer.Option(help="Frames of the demo video per repeat.")] = 30,
          repeats: Annotated[int, typer.Option(help="Repeats; medians are reported.")] = 3,
          model: ModelOpt = "mobilenet_thin",
          preprocess: PreOpt = Preprocess.REFERENCE,
          upsample: UpOpt = 4.0,
          threads: ThreadsOpt = 0,
          video: Annotated[Optional[Path], typer.Option(help="Video to use instead of the "
                           "demo video.")] = None):
    """Frames/s of each stage and end to end, with the bare network measured in the same run."""
    from .bench import bench_stages
    from .fetch import ensure_asset
    from .models import get_asset

    with _guard():
        video = video or ensure_asset(get_asset("demo_video"))
        est = _estimator(model, preprocess, upsample, threads)
        times = bench_stages(video, est, frames, repeats)
    net = times.median_ms("network")
    t = Table("stage", "ms/frame (median)", "frames/s", "x network time",
              title=f"{model}, {preprocess.value}, upsample {upsample:g}: {frames} frames x "
                    f"{repeats} repeats of {video.name}")
    for stage in times.runs:
        ms = times.median_ms(stage)
        t.add_row(stage, f"{ms:.2f}", f"{1e3 / ms:.1f}", f"{ms / net:.3f}")
    console.print(t)
    e2e = times.median_ms("end to end (sequential)")
    console.print(f"end to end / bare network throughput: {net / e2e:.2f}")


if __name__ == "__main__":
    app()
