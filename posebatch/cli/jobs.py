"""posebatch run, status and demo: the batch job."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from rich.markup import escape

from ..engine.config import GaitConfig
from ..render.video import Style
from .common import (INPUTS_FAILED, INTERRUPTED, Given, app, command, console, err, fail,
                     guard, resolve_asset)
from .progress import job_progress


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
            notes.append(f"[red]{escape(v['video'])}[/red]: {escape(str(v['error']))}")
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


@command(no_args_is_help=True)
def run(
    inputs: Annotated[Optional[list[str]], typer.Argument(
        help="Video files and folders (searched recursively), or asset:demo_video.",
        metavar="INPUTS", show_default=False)] = None,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Where the job writes: "
                   "its tables, manifest and renders (the job's folder).",
                   show_default=False)] = None,
    job: Annotated[Optional[Path], typer.Option("--job", help="A TOML job file (posebatch "
                   "config prints one with every option); options given here override it.",
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
        "status, frames, error; totals).", show_default=False)] = None,
    gait: Annotated[bool, typer.Option("--gait", help="Then analyse the gait of every "
                    "walking track (posebatch gait OUT).")] = False,
    height_m: Annotated[Optional[float], typer.Option(
        "--height-m", help="With --gait: the walker's height in metres (lengths and speed in "
        "metres).", show_default=False)] = None,
    toe_offs: Annotated[Optional[str], typer.Option(
        "--toe-offs", help="With --gait: picture (the default) or ankle, as posebatch gait "
        "--toe-offs says.", metavar="picture|ankle", show_default=False)] = None,
    render: Annotated[Optional[Style], typer.Option(
        "--render", help="Then render every video in this style (posebatch render OUT "
        "--style STYLE).", case_sensitive=False, show_default=False)] = None,
    people: Annotated[Optional[int], typer.Option(
        "--people", help="With --gait or --render: only the N most prominent tracks of each "
        "video (seconds in view x median box height / frame height); the tables keep every "
        "track.", show_default=False)] = None,
    *, opts: Given,
):
    """Find and follow every person in every video frame: Parquet tables in OUT, resumable."""
    from ..runner import run_job
    from ..runner.spec import check_inputs, check_people, make_spec, video_trims

    if height_m is not None and not gait:
        raise fail("--height-m applies to the gait analysis: add --gait (or run posebatch "
                   "gait OUT --height-m M after the job)")
    if toe_offs is not None and not gait:
        raise fail("--toe-offs applies to the gait analysis: add --gait (or run posebatch "
                   "gait OUT --toe-offs ... after the job)")
    if people is not None and not (gait or render):
        raise fail("--people chooses the tracks of --gait and --render: add one of them (the "
                   "tables keep every track)")
    with guard():
        if gait:
            GaitConfig(height_m=height_m, toe_offs=toe_offs or "picture")
        check_people(people)
        spec = make_spec(job, {"inputs": tuple(inputs or ()), "out": str(out) if out else None,
                               **opts.section(""), "track": opts.section("track")})
        found = check_inputs(spec, resolve_asset)
        video_trims(spec, found.videos)       # a [videos."NAME"] table that names no input
        try:
            report = run_job(spec, job_progress(err, progress and not quiet, log_interval),
                             resolve_asset)
        except KeyboardInterrupt:
            raise fail(f"interrupted: finished chunks are kept in {spec.out}; run the same "
                       "command again to resume", INTERRUPTED) from None
        if summary_json:
            from ..runner.outcome import write_summary_json

            write_summary_json(report, summary_json)
    if not quiet:
        _summary(report)
    if gait or render:
        from .gait import run_gait
        from .render import run_render

        with guard():
            if gait:
                run_gait(Path(spec.out), height_m=height_m, people=people,
                         toe_offs=toe_offs or "picture")
            if render:
                run_render(Path(spec.out), render, people=people)
    bad = [v["video"] for v in report.failed]
    if bad:
        err.print(f"[red]{len(bad)} of {len(report.videos)} inputs failed:[/red] "
                  + escape(", ".join(bad)), highlight=False)
        raise typer.Exit(INPUTS_FAILED)


@app.command()
def status(out: Annotated[Path, typer.Argument(help="A job's folder (posebatch run --out).",
                                               show_default=False)]):
    """Per-video progress of a job (running, stopped or complete): done, running, pending,
    failed."""
    from ..runner.status import job_status

    with guard():
        st = job_status(out)
    # the job's state on a line of its own: a table's title wraps to the table's width
    console.print(f"{out}: {st.shown_state} (model {st.model}, started {st.started})",
                  soft_wrap=True)
    t = Table("video", "frames", "chunks done", "progress", "state")
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


@command()
def demo(out: Annotated[Path, typer.Option("--out", "-o", help="Where the demo job "
                                           "writes.")] = Path("out/demo"),
         renders: Annotated[int, typer.Option(help="Frames to draw as PNG for a first look.",
                                              min=0)] = 4,
         progress: Annotated[bool, typer.Option("--progress/--no-progress",
                                                help="Show progress.")] = True,
         *, opts: Given):
    """The main job on the built-in demo: fetch the model and the Sports2D demo video from
    PyPI, run `posebatch run` on every frame (jobs/demo.toml), its gait, a side-by-side MP4."""
    from ..runner.spec import DEMO_JOB, JobSpec
    from ..runner import run_job

    with guard():
        spec = JobSpec(**{**DEMO_JOB, "out": str(out), **opts.section("")})
        try:
            report = run_job(spec, job_progress(err, progress), resolve_asset)
        except KeyboardInterrupt:
            raise fail("interrupted: run posebatch demo again to resume",
                       INTERRUPTED) from None
        from ..render.stills import draw_frames
        from .gait import run_gait
        from .render import run_render

        pngs = draw_frames(report.out, report.videos, out / "renders", renders)
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
        raise typer.Exit(INPUTS_FAILED)


@app.command("config")
def config():
    """Print a complete job file with every option at its default, its unit and allowed
    values (posebatch config > job.toml; posebatch run --job job.toml)."""
    from ..runner.options import job_file

    typer.echo(job_file(), nl=False)
