"""posebatch export: a finished job's tables in the formats other tools read."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..export import Format
from .common import app, console, guard


@app.command()
def export(
    out: Annotated[Path, typer.Argument(help="A finished job's folder (posebatch run --out).",
                                        exists=True, file_okay=False)],
    format: Annotated[Format, typer.Option(
        "--format", "-f", help="openpose: a JSON file per frame (Pose2Sim); coco: COCO "
        "keypoint results; csv: a wide table per video; trc: marker trajectories per track "
        "(OpenSim-style tools).")],
    video: Annotated[Optional[str], typer.Option(help="Only this video (its name in the "
                     "tables, or its file name).")] = None,
    track: Annotated[Optional[int], typer.Option(help="Only this track.")] = None,
    to: Annotated[Optional[Path], typer.Option(
        "--out", "-o", help="Folder to write into. \\[default: OUT/export/FORMAT]",
        show_default=False)] = None,
    height_m: Annotated[Optional[float], typer.Option(
        "--height-m", help="trc: the walker's height in metres, for coordinates in metres "
        "(else pixels).")] = None,
):
    """Write OUT's keypoints as OpenPose JSON, COCO results, CSV or TRC (no inference)."""
    from ..export import export as run_export

    with guard():
        r = run_export(out, format, to, video=video, track=track, height_m=height_m)
    what = "tracks" if format in (Format.CSV, Format.TRC) else "detections"
    console.print(f"{format.value}: {len(r.files)} files for {r.videos} videos "
                  f"({r.frames} frames, {r.people} {what}) in {r.folder}", soft_wrap=True,
                  highlight=False)
