"""One wide CSV per video for spreadsheets: a row per frame and track, columns ``frame``,
``time``, ``track`` and per part ``PART_x``, ``PART_y`` (smoothed and gap-filled, pixels of the
upright frame) and ``PART_score`` (the detection's confidence, empty where it was filled).

The columns are :func:`schema`'s whatever the video holds (a video without tracked people has
the header only), and ``schema.json`` beside the files describes them (a Frictionless Table
Schema with units, and ``posebatch.schema`` = ``export.csv/VERSION``).
"""
from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa

from ..storage.atomic import atomic_write_bytes
from ..engine.layout import KeypointLayout
from ..storage.schemas import table_from_frame

# 1: frame, time, track, then PART_x, PART_y, PART_score for the 18 COCO parts.
CSV_SCHEMA_VERSION = 1

def schema(layout: KeypointLayout) -> pa.Schema:
    """The CSV's columns for the job's keypoint layout."""
    return pa.schema([
        pa.field("frame", pa.int32(), nullable=False, metadata={"doc": "index in presentation "
                                                                       "order"}),
        pa.field("time", pa.float64(), metadata={"unit": "s", "doc": "the frame's timestamp"}),
        pa.field("track", pa.int32(), nullable=False, metadata={"doc": "the person's track"}),
        *[pa.field(f"{part}_{c}", pa.float32(), metadata=meta) for part in layout.parts
          for c, meta in (("x", {"unit": "pixel", "doc": "smoothed, gap-filled, upright frame"}),
                          ("y", {"unit": "pixel", "doc": "smoothed, gap-filled, upright frame"}),
                          ("score", {"unit": "0-1", "doc": "part confidence; empty where "
                                                           "filled"}))],
    ])


_TYPES = {pa.int32(): "integer", pa.float32(): "number", pa.float64(): "number"}


def write(vt, folder: Path) -> tuple[list[Path], int, int]:
    folder.mkdir(parents=True, exist_ok=True)
    df = vt.wide().reset_index().drop(columns="video",
                                                                 errors="ignore")
    table = table_from_frame(df, schema(vt.layout), "export.csv").to_pandas().sort_values(
        ["frame", "track"])
    p = folder / f"{vt.stem}.csv"
    atomic_write_bytes(p, table.to_csv(index=False, float_format="%.3f").encode())
    write_table_schema(folder, vt.layout, "gait" if vt.traded is not None else "tracked")
    return [p], int(table["frame"].nunique()), int(table["track"].nunique())


def table_schema(layout: KeypointLayout, legs: str = "tracked") -> dict:
    """:func:`schema` as a Frictionless Table Schema (what CSV tools read types from);
    ``posebatch.legs`` says whose legs the files hold (``export --legs``)."""
    fields = []
    for f in schema(layout):
        meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
        fields.append({"name": f.name, "type": _TYPES[f.type],
                       **({"description": meta["doc"]} if "doc" in meta else {}),
                       **({"unit": meta["unit"]} if "unit" in meta else {}),
                       **({} if f.nullable else {"constraints": {"required": True}})})
    return {"posebatch.schema": f"export.csv/{CSV_SCHEMA_VERSION}", "posebatch.legs": legs,
            "fields": fields, "missingValues": [""]}


def write_table_schema(folder: Path, layout: KeypointLayout, legs: str = "tracked") -> Path:
    path = folder / "schema.json"
    atomic_write_bytes(path, json.dumps(table_schema(layout, legs), indent=1).encode())
    return path
