"""posebatch run, status and demo: the batch job."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..engine.quality import Quality
from ..render.video import Style
from .common import (QUALITY_PANEL, CoordsOpt, FlipOpt, HeightOpt, PersonScoreOpt, PrecisionOpt,
                     PreOpt, RefineOpt, RuntimeOpt, ScalesOpt, SubpixelOpt, UpOpt, app, console,
                     err, guard, pose_overrides,
                     resolve_asset)
from .progress import job_progress
from .gait import run_gait
from .render import run_render


_TRACK_PANEL = "Tracking and smoothing (a job file's \\[track] table)"
_RANGE_PANEL = "What to analyse (per video: a job file's \\[videos.\"NAME\"] tables)"


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
    console.print(f"settings: {report.settings}", soft_wrap=True, highlight=False)


def write_summary_json(report, path: Path) -> None:
    """The job's outcome for machines: totals and one entry per input (atomic write)."""
    import json

    from ..storage.atomic import atomic_write_bytes

    summary = {
        "schema": "posebatch.summary/1", "out": str(report.out),
        "manifest": str(report.manifest), "seconds": round(report.seconds, 3),
        "frames_total": report.frames_total, "frames_done_this_run": report.frames_done,
        "inputs": len(report.videos), "failed": len(report.failed),
        "tables": {k: str(v) for k, v in report.tables.items()},
        "videos": [{k: v[k] for k in ("video_id", "video", "path", "status", "error", "frames",
                                      "decoded_frames", "people_frames", "corrupt_frames",
                                      "tracks")}
                   for v in report.videos],
    }
    atomic_write_bytes(Path(path), json.dumps(summary, indent=2).encode())


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
    quality: Annotated[Optional[Quality], typer.Option(
        "--quality", help="fast | balanced | accurate | reference (tf-pose-estimation "
        "exactly): a bundle of the settings below, chosen from the measured speed/accuracy "
        "curve (README); any of them given on its own wins. \\[default: balanced]",
        show_default=False, rich_help_panel=QUALITY_PANEL)] = None,
    preprocess: PreOpt = None,
    height: HeightOpt = None,
    upsample: UpOpt = None,
    precision: PrecisionOpt = None,
    runtime: RuntimeOpt = None,
    coords: CoordsOpt = None,
    subpixel: SubpixelOpt = None,
    flip: FlipOpt = None,
    scales: ScalesOpt = None,
    person_score: PersonScoreOpt = None,
    refine: RefineOpt = None,
    chunk: Annotated[Optional[int], typer.Option("--chunk", help="Frames per task. "
                     "\\[default: 128]", show_default=False)] = None,
    actors: Annotated[Optional[int], typer.Option("--actors", help="Pose actors (0: CPUs / "
                      "threads). \\[default: 0]", show_default=False)] = None,
    threads: Annotated[Optional[int], typer.Option("--threads", help="TensorFlow threads "
                       "(CPUs reserved) per actor. \\[default: 1]", show_default=False)] = None,
    address: Annotated[Optional[str], typer.Option("--address", help="Address of a running "
                       "Ray cluster (HOST:PORT); without it a local runtime is started.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Recompute every chunk.")] = False,
    frame_timeout: Annotated[Optional[float], typer.Option(
        "--frame-timeout", help="Seconds per frame (plus 120 s) a chunk may run before its "
        "worker is presumed hung, stopped and replaced. \\[default: 10]",
        show_default=False)] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress",
                        help="Show progress: a bar on a terminal, a line every "
                        "--log-interval seconds otherwise.")] = True,
    log_interval: Annotated[float, typer.Option(
        "--log-interval", help="Seconds between progress lines when the output is not a "
        "terminal.", min=1.0)] = 30.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress and no summary "
                     "table; errors and failed inputs are still reported.")] = False,
    summary_json: Annotated[Optional[Path], typer.Option(
        "--summary-json", help="Also write the outcome as JSON to this file (per video: "
        "status, frames, error; totals).")] = None,
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
    gait: Annotated[bool, typer.Option("--gait", help="Then analyse the gait of every "
                    "walking track (posebatch gait OUT).")] = False,
    height_m: Annotated[Optional[float], typer.Option(
        "--height-m", help="With --gait: the walker's height in metres.")] = None,
    render: Annotated[Optional[Style], typer.Option(
        "--render", help="Then render every video in this style (posebatch render OUT "
        "--style STYLE).")] = None,
    cutoff: Annotated[Optional[float], typer.Option(
        "--cutoff", help="Low-pass cut-off (Hz) of the zero-lag Butterworth filter; 0: off. "
        "\\[default: 6]", show_default=False, rich_help_panel=_TRACK_PANEL)] = None,
    start: Annotated[Optional[str], typer.Option(
        "--start", help="Analyse from here: seconds (12.5, 12.5s, 1:02.5) or a frame (300f). "
        "\\[default: the video's start]", show_default=False,
        rich_help_panel=_RANGE_PANEL)] = None,
    end: Annotated[Optional[str], typer.Option(
        "--end", help="Up to (not including) here, in the same forms. \\[default: the "
        "video's end]", show_default=False, rich_help_panel=_RANGE_PANEL)] = None,
    every: Annotated[Optional[int], typer.Option(
        "--every", help="Analyse every Nth frame of the range (times stay the container's). "
        "\\[default: 1]", show_default=False, rich_help_panel=_RANGE_PANEL)] = None,
    people: Annotated[Optional[int], typer.Option(
        "--people", help="With --gait or --render: only the N most prominent tracks of each "
        "video (time in view x size); the tables keep every track.",
        show_default=False)] = None,
):
    """Find and follow every person in every video frame: Parquet tables in OUT, resumable."""
    from ..runner.spec import make_spec
    from ..runner import run_job

    with guard():
        from ..runner.spec import TrimError, check_people, check_trim

        check_trim({"start": start, "end": end, "every": 1 if every is None else every}, "--")
        if people is not None and not (gait or render):
            raise TrimError("--people chooses the tracks of --gait and --render: add one of "
                            "them (the tables keep every track)")
        check_people(people)
        spec = make_spec(job, {"inputs": tuple(inputs or ()), "out": str(out) if out else None,
                               "model": model, "quality": quality,
                               **pose_overrides(preprocess, height, upsample, coords,
                                                precision, subpixel, flip, scales,
                                                person_score, runtime=runtime),
                               "refine": refine, "chunk": chunk,
                               "actors": actors, "threads": threads, "address": address,
                               "frame_timeout": frame_timeout,
                               "force": force or None,
                               "start": start, "end": end, "every": every,
                               "track": {"enabled": track, "max_gap": max_gap,
                                         "min_seen": min_seen,
                                         "min_similarity": min_similarity,
                                         "swap_horizon": swap_horizon, "fill_gap": fill_gap,
                                         "cutoff": cutoff}})
        try:
            report = run_job(spec, job_progress(err, progress and not quiet, log_interval),
                             resolve_asset)
        except KeyboardInterrupt:
            err.print(f"[yellow]interrupted: finished chunks are kept in {spec.out}; run the "
                      "same command again to resume[/yellow]")
            raise typer.Exit(130) from None
        if summary_json:
            write_summary_json(report, summary_json)
    if not quiet:
        _summary(report)
    if gait or render:
        with guard():
            if gait:
                run_gait(Path(spec.out), height_m=height_m, people=people)
            if render:
                run_render(Path(spec.out), render, people=people)
    bad = [v["video"] for v in report.failed]
    if bad:
        err.print(f"[red]{len(bad)} of {len(report.videos)} inputs failed:[/red] "
                  + ", ".join(bad), highlight=False)
        raise typer.Exit(1)


