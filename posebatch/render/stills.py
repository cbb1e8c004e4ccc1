"""Still frames of a finished job drawn from its keypoints table (what ``posebatch demo`` shows
first): the same drawing as the renders, without encoding a video."""
from __future__ import annotations

from pathlib import Path

import cv2

from ..decode import decode_sequential, index_video, upright
from ..engine.layout import job_layout
from ..engine.poses import Poses
from ..storage.store import read_manifest
from ..storage.tables import read
from .draw import draw_tracked


def draw_frames(out: Path, videos: list[dict], folder: Path, n: int) -> list[Path]:
    """Draw ``n`` evenly spaced frames of the first decoded video of job ``out`` (its
    ``videos`` entries) from the keypoints table, as the renders draw them (each track in its
    colour, labelled with its id): PNGs in ``folder``."""
    ok = [v for v in videos if v["status"] == "ok" and v["frames"]]
    if not ok or n <= 0:
        return []
    video = ok[0]
    kp = read(out, "keypoints", video_id=video["video_id"])
    layout = job_layout(read_manifest(out))
    picks = {int(i * video["frames"] / n) for i in range(n)}
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    turn = index_video(Path(video["path"])).turn
    for f in decode_sequential(Path(video["path"])):
        if f.index in picks:
            poses = Poses.from_rows(kp[kp.frame == f.index], layout, by="track", smoothed=True)
            drawn = draw_tracked(upright(f.image, turn), poses.keypoints, poses.ids, layout)
            p = folder / f"frame{f.index:04d}.png"
            cv2.imwrite(str(p), drawn)
            written.append(p)
        if f.index >= max(picks):
            break
    return written
