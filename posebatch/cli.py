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
err = Console(stderr=True, soft_wrap=True)
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


_TRACK_PANEL = "Tracking and smoothing (a job file's \\[track] table)"


class _RichProgress:
    """The runner's progress drawn by rich: frames, frames/s, ETA, videos done and failed."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bar = None

    def start(self, total_frames: int, done_frames: int, videos: int) -> None:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeRemainingColumn)

        self.videos = videos
        if not self.enabled:
            return
        self.bar = Progress(TextColumn("[bold]frames"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[fps]}"), TimeRemainingColumn(),
                            TextColumn("{task.fields[videos]}"), console=err,
                            transient=False)
        self.bar.start()
        self.task = self.bar.add_task("frames", total=total_frames, completed=done_frames,
                                      fps="", videos=f"videos 0/{videos}")

    def advance(self, frames: int, videos_done: int, videos_failed: int) -> None:
        if self.bar is None:
            return
        self.bar.update(self.task, advance=frames)
        fps = self.bar.tasks[0].speed or 0.0
        failed = f", [red]{videos_failed} failed[/red]" if videos_failed else ""
        self.bar.update(self.task, fps=f"{fps:.1f} frames/s",
                        videos=f"videos {videos_done}/{self.videos}{failed}")

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


def _resolve_asset(name: str) -> Path:
    from .fetch import ensure_asset
    from .models import get_asset

    return ensure_asset(get_asset(name))


def _summary(report) -> None:
    t = Table("video", "frames", "decoded", "with people", "tracks", "seconds", "status",
              title=f"{len(report.videos)} inputs, {report.frames_total} frames "
                    f"({report.frames_done} computed in this run) in {report.seconds:.1f} s")
    notes = []
    for v in report.videos:
        status = "[green]ok[/green]" if v["status"] == "ok" else f"[red]{v['status']}[/red]"
        if v["status"] == "ok" and v["people_frames"] == 0:
            status = "[yellow]ok, nobody found[/yellow]"
        if v["error"]:
            notes.append(f"[red]{v['video']}[/red]: {v['error']}")
        t.add_row(v["video"], str(v["frames"]), str(v["decoded_frames"]),
                  str(v["people_frames"]), "" if v["tracks"] is None else str(v["tracks"]),
                  f"{v['seconds']:.1f}", status)
    console.print(t)
    for n in notes:
        console.print(n, highlight=False, soft_wrap=True)
    for name, path in report.tables.items():
        console.print(f"{name}: {path}", soft_wrap=True)
    console.print(f"manifest: {report.manifest}", soft_wrap=True)


@app.command()
def run(
    inputs: Annotated[Optional[list[str]], typer.Argument(
        help="Video files and folders (searched recursively), or asset:demo_video.",
        show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Output folder.")] = None,
    job: Annotated[Optional[Path], typer.Option("--job", help="A TOML job spec (see jobs/); "
                   "options given here override it.")] = None,
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Model name (posebatch "
                     "models list). \\[default: mobilenet_thin]", show_default=False)] = None,
    preprocess: Annotated[Optional[Preprocess], typer.Option(
        "--preprocess", help="reference | aspect. \\[default: reference]",
        show_default=False)] = None,
    upsample: Annotated[Optional[float], typer.Option("--upsample", help="Heatmap upsampling "
                        "ratio. \\[default: 4]", show_default=False)] = None,
    coords: Annotated[Optional[Coords], typer.Option("--coords", help="center | tfpose. "
                      "\\[default: center]", show_default=False)] = None,
    chunk: Annotated[Optional[int], typer.Option("--chunk", help="Frames per task. "
                     "\\[default: 128]", show_default=False)] = None,
    actors: Annotated[Optional[int], typer.Option("--actors", help="Pose actors (0: CPUs / "
                      "threads). \\[default: 0]", show_default=False)] = None,
    threads: Annotated[Optional[int], typer.Option("--threads", help="TensorFlow threads "
                       "(CPUs reserved) per actor. \\[default: 1]", show_default=False)] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Address of a running "
                       "Ray cluster (HOST:PORT); without it a local runtime is started.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Recompute every chunk.")] = False,
    progress: Annotated[bool, typer.Option("--progress/--no-progress",
                        help="Show the progress bar.")] = True,
    track: Annotated[Optional[bool], typer.Option(
        "--track/--no-track", help="Follow people through each video. \\[default: track]",
        show_default=False, rich_help_panel=_TRACK_PANEL)] = None,
    max_gap: Annotated[Optional[float], typer.Option(
        "--max-gap", help="Seconds a person may go unseen and keep their track. \\[default: 1]",
        show_default=False, rich_help_panel=_TRACK_PANEL)] = None,
    min_seen: Annotated[Optional[float], typer.Option(
        "--min-seen", help="Seconds a track must be detected to be reported. \\[default: 0.3]",
        show_default=False, rich_help_panel=_TRACK_PANEL)] = None,
    min_similarity: Annotated[Optional[float], typer.Option(
        "--min-similarity", help="Keypoint similarity (0-1) below which a detection never "
        "continues a track. \\[default: 0.2]", show_default=False,
        rich_help_panel=_TRACK_PANEL)] = None,
    swap_horizon: Annotated[Optional[float], typer.Option(
        "--swap-horizon", help="Seconds of left/right relabelling one body height of jumps "
        "pays for (longer swaps are left alone). \\[default: 0.2]", show_default=False,
        rich_help_panel=_TRACK_PANEL)] = None,
    fill_gap: Annotated[Optional[float], typer.Option(
        "--fill-gap", help="Longest gap (s) in a keypoint that is interpolated. \\[default: 0.2]",
        show_default=False, rich_help_panel=_TRACK_PANEL)] = None,
    cutoff: Annotated[Optional[float], typer.Option(
        "--cutoff", help="Low-pass cut-off (Hz) of the zero-lag Butterworth filter; 0: off. "
        "\\[default: 6]", show_default=False, rich_help_panel=_TRACK_PANEL)] = None,
):
    """Find every person in every frame of the videos and follow them through each video:
    Parquet tables in OUT, resumable."""
    from .job import make_spec
    from .runner import run_job

    with _guard():
        spec = make_spec(job, {"inputs": tuple(inputs or ()), "out": str(out) if out else None,
                               "model": model, "preprocess": preprocess,
                               "upsample": upsample, "coords": coords, "chunk": chunk,
                               "actors": actors, "threads": threads, "address": address,
                               "force": force or None,
                               "track": {"enabled": track, "max_gap": max_gap,
                                         "min_seen": min_seen,
                                         "min_similarity": min_similarity,
                                         "swap_horizon": swap_horizon, "fill_gap": fill_gap,
                                         "cutoff": cutoff}})
        try:
            report = run_job(spec, _RichProgress(progress), _resolve_asset)
        except KeyboardInterrupt:
            err.print(f"[yellow]interrupted: finished chunks are kept in {spec.out}; run the "
                      "same command again to resume[/yellow]")
            raise typer.Exit(130) from None
    _summary(report)
    bad = [v["video"] for v in report.failed]
    if bad:
        err.print(f"[red]{len(bad)} of {len(report.videos)} inputs failed:[/red] "
                  + ", ".join(bad), highlight=False)
        raise typer.Exit(1)


@app.command()
def status(out: Annotated[Path, typer.Argument(help="A job's output folder.")]):
    """Per-video progress of a job (running, interrupted or complete)."""
    from .store import read_manifest, chunks_done

    with _guard():
        m = read_manifest(out)
    t = Table("video", "frames", "chunks done", "progress", "status",
              title=f"{out}: {m['state']} (model {m['model']['name']}, "
                    f"started {m.get('started', '?')})")
    total = done = 0
    for v in m["videos"]:
        chunks = [tuple(c) for c in v["chunks"]]
        finished = chunks_done(out, v["store"], chunks) if v["store"] else []
        frames = sum(e - s for s, e in chunks)
        frames_done = sum(e - s for s, e in finished)
        total, done = total + frames, done + frames_done
        pct = f"{100 * frames_done / frames:.0f}%" if frames else "-"
        st = v.get("status") or ""
        shown = {"ok": "[green]ok[/green]", "pending": "pending"}.get(
            st, f"[red]{st}: {v.get('error')}[/red]")
        t.add_row(v["name"], str(v["frames"] or 0), f"{len(finished)}/{len(chunks)}", pct, shown)
    for p in m.get("problems", []):
        t.add_row(p["path"], "0", "-", "-", f"[red]error: {p['error']}[/red]")
    console.print(t)
    console.print(f"{done}/{total} frames done")


@app.command()
def demo(out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out/demo"),
         renders: Annotated[int, typer.Option(help="Frames to draw as PNG for a first look.")] = 4,
         progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True):
    """The main job on the built-in demo: fetch the model and the Sports2D demo video from
    PyPI, run `posebatch run` on every frame (jobs/demo.toml), draw a few frames."""
    from .job import DEMO_JOB, JobSpec
    from .runner import run_job

    with _guard():
        spec = JobSpec(**{**DEMO_JOB, "out": str(out)})
        try:
            report = run_job(spec, _RichProgress(progress), _resolve_asset)
        except KeyboardInterrupt:
            err.print("[yellow]interrupted: run posebatch demo again to resume[/yellow]")
            raise typer.Exit(130) from None
        pngs = _draw_frames(report, out / "renders", renders)
    _summary(report)
    if pngs:
        console.print(f"renders: {pngs[0].parent}/ ({', '.join(p.name for p in pngs)})",
                      soft_wrap=True)
    console.print("open the tables with pandas: see notebooks/20_videos.ipynb")
    if report.failed:
        raise typer.Exit(1)


def _draw_frames(report, folder: Path, n: int) -> list[Path]:
    """Draw ``n`` evenly spaced frames of the first video from the keypoints table, each
    person labelled with their track id."""
    import cv2
    import pandas as pd

    from . import render
    from .analyse import frame_keypoints, frame_tracks
    from .decode import decode_sequential, index_video, upright
    from .layout import COCO18

    ok = [v for v in report.videos if v["status"] == "ok" and v["frames"]]
    if not ok or n <= 0:
        return []
    video = ok[0]
    kp = pd.read_parquet(report.tables["keypoints"], filters=[("video_id", "=",
                                                               video["video_id"])])
    picks = {int(i * video["frames"] / n) for i in range(n)}
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    turn = index_video(Path(video["path"])).turn
    for f in decode_sequential(Path(video["path"])):
        if f.index in picks:
            labels = [f"{t}" if t >= 0 else "" for t in frame_tracks(kp, f.index)]
            drawn = render.draw_people(upright(f.image, turn), frame_keypoints(kp, f.index),
                                       COCO18, labels=labels)
            p = folder / f"frame{f.index:04d}.png"
            cv2.imwrite(str(p), drawn)
            out.append(p)
        if f.index >= max(picks):
            break
    return out


@app.command()
def bench(frames: Annotated[int, typer.Option(help="Frames of the video the job processes per "
                            "repeat.")] = 128,
          stage_frames: Annotated[int, typer.Option(help="Frames per repeat for the per-stage "
                                  "timings (held in memory).")] = 30,
          repeats: Annotated[int, typer.Option(help="Repeats; medians are reported.")] = 3,
          chunk: Annotated[int, typer.Option(help="Frames per job task.")] = 32,
          actors: Annotated[int, typer.Option(help="Job actors (0: CPUs / threads).")] = 0,
          threads: Annotated[int, typer.Option(help="TensorFlow threads per actor.")] = 1,
          model: ModelOpt = "mobilenet_thin",
          preprocess: PreOpt = Preprocess.REFERENCE,
          upsample: UpOpt = 4.0,
          video: Annotated[Optional[Path], typer.Option(help="Video to use instead of the "
                           "demo video.")] = None):
    """Frames/s of each stage, end to end in one process and through the job (Ray), with the
    bare network measured in the same run and the ratios printed."""
    from .bench import BARE, JOB, TRACK, StageTimes, bench_job
    from .job import JobSpec

    with _guard():
        video = video or _resolve_asset("demo_video")
        est = _estimator(model, preprocess, upsample)  # TensorFlow's own thread choice
        spec = JobSpec(inputs=(str(video),), out="-", model=model, preprocess=preprocess,
                       upsample=upsample, chunk=chunk, actors=actors, threads=threads)
        times = StageTimes()
        info = bench_job(video, spec, est, frames, stage_frames, repeats, times,
                         on_repeat=lambda r: err.print(f"repeat {r + 1}/{repeats} done"))
    net = times.median_ms(BARE)
    t = Table("stage", "ms/frame (median)", "frames/s", "throughput / bare network",
              title=f"{model}, {preprocess.value}, upsample {upsample:g}, {video.name}: stages "
                    f"on {stage_frames} frames, the job on {info['frames']} frames "
                    f"({info['chunks']} chunks of {chunk}, {info['actors']} actors x "
                    f"{threads} threads); {repeats} repeats")
    for stage in times.runs:
        ms = times.median_ms(stage)
        t.add_row(stage, f"{ms:.2f}", f"{1e3 / ms:.1f}", f"{net / ms:.2f}")
    console.print(t)
    console.print("per repeat, job end to end / bare network: "
                  + ", ".join(f"{a / b:.2f}" for a, b in zip(times.runs[BARE], times.runs[JOB])))
    console.print(f"job end to end: {times.fps(JOB):.1f} frames/s = {times.ratio(JOB):.2f} x "
                  f"the bare network ({times.fps(BARE):.1f} frames/s, same run)")
    console.print(f"track + smooth: {times.median_ms(TRACK):.2f} ms/frame = "
                  f"{100 * times.median_ms(TRACK) / net:.1f}% of the bare network's time")


if __name__ == "__main__":
    app()