@app.command()
def status(out: Annotated[Path, typer.Argument(help="A job's output folder.")]):
    """Per-video progress of a job (running, stopped or complete): done, running, pending,
    failed."""
    from ..runner.status import job_status

    with guard():
        st = job_status(out)
    t = Table("video", "frames", "chunks done", "progress", "state",
              title=f"{out}: {st.shown_state} (model {st.model}, started {st.started})")
    total = done = 0
    colour = {"done": "green", "running": "cyan", "pending": "default", "stopped": "yellow",
              "failed": "red"}
    for v in st.videos:
        total, done = total + v.frames, done + v.frames_done
        pct = f"{100 * v.frames_done / v.frames:.0f}%" if v.frames else "-"
        shown = v.state if v.state != "failed" else f"failed: {v.error}"
        t.add_row(v.name, str(v.frames), f"{v.chunks_done}/{v.chunks}", pct,
                  f"[{colour[v.state]}]{shown}[/{colour[v.state]}]")
    for p in st.problems:
        t.add_row(p["path"], "0", "-", "-", f"[red]failed: {p['error']}[/red]")
    console.print(t)
    console.print(f"{done}/{total} frames done")


@app.command()
def demo(out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("out/demo"),
         renders: Annotated[int, typer.Option(help="Frames to draw as PNG for a first look.")] = 4,
         quality: Annotated[Optional[Quality], typer.Option(
             "--quality", help="fast | balanced | accurate | reference. \\[default: "
             "balanced]", show_default=False)] = None,
         progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True):
    """The main job on the built-in demo: fetch the model and the Sports2D demo video from
    PyPI, run `posebatch run` on every frame (jobs/demo.toml), its gait, a side-by-side MP4."""
    from ..runner.spec import DEMO_JOB, JobSpec
    from ..runner import run_job

    with guard():
        spec = JobSpec(**{**DEMO_JOB, "out": str(out),
                          **({"quality": quality} if quality else {})})
        try:
            report = run_job(spec, job_progress(err, progress), resolve_asset)
        except KeyboardInterrupt:
            err.print("[yellow]interrupted: run posebatch demo again to resume[/yellow]")
            raise typer.Exit(130) from None
        pngs = _draw_frames(report, out / "renders", renders)
        _summary(report)
        if not report.failed:
            run_gait(out)
            run_render(out, Style.SIDE_BY_SIDE)
    if pngs:
        console.print(f"renders: {pngs[0].parent}/ ({', '.join(p.name for p in pngs)})",
                      soft_wrap=True)
    console.print("open the tables with pandas: see notebooks/20_videos.ipynb and "
                  "notebooks/30_gait.ipynb")
    if report.failed:
        raise typer.Exit(1)


