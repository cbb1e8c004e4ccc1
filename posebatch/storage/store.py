"""The output folder: finished chunks (what makes a job resumable), the job's tables as
Parquet datasets (one file per video and table, written as soon as the video is finished, so
nothing is copied at the end), the videos index and the manifest.

    OUT/manifest.json                       the job: parameters, model, versions, plan, outcome
    OUT/videos.parquet                      the index: one row per input (written last)
    OUT/{keypoints,people,frames,tracks}/VVVVVVVV.parquet    VVVVVVVV: the video's video_id
    OUT/.chunks/VIDEOKEY/PARAMSKEY/SSSSSSSS-EEEEEEEE.{keypoints,people,frames}.parquet

(VIDEOKEY ends in ``.everyN`` for a job analysing every Nth frame: a chunk then holds frames
SSSSSSSS, SSSSSSSS + N, ... before EEEEEEEE.)

A chunk is done when its ``frames`` file exists: it is written (atomically) after the other
two. VIDEOKEY depends on the file's path and bytes, PARAMSKEY on the model and everything that
changes keypoints, so changing either redoes exactly the affected chunks. A video's four
dataset files are done when its ``frames`` file (written last) carries the expected
``posebatch.video`` stamp: its place in the job, VIDEOKEY, PARAMSKEY and the tracking key;
it also holds the counts the videos index needs, so a resumed job need not read the chunks
of finished videos again. A folder is complete when ``videos.parquet`` exists: it is
removed before any new work and written when everything else is on disk.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from .atomic import atomic_write_bytes
from .schemas import (CHUNK_SCHEMA_VERSION, CHUNK_TABLES, SCHEMA_VERSION, TABLES, VIDEOS,
                      write_parquet)

log = logging.getLogger(__name__)

CHUNKS = ".chunks"
LOCK = ".lock"
TMP = ".tmp"
MANIFEST = "manifest.json"
INDEX = "videos.parquet"
DATASETS = ("keypoints", "people", "tracks", "frames")     # frames last: it marks a video done
_SECONDS_KEY = b"posebatch.seconds"
_DECODE_KEY = b"posebatch.decode"
_VIDEO_KEY = b"posebatch.video"


def chunk_file(start: int, end: int, table: str) -> str:
    return f"{start:08d}-{end:08d}.{table}.parquet"


def video_file(video_id: int) -> str:
    """A video's file name in each dataset folder (sorted names = video order)."""
    return f"{video_id:08d}.parquet"


