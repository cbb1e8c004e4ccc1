"""posebatch gait: gait figures per walking track of a finished job."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from .common import app, console, guard

HeightOpt = Annotated[Optional[float], typer.Option(
    "--height-m", help="The walker's height in metres: lengths and speed in metres too "
    "(scaled by the track's median standing height, an approximation).", show_default=False)]


VideoDirOpt = Annotated[Optional[list[Path]], typer.Option(
    "--video-dir", help="Where the job's videos are now, if they were moved since the run (or "
    "the job's folder was taken to another machine): each is looked for there, at any depth, "
    "by its name, and used when it holds the bytes the job read; repeatable.",
    metavar="DIR", exists=True, file_okay=False, show_default=False)]


ToeOffsOpt = Annotated[str, typer.Option(
    "--toe-offs", help="picture: time each toe-off from the rear foot's toe tip in the video "
    "(read again around each one; where the foot is not found or the video is gone, the "
    "ankle's time), and where the ankle labels leave a bout's left/right uncertain, let the "
    "soles in the video say which foot is nearer the camera; ankle: from the ankle keypoint "
    "only, no video read.",
    metavar="picture|ankle")]


PeopleOpt = Annotated[Optional[int], typer.Option(
    "--people", help="Only the N most prominent tracks of each video (seconds in view x "
    "median box height / frame height); the tables keep every track.", show_default=False)]


def short_note(reason: str | None, flags: str | None) -> str:
    """The table's note, each part cut before its explanation ("no gait: not walking",
    "walks in place; left/right uncertain"): the reason there are no figures, else the
    flags. The summary table has them in full."""
    if isinstance(reason, str):
        return reason.split(" (")[0]
    if not isinstance(flags, str):
        return ""
    return "; ".join(min(f.split(" (")[0], f.split(": ")[0], key=len) for f in flags.split("; "))


def run_gait(out: Path, video: str | None = None, track: int | None = None,
             height_m: float | None = None, people: int | None = None,
             toe_offs: str = "picture", video_dirs: list[Path] | None = None) -> None:
    """Analyse, write OUT/gait/ and print the per-track summary."""
    from ..engine.config import GaitConfig
    from ..gait import analyse
    from ..gait.outputs import merged, write_gait
    from ..storage.tables import load

    from ..runner.spec import check_people

    config = GaitConfig(height_m=height_m, toe_offs=toe_offs)
    result = analyse(load(out, video_dirs or ()), config, video=video, track=track,
                     people=check_people(people))
    written = merged(out, result, config, video, track)   # the other videos' gait kept
    paths = write_gait(out, written, config, figures=result.summary)
    t = Table("video", "track", "strides", "cadence (steps/min)", "stride (s)", "stance %",
              "symmetry %", "speed" + (" (m/s)" if height_m else " (px/s)"), "note",
              title=f"gait: {len(result.summary)} tracks")
    for _, r in result.summary.iterrows():
        fmt = lambda v, d=2: "" if v is None or v != v else f"{v:.{d}f}"  # noqa: E731
        speed = r.get("speed_m_s") if height_m else r.get("speed_px_s")
        t.add_row(str(r.video), str(r.track), fmt(r.get("strides"), 0),
                  fmt(r.get("cadence_steps_per_min"), 1), fmt(r.get("stride_time_s")),
                  fmt(r.get("stance_pct"), 1), fmt(r.get("symmetry_index"), 1), fmt(speed),
                  short_note(r["reason"], r["flags"]))
    console.print(t)
    kept = len(written.summary) - len(result.summary)
    if kept:
        console.print(f"the gait of {kept} other tracks already in {out / 'gait'} is kept",
                      soft_wrap=True)
    if result.summary[["reason", "flags"]].notna().any(axis=None):
        console.print("notes in full: the summary's reason and flags columns", soft_wrap=True)
    for name, p in paths.items():
        console.print(f"{name}: {p}", soft_wrap=True)


@app.command(no_args_is_help=True)
def gait(out: Annotated[Path, typer.Argument(help="A finished job's folder (posebatch run --out).",
                                    metavar="JOB", show_default=False)],
         video: Annotated[Optional[str], typer.Option(help="Only this video (its name in "
                                                     "the tables).", show_default=False)] = None,
         track: Annotated[Optional[int], typer.Option(help="Only this track.",
                                                      show_default=False)] = None,
         height_m: HeightOpt = None,
         people: PeopleOpt = None,
         toe_offs: ToeOffsOpt = "picture",
         video_dir: VideoDirOpt = None):
    """Gait of every walking track: angles, events, strides and summary in JOB/gait/."""
    from ..engine.config import GaitConfig
    from ..runner.spec import check_people
    from ..storage.tables import require_job

    with guard():
        GaitConfig(height_m=height_m, toe_offs=toe_offs)
        check_people(people)
        require_job(out)
        run_gait(out, video, track, height_m, people, toe_offs, video_dir)