def _draw_frames(report, folder: Path, n: int) -> list[Path]:
    """Draw ``n`` evenly spaced frames of the first video from the keypoints table, as the
    renders draw them (each track in its colour, labelled with its id)."""
    import cv2

    from .. import render
    from ..engine.poses import Poses
    from ..storage.store import read_manifest
    from ..decode import decode_sequential, index_video, upright
    from ..engine.layout import job_layout
    from ..storage.tables import read

    ok = [v for v in report.videos if v["status"] == "ok" and v["frames"]]
    if not ok or n <= 0:
        return []
    video = ok[0]
    kp = read(report.out, "keypoints", video_id=video["video_id"])
    layout = job_layout(read_manifest(report.out))
    picks = {int(i * video["frames"] / n) for i in range(n)}
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    turn = index_video(Path(video["path"])).turn
    for f in decode_sequential(Path(video["path"])):
        if f.index in picks:
            poses = Poses.from_rows(kp[kp.frame == f.index], layout, by="track", smoothed=True)
            drawn = render.draw_tracked(upright(f.image, turn), poses.keypoints, poses.ids,
                                        layout)
            p = folder / f"frame{f.index:04d}.png"
            cv2.imwrite(str(p), drawn)
            out.append(p)
        if f.index >= max(picks):
            break
    return out
