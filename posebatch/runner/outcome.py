"""What the driver knows about each input as the job goes, and what it reports at the end:
the videos index's rows and the manifest's entries."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from ..decode import FrameRange, VideoIndex
from ..storage.store import Store
from ..storage.schemas import CHUNK_FRAMES, status_array


@dataclass
class VideoState:
    """Everything the driver knows about one input as the job goes."""

    video_id: int
    name: str
    path: Path
    size: int | None = None
    fingerprint: str | None = None
    index: VideoIndex | None = None
    key: str = ""
    span: FrameRange | None = None      # the frames analysed
    chunks: list[tuple[int, int]] = field(default_factory=list)
    remaining: int = 0
    status: str = "ok"
    error: str | None = None

    @property
    def failed(self) -> bool:
        return self.status != "ok"

    def range_entry(self) -> dict | None:
        """The frames analysed, as the manifest and the video's stamp record them."""
        if self.span is None:
            return None
        return {"first_frame": self.span.first, "end_frame": self.span.end,
                "every": self.span.every, "to_end": self.span.to_end}


@dataclass
class JobReport:
    out: Path
    videos: list[dict]
    problems: list[dict]
    tables: dict[str, Path]
    manifest: Path
    frames_done: int          # frames computed in this run
    frames_total: int
    seconds: float
    nodes: dict[str, int]
    settings: str = ""        # the quality preset and the settings it resolved to

    @property
    def failed(self) -> list[dict]:
        return [v for v in self.videos if v["status"] != "ok"]


class Progress:
    """What the runner tells its caller; the CLI draws it with rich."""

    def start(self, total_frames: int, done_frames: int, videos: int) -> None: ...
    def advance(self, frames: int, videos_done: int, videos_failed: int) -> None: ...
    def actors(self, working: int) -> None:
        """How many pose actors work now (after the pool starts, and whenever nodes or actors
        come and go): the speed and time left follow them."""
    def stop(self) -> None: ...


def missing_rows(index: VideoIndex, span: FrameRange | None = None) -> pa.Table | None:
    """Frames the container header promises beyond those it holds (a cut file): status
    ``missing``, no timestamp; only those of ``span`` when it runs to the video's end."""
    frames = missing_frames(index, span)
    n = len(frames)
    if n <= 0:
        return None
    return pa.table({
        "frame": pa.array(frames, pa.int32()), "pts": pa.nulls(n, pa.int64()),
        "time": pa.nulls(n, pa.float64()), "status": status_array(["missing"] * n),
        "people": pa.array(np.zeros(n, np.int16)),
        "error": pa.array([f"the container lists {index.container_frames} frames but holds "
                           f"packets for {index.frames}"] * n, pa.string()),
        "change": pa.nulls(n, pa.float32()), "repeat": pa.nulls(n, pa.bool_()),
    }, schema=CHUNK_FRAMES)


def missing_frames(index: VideoIndex, span: FrameRange | None = None) -> list[int]:
    """The frames the container lists beyond those it holds that ``span`` analyses."""
    if span is None:
        return list(range(index.frames, index.container_frames))
    if not span.to_end:
        return []
    return [i for i in range(max(index.frames, span.first), index.container_frames)
            if (i - span.first) % span.every == 0]


def manifest_video(st: VideoState, store: Store) -> dict:
    return {"video_id": st.video_id, "name": st.name, "path": str(st.path),
            "fingerprint": st.fingerprint, "frames": st.index.frames if st.index else None,
            "range": st.range_entry(), "chunks": st.chunks, "store": str(store.chunk_dir(st.key).relative_to(store.out))
            if st.key else None, "status": st.status if st.failed else "pending",
            "error": st.error}


def video_row(st: VideoState, stats: dict | None) -> dict:
    """The video's row of the videos index, from what finishing it counted (``stats``;
    None when it could not be opened)."""
    idx = st.index
    row = _empty_row(st.video_id, st.name, str(st.path), fingerprint=st.fingerprint,
                     size=st.size, status=st.status, error=st.error)
    if idx is None or stats is None:
        return row
    span = st.span or FrameRange(0, idx.frames)     # None: every frame (a live session)
    missing = len(missing_frames(idx, span))
    row.update(container_frames=idx.container_frames, frames=span.count + missing,
               first_frame=span.first, end_frame=span.end, every=span.every,
               tracks=stats["tracks"], repeated_frames=stats["repeated"],
               decoded_frames=stats["decoded"], people_frames=stats["people"], fps=idx.fps,
               width=idx.display_size[0], height=idx.display_size[1], codec=idx.codec,
               rotation=idx.turn, decode=stats["decode"], seconds=stats["seconds"],
               corrupt_frames=stats["corrupt"])
    bad, track_error, corrupt = stats["bad"], stats["track_error"], stats["corrupt"]
    if bad or missing or track_error or corrupt:
        row["status"] = "partial"
        parts = []
        if bad:
            parts.append(f"{bad} of {span.count} frames failed (first: {stats['first_error']})")
        if missing:
            parts.append(f"{missing} frames listed by the container are missing (file cut?)")
        if corrupt:
            parts.append(f"{corrupt} frames have damaged picture data (the decoder concealed "
                         f"it; first: frame {stats['first_corrupt']}; estimated all the same)")
        if track_error:
            parts.append(f"{track_error} (its keypoints are in the tables, untracked)")
        row["error"] = "; ".join(parts)
    return row


def _empty_row(video_id: int, video: str, path: str, **values) -> dict:
    """A videos row with nothing decoded; ``values`` fill in what is known."""
    return {"video_id": video_id, "video": video, "path": path, "fingerprint": None,
            "size": None, "status": "error", "error": None, "container_frames": None,
            "frames": 0, "decoded_frames": 0, "people_frames": 0, "fps": None, "width": None,
            "height": None, "codec": None, "rotation": None, "decode": None, "seconds": 0.0,
            "tracks": None, "repeated_frames": 0, "corrupt_frames": 0, "first_frame": None,
            "end_frame": None, "every": None, **values}


def problem_row(video_id: int, problem) -> dict:
    return _empty_row(video_id, problem.path, str(Path(problem.path).absolute()),
                      error=problem.error)


def write_summary_json(report: JobReport, path: Path) -> None:
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
