"""Arrow schemas of every table posebatch writes (declared once, versioned) and the atomic
Parquet writer.

Readers can check ``schema.metadata[b"posebatch.schema"]`` for the table name and version.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from .layout import KeypointLayout

SCHEMA_VERSION = 1

PART = pa.dictionary(pa.int8(), pa.string())
SOURCE = pa.dictionary(pa.int32(), pa.string())

IMAGE_KEYPOINTS = pa.schema([
    pa.field("image", SOURCE, nullable=False, metadata={"doc": "image path as given"}),
    pa.field("person", pa.int16(), nullable=False, metadata={"doc": "index in the image"}),
    pa.field("person_score", pa.float32(), nullable=False),
    pa.field("part_id", pa.int8(), nullable=False, metadata={"doc": "COCO-18 part id"}),
    pa.field("part", PART, nullable=False),
    pa.field("x", pa.float32(), nullable=False, metadata={"unit": "pixel, original image"}),
    pa.field("y", pa.float32(), nullable=False, metadata={"unit": "pixel, original image"}),
    pa.field("score", pa.float32(), nullable=False, metadata={"doc": "part confidence"}),
])

IMAGES = pa.schema([
    pa.field("image", pa.string(), nullable=False),
    pa.field("width", pa.int32()),
    pa.field("height", pa.int32()),
    pa.field("people", pa.int16()),
    pa.field("status", pa.string(), nullable=False, metadata={"doc": "ok or error"}),
    pa.field("error", pa.string()),
])


def keypoint_columns(keypoints: np.ndarray, scores: np.ndarray, layout: KeypointLayout,
                     ) -> dict[str, np.ndarray]:
    """Long-format columns (one row per found part) from (n, P, 3) keypoints and (n,) scores."""
    found = keypoints[..., 2] > 0
    person, part = np.nonzero(found)
    return {
        "person": person.astype(np.int16),
        "person_score": scores[person].astype(np.float32),
        "part_id": part.astype(np.int8),
        "x": keypoints[person, part, 0].astype(np.float32),
        "y": keypoints[person, part, 1].astype(np.float32),
        "score": keypoints[person, part, 2].astype(np.float32),
    }


def part_array(part_ids: np.ndarray, layout: KeypointLayout) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(part_ids, pa.int8()),
                                          pa.array(list(layout.parts), pa.string()))


def with_metadata(schema: pa.Schema, table: str, params: dict[str, Any]) -> pa.Schema:
    meta = dict(schema.metadata or {})
    meta[b"posebatch.schema"] = f"{table}/{SCHEMA_VERSION}".encode()
    meta[b"posebatch.params"] = json.dumps(params, sort_keys=True, default=str).encode()
    return schema.with_metadata(meta)


def write_parquet(table: pa.Table, path: Path, name: str, params: dict[str, Any]) -> Path:
    """Write ``table`` to ``path`` atomically: a temporary file in the same folder, fsync'd,
    then renamed, so a reader never finds a half-written table under the final name."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = table.replace_schema_metadata(with_metadata(table.schema, name, params).metadata)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
