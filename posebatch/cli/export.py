"""posebatch export: a finished job's tables in the formats other tools read."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..export import Format, Legs
from .common import app, console, guard


@app.command(no_args_is_help=True)
def export(
    out: Annotated[Path, typer.Argument(help="A finished job's folder (posebatch run --out).",
                                    metavar="JOB", show_default=False)],
    format: Annotated[Format, typer.Option(
        "--format", "-f", help="openpose: a JSON file per frame (Pose2Sim); coco: COCO "
        "keypoint results; csv: a wide table per video; trc: marker trajectories per track "
        "(OpenSim-style tools).", case_sensitive=False, show_default=False)],
    video: Annotated[Optional[str], typer.Option(help="Only this video (its name in the "
                     "tables, or its file name).", show_default=False)] = None,
    track: Annotated[Optional[int], typer.Option(help="Only this track.",
                                                 show_default=False)] = None,
    to: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Where the files are written (a folder). \\[default: "
        "JOB/export/FORMAT]",
        show_default=False)] = None,
    height_m: Annotated[Optional[float], typer.Option(
        "--height-m", help="trc: the walker's height in metres, for coordinates in metres "
        "(else pixels).", show_default=False)] = None,
    legs: Annotated[Legs, typer.Option(
        help="csv, trc: the legs as tracked, or as the gait analysis names them (hip, knee "
        "and ankle traded where the network put the wrong foot ahead for the walk's events, "
        "smoothed again; needs `posebatch gait JOB` first).", case_sensitive=False)
    ] = Legs.TRACKED,
):
    """Write a job's keypoints as OpenPose JSON, COCO results, CSV or TRC (no inference)."""
    from ..errors import ConfigError
    from ..export import export as run_export
    from ..storage.tables import require_job

    with guard():
        if height_m is not None and format is not Format.TRC:
            raise ConfigError("--height-m applies to the trc format only (its units)")
        require_job(out)
        r = run_export(out, format, to, video=video, track=track, height_m=height_m,
                       legs=legs)
    what = "tracks" if format in (Format.CSV, Format.TRC) else "detections"
    console.print(f"{format.value}: {len(r.files)} files for {r.videos} videos "
                  f"({r.frames} frames, {r.people} {what}) in {r.folder}", soft_wrap=True,
                  highlight=False)
