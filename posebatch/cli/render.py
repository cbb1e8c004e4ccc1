"""posebatch render: videos drawn from a job's tables (never running the network again)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..render.video import Style
from .common import app, choice_enum, console, guard
from .gait import PeopleOpt, VideoDirOpt

# The right half of a side-by-side: what it can be (not side-by-side itself).
Right = choice_enum("right", (Style.SKELETON.value, Style.OVERLAY.value))


def run_render(out: Path, style: Style, videos: list[str] | None = None,
               start: float | None = None, end: float | None = None,
               dest: Path | None = None, right: Style = Style.SKELETON, raw: bool = False,
               max_width: int = 1280, captions: bool = True, events: bool = True,
               chunk: int = 64, actors: int = 0, address: str | None = None,
               people: int | None = None, video_dirs: list[Path] | None = None) -> list:
    from ..runner.render_job import render_videos
    from ..runner.spec import check_people
    from ..render.video import RenderOptions

    opts = RenderOptions(style=style, right=right, raw=raw, max_width=max_width,
                         captions=captions, events=events)
    done = render_videos(out, opts, videos, start, end, dest, chunk, actors, address,
                         check_people(people), video_dirs or ())
    for r in done:
        shown = "" if people is None else \
            f"; tracks {', '.join(map(str, r.tracks)) or 'none'}"
        console.print(f"render: {r.path} ({r.frames} frames of {r.video}{shown})",
                      soft_wrap=True)
    return done


@app.command(no_args_is_help=True)
def render(
    out: Annotated[Path, typer.Argument(help="A finished job's folder (posebatch run --out).",
                                    metavar="JOB", show_default=False)],
    style: Annotated[Style, typer.Option("--style", help="overlay: on the video; skeleton: "
                     "on black; side-by-side: the video and --right at the same instant.",
                     case_sensitive=False)] = Style.OVERLAY,
    video: Annotated[Optional[list[str]], typer.Option("--video", help="Only this video "
                     "(its name in the tables); repeatable.", show_default=False)] = None,
    start: Annotated[Optional[float], typer.Option(help="From this second of the video.",
                                                   min=0, show_default=False)] = None,
    end: Annotated[Optional[float], typer.Option(help="Up to this second.", min=0,
                                                 show_default=False)] = None,
    dest: Annotated[Optional[Path], typer.Option("--out", "-o", help="Where the renders are "
                    "written: a folder (or an .mp4 file for one video). \\[default: "
                    "JOB/renders]", show_default=False)] = None,
    right: Annotated[Right, typer.Option("--right", help="With --style side-by-side: what "
                     "the right half shows.", case_sensitive=False)] = Right("skeleton"),
    raw: Annotated[bool, typer.Option("--raw", help="The detections as found, not the "
                   "smoothed tracks.")] = False,
    max_width: Annotated[int, typer.Option("--max-width", help="Scale down to at most this "
                         "width (pixels).", min=16)] = 1280,
    captions: Annotated[bool, typer.Option("--captions/--no-captions", help="Video name, "
                        "frame, time and people count on each frame.")] = True,
    events: Annotated[bool, typer.Option("--events/--no-events", help="Mark gait contacts "
                      "at the ankle (when posebatch gait has run).")] = True,
    chunk: Annotated[int, typer.Option(help="Frames per render task.", min=1)] = 64,
    actors: Annotated[int, typer.Option(help="Parallel render tasks (0: one per CPU).",
                                        min=0)] = 0,
    address: Annotated[Optional[str], typer.Option(help="HOST:PORT of a running Ray cluster; "
                       "without it a local runtime is started.", show_default=False)] = None,
    people: PeopleOpt = None,
    video_dir: VideoDirOpt = None,
):
    """Draw a job's people on its videos: H.264 MP4s that play in browsers."""
    from ..runner.spec import check_people
    from ..storage.tables import require_job

    with guard():
        check_people(people)
        require_job(out)
        run_render(out, style, video, start, end, dest, Style(right.value), raw, max_width,
                   captions, events, chunk, actors, address, people, video_dir)


@app.command(no_args_is_help=True)
def report(out: Annotated[Path, typer.Argument(help="A finished job's folder (posebatch run --out).",
                                    metavar="JOB", show_default=False)],
           video_dir: VideoDirOpt = None):
    """One self-contained HTML page about the job (JOB/report.html): works offline."""
    from ..render.report import write_report
    from ..storage.tables import require_job

    with guard():
        require_job(out)
        path = write_report(out, video_dir or ())
    console.print(f"report: {path}", soft_wrap=True)
