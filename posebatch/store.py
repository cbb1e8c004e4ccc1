"""The output folder: finished chunks (what makes a job resumable), the final tables assembled
from them, and the job manifest.

    OUT/manifest.json                       the job: parameters, model, versions, plan, outcome
    OUT/{keypoints,people,frames,tracks,videos}.parquet
    OUT/.chunks/VIDEOKEY/PARAMSKEY/SSSSSSSS-EEEEEEEE.{keypoints,people,frames}.parquet
    OUT/.chunks/VIDEOKEY/PARAMSKEY/tracks-TRACKKEY.{keypoints,people,tracks}.parquet

A chunk is done when its ``frames`` file exists: it is written (atomically) after the other
two. VIDEOKEY depends on the file's path and bytes, PARAMSKEY on the model and everything that
changes keypoints, so changing either redoes exactly the affected chunks. A video's tracked
tables (TRACKKEY: the tracking settings) are done when their ``tracks`` file exists; they
depend only on the video's detections, not on how it was chunked.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Callable, Iterable

import pyarrow as pa
import pyarrow.parquet as pq

from .fetch import atomic_write_bytes
from .write import (CHUNK_SCHEMA_VERSION, CHUNK_TABLES, TABLES, TRACKED_TABLES, VIDEOS,
                    parquet_stream, write_parquet)

CHUNKS = ".chunks"
MANIFEST = "manifest.json"
FINAL = ("keypoints", "people", "frames", "tracks", "videos")
_SECONDS_KEY = b"posebatch.seconds"
_DECODE_KEY = b"posebatch.decode"


def chunk_file(start: int, end: int, table: str) -> str:
    return f"{start:08d}-{end:08d}.{table}.parquet"


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
                          CHUNK_SCHEMA_VERSION)

    def read_chunk(self, vkey: str, start: int, end: int, table: str) -> pa.Table:
        return pq.read_table(self._file(vkey, start, end, table), schema=CHUNK_TABLES[table])

    def read_detections(self, vkey: str, chunks: list[tuple[int, int]]
                        ) -> tuple[pa.Table, pa.Table, pa.Table]:
        """A video's (keypoints, people, frames) chunk tables over all its chunks, in order:
        what tracking reads."""
        return tuple(pa.concat_tables([self.read_chunk(vkey, s, e, t) for s, e in chunks])
                     for t in ("keypoints", "people", "frames"))

    def tracked_path(self, vkey: str, tkey: str, table: str) -> Path:
        return self.chunk_dir(vkey) / f"tracks-{tkey}.{table}.parquet"

    def is_tracked(self, vkey: str, tkey: str) -> bool:
        return self.tracked_path(vkey, tkey, "tracks").exists()

    def write_tracked(self, vkey: str, tkey: str, tables: dict[str, pa.Table]) -> None:
        """The tracks file last: its presence marks the video's tracking done."""
        for name in ("keypoints", "people", "tracks"):
            write_parquet(tables[name], self.tracked_path(vkey, tkey, name), f"video.{name}",
                          {})

    def read_tracked(self, vkey: str, tkey: str, table: str) -> pa.Table:
        return pq.read_table(self.tracked_path(vkey, tkey, table), schema=TRACKED_TABLES[table])

    def table_versions(self) -> dict[str, str]:
        """``posebatch.schema`` of each final table present (e.g. ``keypoints/1``)."""
        out = {}
        for name in FINAL:
            path = self.out / f"{name}.parquet"
            if path.exists():
                meta = pq.read_schema(path).metadata or {}
                out[name] = meta.get(b"posebatch.schema", b"?").decode()
        return out

    def chunk_info(self, vkey: str, start: int, end: int) -> tuple[float, str]:
        """(actor seconds, decode method) recorded with a finished chunk."""
        meta = pq.read_schema(self._file(vkey, start, end, "frames")).metadata or {}
        return float(meta.get(_SECONDS_KEY, b"0")), meta.get(_DECODE_KEY, b"seek").decode()

    def clear(self) -> None:
        """--force: forget every finished chunk."""
        shutil.rmtree(self.out / CHUNKS, ignore_errors=True)

    def remove_tables(self) -> None:
        """Before new work: the previous final tables no longer describe the job."""
        for name in FINAL:
            (self.out / f"{name}.parquet").unlink(missing_ok=True)

    def assemble(self, videos: list[tuple[int, str]],
                 parts: Callable[[int, str], Iterable[pa.Table]],
                 params: dict[str, Any]) -> dict[str, Path]:
        """Stream every video's tables, in order, into the final tables (one piece in memory
        at a time). ``videos``: (video_id, name); ``parts(video_id, table)`` yields that
        video's pieces of ``table`` without the video columns."""
        dictionary = pa.array([name for _, name in videos], pa.string())
        paths = {}
        for table, schema in TABLES.items():
            path = self.out / f"{table}.parquet"
            with parquet_stream(path, schema, table, params) as writer:
                for video_id, _ in videos:
                    for t in parts(video_id, table):
                        if t.num_rows == 0:
                            continue
                        ids = pa.array([video_id] * t.num_rows, pa.int32())
                        names_col = pa.DictionaryArray.from_arrays(ids, dictionary)
                        full = pa.table([ids, names_col] + t.columns, schema=schema)
                        writer.write_table(full)
            paths[table] = path
        return paths

    def write_videos(self, rows: list[dict], params: dict[str, Any]) -> Path:
        return write_parquet(pa.Table.from_pylist(rows, schema=VIDEOS),
                             self.out / "videos.parquet", "videos", params)

    def write_manifest(self, manifest: dict) -> Path:
        path = self.out / MANIFEST
        atomic_write_bytes(path, json.dumps(manifest, indent=2, default=str).encode())
        return path


def chunks_done(out: Path, store_dir: str, chunks: list[tuple[int, int]]
                ) -> list[tuple[int, int]]:
    """The planned chunks whose frames file exists under OUT/store_dir."""
    d = Path(out) / store_dir
    return [(s, e) for s, e in chunks if (d / chunk_file(s, e, "frames")).exists()]


def read_manifest(out: Path) -> dict:
    path = Path(out) / MANIFEST
    if not path.exists():
        from .errors import ConfigError

        raise ConfigError(f"{out}: no {MANIFEST}; is this the --out folder of a posebatch run?")
    return json.loads(path.read_text())
