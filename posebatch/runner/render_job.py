"""Rendering a job's videos on Ray: each video's frames cut into ranges, one task per range
(drawing and encoding a closed segment), at most one range per worker in flight, the driver
writing each segment as it arrives and joining them in order."""
from __future__ import annotations

import contextlib
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import pandas as pd

from ..decode import chunk_ranges, index_video
from ..errors import ConfigError
from .spec import JobSpec
from ..engine.layout import job_layout
from ..storage.store import read_manifest
from ..storage.tables import find_videos, keep_tracks, prominent, read
from ..render.video import RenderOptions, join_segments, render_range, safe_name, time_base

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rendered:
    video: str
    path: Path
    frames: int
    tracks: tuple[int, ...] = ()     # the tracks drawn


def render_videos(out: Path, opts: RenderOptions, videos: list[str] | None = None,
                  start: float | None = None, end: float | None = None,
                  dest: Path | None = None, chunk: int = 64, actors: int = 0,
                  address: str | None = None, people: int | None = None,
                  video_dirs: Sequence[Path] = ()) -> list[Rendered]:
    """Render the named videos of job folder ``out`` (all that decoded, by default) in
    ``opts.style``; files go to ``dest`` (a folder, or a .mp4 file for one video), by default
    OUT/renders/NAME.STYLE.mp4. ``start``/``end``: seconds of each video to render.
    ``people``: draw only the N most prominent tracks of each video
    (``posebatch.storage.tables.prominence``). ``video_dirs``: where videos moved since
    the run are now (``posebatch.storage.tables.find_videos``). A small render
    (:func:`_small`) is drawn here, without starting Ray, unless ``actors`` or ``address``
    ask for it."""
    from .cluster import local_cpus, ray_runtime, resolve_actors

    out = Path(out)
    table = read(out, "videos")
    table = table[table.status != "error"]
    if videos:
        missing = sorted(set(videos) - set(table.video))
        if missing:
            raise ConfigError(f"no video named {', '.join(missing)} in {out}; known: "
                              f"{', '.join(table.video)}")
        table = table[table.video.isin(videos)]
    if table.empty:
        raise ConfigError(f"{out}: no video to render (none decoded)")
    table = find_videos(table, video_dirs)
    gone = [f"{v.video} (" + ("a live stream, not kept" if getattr(v, "decode", None) == "live"
                              else f"no longer at {v.path}") + ")"
            for v in table.itertuples() if not Path(v.path).is_file()]
    if gone:
        raise ConfigError(f"cannot render {', '.join(gone)}: give the folder where a moved "
                          "video is now with --video-dir DIR, or name the others with --video "
                          "NAME")
    single = dest is not None and Path(dest).suffix.lower() == ".mp4"
    if single and len(table) > 1:
        raise ConfigError(f"--out {dest} is one file but {len(table)} videos are to be "
                          "rendered: give a folder, or --video NAME")
    events = _contacts(out) if opts.events else pd.DataFrame()
    chosen = (prominent(read(out, "tracks"), read(out, "videos"), people)
              if people is not None else None)
    layout = job_layout(read_manifest(out))
    plans = []
    for _, v in table.iterrows():
        index = index_video(Path(v.path))
        times = index.times()
        # the job's analysed range unless told otherwise (no rows outside it)
        first, stop = _analysed(v, index.frames)
        lo = int((times < start).sum()) if start is not None else first
        hi = int((times < end).sum()) if end is not None else stop
        ranges = [(lo + s, lo + e) for s, e in chunk_ranges(max(hi - lo, 0), chunk)]
        target = Path(dest) if single else Path(dest or out / "renders") / \
            f"{safe_name(v.video)}.{opts.style.value}.mp4"
        plans.append((v, index, ranges, target))
    spec = JobSpec(out=str(out), actors=actors, address=address)
    n_tasks = sum(len(r) for _, _, r, _ in plans)
    workers = min(resolve_actors(spec, local_cpus()), max(n_tasks, 1))
    inline = not actors and not address and _small(plans)
    done = []
    with contextlib.nullcontext() if inline else ray_runtime(spec, workers):
        if not inline:
            import ray

            task = ray.remote(num_cpus=1)(render_range)
        for v, index, ranges, target in plans:
            kp = read(out, "keypoints", video_id=int(v.video_id))
            if chosen is not None:
                kp = keep_tracks(kp, chosen)
            ev = events[events.video == v.video] if len(events) else events
            work = target.parent / f".{target.name}.segments"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            pending, paths = {}, []
            for i, (s, e) in enumerate(ranges):
                if len(pending) >= workers:
                    _collect(pending, work, block=True)
                every = _every(v)      # a frame between analysed ones shows the last
                part = kp[(kp.frame > s - every) & (kp.frame < e)]
                marks = ev[(ev.frame >= s) & (ev.frame < e)] if len(ev) else ev
                args = (index, s, e, part, marks, opts, layout, v.video, every)
                if inline:
                    data, n = render_range(*args)
                    (work / f"{i:06d}.mp4").write_bytes(data)
                    paths.append([work / f"{i:06d}.mp4", n])
                    continue
                ref = task.remote(*args)
                pending[ref] = [work / f"{i:06d}.mp4", None]
                paths.append(pending[ref])
            while pending:
                _collect(pending, work, block=True)
            join_segments(paths, target, time_base(index))
            shutil.rmtree(work, ignore_errors=True)
            drawn = tuple(sorted({int(t) for t in kp["track"].dropna()}))
            done.append(Rendered(v.video, target, ranges[-1][1] - ranges[0][0] if ranges else 0,
                                 drawn))
            log.info("rendered %s -> %s", v.video, target)
    return done


# Drawing and encoding take 12 ms a frame at 880x496 on one core of a 2-core Xeon (2026-11-30),
# starting Ray about 6 s there: a render of up to this many pixels (about 340 such frames, 70
# at 1080p) is done sooner here than on Ray.
_INLINE_PIXELS = 150e6


def _small(plans: list) -> bool:
    pixels = sum((r[-1][1] - r[0][0]) * index.width * index.height
                 for _, index, r, _ in plans if r)
    return pixels <= _INLINE_PIXELS


def _analysed(v, frames: int) -> tuple[int, int]:
    """The frames the job analysed in video row ``v`` (first, end); all of them for a job
    written before the range columns."""
    first = getattr(v, "first_frame", None)
    end = getattr(v, "end_frame", None)
    return (0 if first is None or pd.isna(first) else int(first),
            frames if end is None or pd.isna(end) else min(int(end), frames))


def _every(v) -> int:
    every = getattr(v, "every", None)
    return 1 if every is None or pd.isna(every) else int(every)


def _collect(pending: dict, work: Path, block: bool) -> None:
    import ray

    ready, _ = ray.wait(list(pending), num_returns=1, timeout=None if block else 0)
    for ref in ready:
        slot = pending.pop(ref)
        data, slot[1] = ray.get(ref)
        slot[0].write_bytes(data)


def _contacts(out: Path) -> pd.DataFrame:
    """The gait contacts (video, track, side, frame) when `posebatch gait` has run."""
    path = out / "gait" / "events.parquet"
    if not path.exists():
        return pd.DataFrame()
    ev = pd.read_parquet(path)
    return ev[ev.event == "contact"][["video", "track", "side", "frame"]] if len(ev) else ev
