"""posebatch render: videos drawn from a job's tables (never running the network again)."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..render.video import Style
from .common import app, console, guard
from .gait import PeopleOpt


def run_render(out: Path, style: Style, videos: list[str] | None = None,
               start: float | None = None, end: float | None = None,
               dest: Path | None = None, right: Style = Style.SKELETON, raw: bool = False,
               max_width: int = 1280, captions: bool = True, events: bool = True,
               chunk: int = 64, actors: int = 0, address: str | None = None,
               people: int | None = None) -> list:
    from ..runner.render_job import render_videos
    from ..runner.spec import check_people
    from ..render.video import RenderOptions

    opts = RenderOptions(style=style, right=right, raw=raw, max_width=max_width,
                         captions=captions, events=events)
    done = render_videos(out, opts, videos, start, end, dest, chunk, actors, address,
                         check_people(people))
    for r in done:
        shown = "" if people is None else \
            f"; tracks {', '.join(map(str, r.tracks)) or 'none'}"
        console.print(f"render: {r.path} ({r.frames} frames of {r.video}{shown})",
                      soft_wrap=True)
    return done


@app.command()
def render(
    out: Annotated[Path, typer.Argument(help="A finished job's output folder.")],
    style: Annotated[Style, typer.Option("--style", help="overlay | skeleton (on black) | "
                     "side-by-side (original and skeleton at the same instant).")
                     ] = Style.OVERLAY,
    video: Annotated[Optional[list[str]], typer.Option("--video", help="Only this video "
                     "(its name in the tables); repeatable.")] = None,
    start: Annotated[Optional[float], typer.Option(help="From this second of the video.")
                     ] = None,
    end: Annotated[Optional[float], typer.Option(help="Up to this second.")] = None,
    dest: Annotated[Optional[Path], typer.Option("--out", "-o", help="Folder (or .mp4 file "
                    "for one video). \\[default: OUT/renders]", show_default=False)] = None,
    right: Annotated[Style, typer.Option("--right", help="Right half of side-by-side: "
                     "skeleton | overlay.")] = Style.SKELETON,
    raw: Annotated[bool, typer.Option("--raw", help="The detections as found, not the "
                   "smoothed tracks.")] = False,
    max_width: Annotated[int, typer.Option("--max-width", help="Scale down to at most this "
                         "width (pixels).")] = 1280,
    captions: Annotated[bool, typer.Option("--captions/--no-captions", help="Video name, "
                        "frame, time and people count on each frame.")] = True,
    events: Annotated[bool, typer.Option("--events/--no-events", help="Mark gait contacts "
                      "at the ankle (when posebatch gait has run).")] = True,
    chunk: Annotated[int, typer.Option(help="Frames per render task.")] = 64,
    actors: Annotated[int, typer.Option(help="Parallel render tasks (0: one per CPU).")] = 0,
    address: Annotated[Optional[str], typer.Option(help="A running Ray cluster.")] = None,
    people: PeopleOpt = None,
):
    """Draw a job's people on its videos: H.264 MP4s that play in browsers."""
    with guard():
        run_render(out, style, video, start, end, dest, right, raw, max_width, captions,
                   events, chunk, actors, address, people)


@app.command()
def report(out: Annotated[Path, typer.Argument(help="A finished job's output folder.")]):
    """One self-contained HTML page about the job (OUT/report.html): works offline."""
    from ..render.report import write_report

    with guard():
        path = write_report(out)
    console.print(f"report: {path}", soft_wrap=True)