def fingerprint(path: Path) -> str:
    """blake2b-128 of the file's bytes: a changed file is a different video."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, lambda: hashlib.blake2b(digest_size=16)).hexdigest()


def video_key(path: Path, fingerprint: str) -> str:
    where = hashlib.blake2b(str(Path(path).absolute()).encode(), digest_size=6).hexdigest()
    return f"{where}-{fingerprint[:16]}"


class Store:
    def __init__(self, out: Path, params_key: str):
        self.out = Path(out)
        self.params_key = params_key

    def chunk_dir(self, vkey: str) -> Path:
        return self.out / CHUNKS / vkey / self.params_key

    def _file(self, vkey: str, start: int, end: int, table: str) -> Path:
        return self.chunk_dir(vkey) / chunk_file(start, end, table)

    def is_done(self, vkey: str, start: int, end: int) -> bool:
        return self._file(vkey, start, end, "frames").exists()

    def write_chunk(self, vkey: str, start: int, end: int, tables: dict[str, pa.Table],
                    seconds: float, decode: str) -> None:
        """The frames file last: its presence marks the chunk done."""
        meta = {_SECONDS_KEY: f"{seconds:.6f}".encode(), _DECODE_KEY: decode.encode()}
        for name in ("keypoints", "people", "frames"):
            t = tables[name]
            t = t.replace_schema_metadata({**(t.schema.metadata or {}), **meta})
            write_parquet(t, self._file(vkey, start, end, name), f"chunk.{name}", {},
                          CHUNK_SCHEMA_VERSION, schema=CHUNK_TABLES[name])

    def read_chunk(self, vkey: str, start: int, end: int, table: str) -> pa.Table:
        return pq.read_table(self._file(vkey, start, end, table), schema=CHUNK_TABLES[table])

    def read_detections(self, vkey: str, chunks: list[tuple[int, int]]
                        ) -> tuple[pa.Table, pa.Table, pa.Table]:
        """A video's (keypoints, people, frames) chunk tables over all its chunks, in order:
        what tracking reads."""
        return tuple(pa.concat_tables([self.read_chunk(vkey, s, e, t) for s, e in chunks])
                     for t in ("keypoints", "people", "frames"))

    def chunk_info(self, vkey: str, start: int, end: int) -> tuple[float, str]:
        """(actor seconds, decode method) recorded with a finished chunk."""
        meta = pq.read_schema(self._file(vkey, start, end, "frames")).metadata or {}
        return float(meta.get(_SECONDS_KEY, b"0")), meta.get(_DECODE_KEY, b"seek").decode()

    # --- the job's tables: one file per video in each dataset folder ---------------------

    def dataset_path(self, table: str, video_id: int) -> Path:
        return self.out / table / video_file(video_id)

    def write_video(self, video_id: int, name: str, tables: dict[str, pa.Table],
                    stamp: dict, stats: dict, params: dict) -> None:
        """A video's four tables (without video columns) into the datasets, each file
        atomic, the frames file last with ``stamp`` and ``stats``: its stamp marks them
        done."""
        names = pa.array([name], pa.string())
        for table in DATASETS:
            t = tables[table]
            ids = pa.array([video_id] * t.num_rows, pa.int32())
            video = pa.DictionaryArray.from_arrays(pa.array([0] * t.num_rows, pa.int32()),
                                                   names)
            full = pa.table([ids, video] + t.columns, schema=TABLES[table])
            if table == "frames":
                full = full.replace_schema_metadata({**(full.schema.metadata or {}), _VIDEO_KEY:
                                                     json.dumps({**stamp, "stats": stats})})
            write_parquet(full, self.dataset_path(table, video_id), table, params,
                          tmp_dir=self.out / TMP, schema=TABLES[table])

    def video_stats(self, video_id: int, stamp: dict) -> dict | None:
        """The counts stored with a video's finished tables when they carry ``stamp``
        (None: not written, or written for another video, model or setting)."""
        path = self.dataset_path("frames", video_id)
        try:
            meta = pq.read_schema(path).metadata or {}
            found = json.loads(meta.get(_VIDEO_KEY, b"{}"))
        except (OSError, ValueError, pa.ArrowException):
            return None
        stats = found.pop("stats", None)
        return stats if found == stamp else None

    def prune(self, keep: set[int]) -> None:
        """Remove every dataset file but those of the videos in ``keep`` (finished, with the
        right stamp), and any temporary file an interrupted job left."""
        for table in DATASETS:
            folder = self.out / table
            if not folder.is_dir():
                continue
            keep_names = {video_file(i) for i in keep}
            for p in folder.iterdir():
                if p.name not in keep_names:
                    p.unlink() if not p.is_dir() else shutil.rmtree(p)
        shutil.rmtree(self.out / TMP, ignore_errors=True)

    def legacy_tables(self) -> dict[str, str]:
        """``posebatch.schema`` of each single-file table of an older posebatch (before the
        datasets: OUT/keypoints.parquet, ...) found in the folder."""
        out = {}
        for name in DATASETS:
            path = self.out / f"{name}.parquet"
            if path.is_file():
                meta = pq.read_schema(path).metadata or {}
                out[name] = meta.get(b"posebatch.schema", b"?").decode()
        return out

    def remove_legacy(self) -> None:
        for name in DATASETS:
            (self.out / f"{name}.parquet").unlink(missing_ok=True)

    def clear(self) -> None:
        """--force: forget every finished chunk and video."""
        shutil.rmtree(self.out / CHUNKS, ignore_errors=True)
        self.prune(set())

    def remove_index(self) -> None:
        """Before new work: the folder no longer holds a complete job."""
        (self.out / INDEX).unlink(missing_ok=True)

    def write_videos(self, rows: list[dict], params: dict) -> Path:
        return write_parquet(pa.Table.from_pylist(rows, schema=VIDEOS), self.out / INDEX,
                             "videos", params, schema=VIDEOS)

    def write_manifest(self, manifest: dict) -> Path:
        path = self.out / MANIFEST
        atomic_write_bytes(path, json.dumps(manifest, indent=2, default=str).encode())
        return path


def video_stamp(video_id: int, name: str, vkey: str, params_key: str, track_key: str,
                refine_key: str | None = None, frames: dict | None = None) -> dict:
    """What a video's dataset files must carry to be reused: its place and name in the job,
    its bytes and path, the pose settings, the tracking settings, the second look's
    (``refine_key``; None: off), the frames analysed (``frames``: first_frame, end_frame,
    every, to_end) and the schema."""
    return {"video_id": video_id, "name": name, "key": vkey, "params_key": params_key,
            "track_key": track_key, "refine_key": refine_key, "frames": frames,
            "schema": SCHEMA_VERSION}


@contextlib.contextmanager
def output_lock(out: Path) -> Iterator[None]:
    """One job at a time writes an output folder: an exclusive ``flock`` on ``OUT/.lock``,
    which the kernel releases when the process ends however it ends, so the lock of a crashed
    or killed job is never in the way (its note in the file is reported and replaced). A
    second job on the same folder is refused with who holds it."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / LOCK
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _lock_note(path)
            from ..errors import ConfigError

            raise ConfigError(
                f"{out} is being written by another posebatch job ({holder}); wait for it to "
                "finish (posebatch status shows how far it is), stop it, or use another --out")
        left = _lock_note(path)
        if left != "nobody":
            log.warning("%s: taking over the lock left by a job that did not finish (%s)",
                        out, left)
        note = {"pid": os.getpid(), "host": socket.gethostname(),
                "since": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(note).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)         # a clean end leaves no note behind
    finally:
        os.close(fd)                    # releases the flock


def lock_held(out: Path) -> bool:
    """Whether a job holds ``out``'s lock now (the other side of :func:`output_lock`)."""
    try:
        fd = os.open(Path(out) / LOCK, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def _lock_note(path: Path) -> str:
    try:
        note = json.loads(path.read_text() or "null")
    except (OSError, ValueError):
        return "unknown"
    if not note:
        return "nobody"
    return f"pid {note.get('pid')} on {note.get('host')}, since {note.get('since')}"


def chunks_done(out: Path, store_dir: str, chunks: list[tuple[int, int]]
                ) -> list[tuple[int, int]]:
    """The planned chunks whose frames file exists under OUT/store_dir."""
    d = Path(out) / store_dir
    return [(s, e) for s, e in chunks if (d / chunk_file(s, e, "frames")).exists()]


def read_manifest(out: Path) -> dict:
    path = Path(out) / MANIFEST
    if not path.exists():
        from ..errors import ConfigError

        raise ConfigError(f"{out}: no {MANIFEST}; is this the --out folder of a posebatch run?")
    return json.loads(path.read_text())
