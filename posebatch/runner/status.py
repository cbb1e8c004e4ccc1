"""How far a job is, read from its folder while it runs or after: per video done, running,
pending or failed, and whether a job is still writing the folder."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..storage.store import Store, chunks_done, lock_held, read_manifest, video_stamp


@dataclass(frozen=True)
class VideoProgress:
    name: str
    frames: int
    chunks: int
    chunks_done: int
    frames_done: int
    state: str             # done | running | pending | stopped | failed
    error: str | None = None


@dataclass(frozen=True)
class JobStatus:
    out: Path
    state: str             # the manifest's: running, interrupted, failed, complete
    alive: bool            # a job holds the folder's lock now
    model: str
    started: str
    videos: list[VideoProgress]
    problems: list[dict]

    @property
    def shown_state(self) -> str:
        if self.state == "running" and not self.alive:
            return "stopped (the job that wrote it is no longer running: rerun it to resume)"
        return self.state


def job_status(out: Path) -> JobStatus:
    out = Path(out)
    m = read_manifest(out)
    if m.get("kind") == "live":
        from ..errors import ConfigError

        live = m.get("live", {})
        raise ConfigError(f"{out} holds a live session ({m.get('state')}, "
                          f"{live.get('received', 0)} frames received, {live.get('processed', 0)}"
                          f" estimated, {live.get('skipped', 0)} skipped); its figures are in "
                          f"{out / 'manifest.json'} and its tables read with "
                          "posebatch.storage.tables.load")
    alive = lock_held(out)
    store = Store(out, m.get("params_key", ""))
    videos = []
    for v in m["videos"]:
        chunks = [tuple(c) for c in v["chunks"]]
        finished = chunks_done(out, v["store"], chunks) if v["store"] else []
        every = (v.get("range") or {}).get("every", 1)
        frames = sum(len(range(s, e, every)) for s, e in chunks)
        done_frames = sum(len(range(s, e, every)) for s, e in finished)
        if v.get("status") not in (None, "pending", "ok", "partial"):
            state = "failed"
        elif v["store"] and store.video_stats(v["video_id"], video_stamp(
                v["video_id"], v["name"], Path(v["store"]).parts[1], m.get("params_key", ""),
                m.get("track_key", ""), m.get("refine_key"), v.get("range"))) is not None:
            state = "done"
        elif not finished:
            state = "pending"
        else:
            state = "running" if alive else "stopped"
        videos.append(VideoProgress(v["name"], frames, len(chunks), len(finished),
                                    done_frames, state, v.get("error")))
    return JobStatus(out, m["state"], alive, m["model"]["name"], m.get("started", "?"),
                     videos, m.get("problems", []))
