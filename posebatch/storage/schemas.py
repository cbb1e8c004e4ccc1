"""Arrow schemas of every table posebatch writes (declared once, versioned) and the atomic
Parquet writer.

Readers can check ``schema.metadata[b"posebatch.schema"]`` for the table name and version.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from ..errors import SchemaError
from .atomic import atomic_path

# Versions written into every file's metadata (``posebatch.schema`` = "TABLE/VERSION").
# 2: the job's tables carry tracks (keypoints.track, x_smooth, ...; people.track; tracks).
# 3: frames.status can be ``corrupt``; videos.corrupt_frames.
# 4: keypoints.refined (the value is the second look's, --refine people).
# 5: videos.first_frame, end_frame, every (the frames analysed: run --start, --end, --every).
# 6: keypoints.doubled (a part found a second time on its mirror part's spot).
SCHEMA_VERSION = 6
# A chunk's tables; part of the chunk store's key, so a change redoes the chunks (keep it
# when the detections do not change: upgrading a job's tables then needs no inference).
# 2: frames whose picture data the decoder reported damaged are ``corrupt``, not ``ok``.
CHUNK_SCHEMA_VERSION = 2
# images 2: image_keypoints.refined (the part's value is the second look's, --refine people).
IMAGE_SCHEMA_VERSION = 2

PART = pa.dictionary(pa.int8(), pa.string())
SOURCE = pa.dictionary(pa.int32(), pa.string())

def _part_fields(unit: str) -> list[pa.Field]:
    """The columns of one found part, shared by the image and video keypoint tables."""
    return [
        pa.field("part_id", pa.int8(), nullable=False, metadata={"doc": "COCO-18 part id"}),
        pa.field("part", PART, nullable=False),
        pa.field("x", pa.float32(), nullable=False, metadata={"unit": unit}),
        pa.field("y", pa.float32(), nullable=False, metadata={"unit": unit}),
        pa.field("score", pa.float32(), nullable=False, metadata={"doc": "part confidence"}),
    ]


IMAGE_KEYPOINTS = pa.schema([
    pa.field("image", SOURCE, nullable=False, metadata={"doc": "image path as given"}),
    pa.field("person", pa.int16(), nullable=False, metadata={"doc": "index in the image"}),
    pa.field("person_score", pa.float32(), nullable=False),
    *_part_fields("pixel, original image"),
    pa.field("refined", pa.bool_(), nullable=False, metadata={
        "doc": "the part's value is the second look's (--refine people): found in a crop of "
               "the person at full resolution; false: the first pass's"}),
])

IMAGES = pa.schema([
    pa.field("image", pa.string(), nullable=False),
    pa.field("width", pa.int32()),
    pa.field("height", pa.int32()),
    pa.field("people", pa.int16()),
    pa.field("status", pa.string(), nullable=False, metadata={"doc": "ok or error"}),
    pa.field("error", pa.string()),
])


class PartNames(Protocol):
    """What a table needs of a keypoint layout (posebatch.engine.layout): its part names in
    channel order, the ``part`` column's dictionary."""

    @property
    def parts(self) -> tuple[str, ...]: ...


def keypoint_columns(keypoints: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
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


def part_array(part_ids: np.ndarray, layout: PartNames) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(part_ids, pa.int8()),
                                          pa.array(list(layout.parts), pa.string()))


def with_metadata(schema: pa.Schema, table: str, params: dict[str, Any],
                  version: int = SCHEMA_VERSION) -> pa.Schema:
    meta = dict(schema.metadata or {})
    meta[b"posebatch.schema"] = f"{table}/{version}".encode()
    meta[b"posebatch.params"] = json.dumps(params, sort_keys=True, default=str).encode()
    return schema.with_metadata(meta)


def write_parquet(table: pa.Table, path: Path, name: str, params: dict[str, Any],
                  version: int = SCHEMA_VERSION, tmp_dir: Path | None = None,
                  schema: pa.Schema | None = None) -> Path:
    """Write ``table`` to ``path`` atomically, its schema metadata naming table and params.
    ``schema``: the table's declared schema; a table of other columns or types is refused."""
    if schema is not None:
        check_schema(table, schema, name)
    table = table.replace_schema_metadata(
        with_metadata(table.schema, name, params, version).metadata)
    with atomic_path(path, tmp_dir) as tmp:
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)


def check_schema(table: pa.Table, schema: pa.Schema, name: str) -> None:
    """Raise :class:`SchemaError` unless ``table`` has exactly ``schema``'s fields (names,
    order, types, nullability; metadata aside)."""
    if table.schema.equals(schema):
        return
    def kind(f: pa.Field) -> str:
        return f"{f.type}{'' if f.nullable else ' not null'}"

    got = {f.name: f for f in table.schema}
    diff = [f"{f.name}: {kind(got[f.name]) if f.name in got else 'missing'} (declared "
            f"{kind(f)})" for f in schema if f.name not in got or not got[f.name].equals(f)]
    extra = [n for n in table.schema.names if n not in schema.names]
    order = "" if diff or extra else "; the columns are out of order"
    raise SchemaError(f"{name}: the table does not fit its declared schema: "
                      f"{'; '.join(diff) or 'no type differs'}"
                      f"{'; undeclared: ' + ', '.join(extra) if extra else ''}{order}")


def table_from_frame(df: pd.DataFrame, schema: pa.Schema, name: str) -> pa.Table:
    """``df`` as a table of exactly ``schema``: the schema's columns in its order and types
    (NaN becomes null), a column ``df`` lacks all null (rows that say why there is no
    number). A column the schema does not declare is a :class:`SchemaError`: declare it,
    with its unit, so the written tables cannot drift from their documentation."""
    extra = [str(c) for c in df.columns if c not in schema.names]
    if extra:
        raise SchemaError(f"{name}: columns {', '.join(extra)} are not in its declared schema; "
                          "declare them (with their unit) and bump the table's version")
    n = len(df)
    columns = []
    for f in schema:
        if f.name not in df:
            col = pa.nulls(n, f.type)
        else:
            values = df[f.name]
            if pa.types.is_dictionary(f.type):        # categoricals and strings alike
                values = values.astype(object).where(values.notna(), None)
            try:
                col = pa.array(values, f.type, from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError) as exc:
                raise SchemaError(f"{name}.{f.name}: the values ({values.dtype}) do not "
                                  f"convert to the declared {f.type}: {exc}") from exc
        if not f.nullable and col.null_count:
            raise SchemaError(f"{name}.{f.name}: {col.null_count} of {n} rows are null; "
                              "the column must always have a value")
        columns.append(col)
    return pa.Table.from_arrays(columns, schema=schema)


# --- video job tables -------------------------------------------------------------------------
# A chunk's tables hold no video columns (a chunk does not know its video's place in the job);
# a video's files in the job's datasets put ``video_id`` and ``video`` in front.

FRAME_STATUS = ("ok", "decode_error", "missing", "error", "corrupt", "skipped")
ESTIMATED_STATUS = frozenset({"ok", "corrupt"})    # the network looked at the frame
STATUS = pa.dictionary(pa.int8(), pa.string())

CHUNK_KEYPOINTS = pa.schema([
    pa.field("frame", pa.int32(), nullable=False, metadata={"doc": "index in presentation order"}),
    pa.field("time", pa.float64(), metadata={"unit": "s, container timestamp"}),
    pa.field("person", pa.int16(), nullable=False, metadata={"doc": "index in the frame"}),
    *_part_fields("pixel, upright frame"),
])

CHUNK_PEOPLE = pa.schema([
    pa.field("frame", pa.int32(), nullable=False),
    pa.field("time", pa.float64()),
    pa.field("person", pa.int16(), nullable=False),
    pa.field("score", pa.float32(), nullable=False, metadata={"doc": "person score"}),
    pa.field("parts", pa.int8(), nullable=False, metadata={"doc": "parts found"}),
    pa.field("x_min", pa.float32(), nullable=False, metadata={"unit": "pixel"}),
    pa.field("y_min", pa.float32(), nullable=False, metadata={"unit": "pixel"}),
    pa.field("x_max", pa.float32(), nullable=False, metadata={"unit": "pixel"}),
    pa.field("y_max", pa.float32(), nullable=False, metadata={"unit": "pixel"}),
])

CHUNK_FRAMES = pa.schema([
    pa.field("frame", pa.int32(), nullable=False),
    pa.field("pts", pa.int64(), metadata={"doc": "container presentation timestamp"}),
    pa.field("time", pa.float64(), metadata={"unit": "s; null when the container has none"}),
    pa.field("status", STATUS, nullable=False, metadata={"doc": " | ".join(FRAME_STATUS)}),
    pa.field("people", pa.int16(), nullable=False),
    pa.field("error", pa.string()),
    pa.field("change", pa.float32(), metadata={
        "unit": "grey levels (0-255): 99.5th percentile of the per-pixel change from the "
                "previous frame, on the picture shrunk 8 times; null: no previous frame"}),
    pa.field("repeat", pa.bool_(), metadata={
        "doc": "the picture repeats the previous frame's (change <= 3 levels); null: unknown "
               "(first frame, previous frame not decoded, or computed before posebatch 0.2)"}),
])

# A video's tables once tracked (the job's tables without the video columns): detections
# with their track, left/right corrected, plus rows for keypoints filled across short gaps.
TRACKED_KEYPOINTS = pa.schema([
    pa.field("frame", pa.int32(), nullable=False, metadata={"doc": "index in presentation order"}),
    pa.field("time", pa.float64(), metadata={"unit": "s, container timestamp"}),
    pa.field("person", pa.int16(), metadata={
        "doc": "index of the detection in the frame; null on a filled row of a frame where "
               "the track was not detected"}),
    pa.field("track", pa.int32(), metadata={
        "doc": "the person's id through the video (tracks table); null: not in a reported "
               "track"}),
    pa.field("part_id", pa.int8(), nullable=False, metadata={
        "doc": "COCO-18 part id, left/right corrected (see swapped)"}),
    pa.field("part", PART, nullable=False),
    pa.field("x", pa.float32(), metadata={"unit": "pixel, upright frame; null on filled rows"}),
    pa.field("y", pa.float32(), metadata={"unit": "pixel, upright frame; null on filled rows"}),
    pa.field("score", pa.float32(), metadata={"doc": "part confidence; null on filled rows"}),
    pa.field("x_smooth", pa.float32(), metadata={
        "unit": "pixel; gap-filled and low-pass filtered along the track; null untracked"}),
    pa.field("y_smooth", pa.float32(), metadata={"unit": "pixel"}),
    pa.field("filled", pa.bool_(), nullable=False, metadata={
        "doc": "the part was not detected here: x_smooth, y_smooth are interpolated"}),
    pa.field("swapped", pa.bool_(), nullable=False, metadata={
        "doc": "the network labelled this detection as the mirror part (left/right swap, "
               "corrected): part is the corrected side, x, y, score are as detected"}),
    pa.field("doubled", pa.bool_(), nullable=False, metadata={
        "doc": "a faint find of this part on its mirror part's spot (an ankle at a contact: "
               "the other foot found again): kept as detected, left out of x_smooth, "
               "y_smooth, which run where the part's curve does"}),
    pa.field("refined", pa.bool_(), nullable=False, metadata={
        "doc": "x, y, score are the second look's (--refine people: the person cropped from "
               "the full-resolution frame); false: the first pass's (or a filled row)"}),
])

TRACKED_PEOPLE = pa.schema(list(CHUNK_PEOPLE)[:3] + [
    pa.field("track", pa.int32(), metadata={"doc": "null: not in a reported track"}),
] + list(CHUNK_PEOPLE)[3:])

TRACK_SUMMARY = pa.schema([
    pa.field("track", pa.int32(), nullable=False),
    pa.field("first_frame", pa.int32(), nullable=False),
    pa.field("last_frame", pa.int32(), nullable=False),
    pa.field("start", pa.float64(), nullable=False, metadata={"unit": "s, first detection"}),
    pa.field("end", pa.float64(), nullable=False, metadata={"unit": "s, last detection"}),
    pa.field("frames", pa.int32(), nullable=False, metadata={"doc": "frames detected"}),
    pa.field("filled_frames", pa.int32(), nullable=False, metadata={
        "doc": "frames not detected whose keypoints were interpolated"}),
    pa.field("mean_score", pa.float32(), nullable=False, metadata={"doc": "mean person score"}),
    pa.field("box_height", pa.float32(), nullable=False, metadata={
        "unit": "pixel, median height of the box around the found parts"}),
    pa.field("swaps", pa.int32(), nullable=False, metadata={
        "doc": "detections with a left/right swap corrected"}),
])

_VIDEO_COLS = [
    pa.field("video_id", pa.int32(), nullable=False, metadata={"doc": "row of the videos table"}),
    pa.field("video", SOURCE, nullable=False, metadata={"doc": "the video's name in the job"}),
]


def _with_video(schema: pa.Schema) -> pa.Schema:
    return pa.schema(_VIDEO_COLS + list(schema))


KEYPOINTS = _with_video(TRACKED_KEYPOINTS)
PEOPLE = _with_video(TRACKED_PEOPLE)
FRAMES = _with_video(CHUNK_FRAMES)
TRACKS = _with_video(TRACK_SUMMARY)

VIDEOS = pa.schema([
    pa.field("video_id", pa.int32(), nullable=False),
    pa.field("video", pa.string(), nullable=False, metadata={"doc": "name used in the tables"}),
    pa.field("path", pa.string(), nullable=False, metadata={"doc": "absolute path"}),
    pa.field("fingerprint", pa.string(), metadata={"doc": "blake2b-128 of the bytes"}),
    pa.field("size", pa.int64(), metadata={"unit": "bytes"}),
    pa.field("container_frames", pa.int64(), metadata={"doc": "frame count in the header"}),
    pa.field("frames", pa.int64(), metadata={"doc": "rows in the frames table"}),
    pa.field("first_frame", pa.int64(), metadata={
        "doc": "the first frame analysed (run --start; 0: the video's first)"}),
    pa.field("end_frame", pa.int64(), metadata={
        "doc": "the frame the analysed range ends before (run --end; the frame count: its "
               "end)"}),
    pa.field("every", pa.int32(), metadata={
        "doc": "the stride (run --every): frames first_frame, first_frame + every, ... "
               "before end_frame are rows; 1: every frame"}),
    pa.field("decoded_frames", pa.int64()),
    pa.field("people_frames", pa.int64(), metadata={"doc": "frames with at least one person"}),
    pa.field("fps", pa.float64(), metadata={"doc": "container average frame rate"}),
    pa.field("width", pa.int32(), metadata={"doc": "of the upright frame (x, y refer to it)"}),
    pa.field("height", pa.int32()),
    pa.field("codec", pa.string()),
    pa.field("rotation", pa.int16(), metadata={"unit": "degrees clockwise the stored frames "
                                                        "were turned to be upright"}),
    pa.field("decode", pa.string(), metadata={"doc": "seek, or from_start after a fallback"}),
    pa.field("status", pa.string(), nullable=False, metadata={"doc": "ok | partial | error"}),
    pa.field("error", pa.string()),
    pa.field("seconds", pa.float64(), metadata={"unit": "s of actor time, this run's chunks"}),
    pa.field("tracks", pa.int32(), metadata={"doc": "reported tracks (people followed)"}),
    pa.field("repeated_frames", pa.int64(), metadata={
        "doc": "frames whose picture repeats the previous one (frames.repeat)"}),
    pa.field("corrupt_frames", pa.int64(), metadata={
        "doc": "frames whose picture data the decoder reported damaged (frames.status "
               "corrupt; estimated all the same)"}),
])

TABLES = {"keypoints": KEYPOINTS, "people": PEOPLE, "frames": FRAMES, "tracks": TRACKS}
TRACKED_TABLES = {"keypoints": TRACKED_KEYPOINTS, "people": TRACKED_PEOPLE,
                  "tracks": TRACK_SUMMARY}
CHUNK_TABLES = {"keypoints": CHUNK_KEYPOINTS, "people": CHUNK_PEOPLE, "frames": CHUNK_FRAMES}


def status_array(values: list[str]) -> pa.DictionaryArray:
    codes = np.array([FRAME_STATUS.index(v) for v in values], np.int8)
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int8()),
                                          pa.array(FRAME_STATUS, pa.string()))


def people_columns(keypoints: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
    """Per person: score, parts found and the bounding box of the found parts."""
    found = keypoints[..., 2] > 0
    xy = np.where(found[..., None], keypoints[..., :2], np.nan)
    with np.errstate(invalid="ignore"):
        lo = np.nanmin(xy, axis=1) if len(xy) else np.empty((0, 2), np.float32)
        hi = np.nanmax(xy, axis=1) if len(xy) else np.empty((0, 2), np.float32)
    return {"person": np.arange(len(scores), dtype=np.int16),
            "score": scores.astype(np.float32), "parts": found.sum(1).astype(np.int8),
            "x_min": lo[:, 0].astype(np.float32), "y_min": lo[:, 1].astype(np.float32),
            "x_max": hi[:, 0].astype(np.float32), "y_max": hi[:, 1].astype(np.float32)}


def _arrays(cols: dict[str, list[np.ndarray]], schema: pa.Schema) -> dict[str, np.ndarray]:
    """Concatenate each column's per-frame pieces (an empty array of the schema's type when
    no frame had anybody)."""
    return {k: np.concatenate(v) if v else np.empty(0, schema.field(k).type.to_pandas_dtype())
            for k, v in cols.items()}


def _table(arrays: dict[str, Any], schema: pa.Schema) -> pa.Table:
    """Columns typed by ``schema``; a NaN time becomes null."""
    return pa.table({f.name: arrays[f.name] if isinstance(arrays[f.name], pa.Array) else
                     pa.array(arrays[f.name], f.type, from_pandas=f.name == "time")
                     for f in schema}, schema=schema)


def frame_tables(frames: list[dict], layout: PartNames) -> dict[str, pa.Table]:
    """A chunk's three tables from per-frame records ``{frame, pts, time, status, error,
    keypoints (n, P, 3) or None, scores (n,) or None}``. Pure: same records, same bytes."""
    kcols: dict[str, list] = {k: [] for k in ("frame", "time", "person", "part_id", "x", "y",
                                               "score")}
    pcols: dict[str, list] = {k: [] for k in ("frame", "time") + tuple(
        CHUNK_PEOPLE.names[2:])}
    for r in frames:
        kp, sc = r.get("keypoints"), r.get("scores")
        if kp is None or sc is None or len(kp) == 0:
            continue
        c = keypoint_columns(kp, sc)
        n = len(c["x"])
        kcols["frame"].append(np.full(n, r["frame"], np.int32))
        kcols["time"].append(np.full(n, np.nan if r["time"] is None else r["time"]))
        for k in ("person", "part_id", "x", "y", "score"):
            kcols[k].append(c[k])
        p = people_columns(kp, sc)
        pcols["frame"].append(np.full(len(sc), r["frame"], np.int32))
        pcols["time"].append(np.full(len(sc), np.nan if r["time"] is None else r["time"]))
        for k, v in p.items():
            pcols[k].append(v)

    karr = _arrays(kcols, CHUNK_KEYPOINTS)
    karr["part"] = part_array(karr["part_id"].astype(np.int8), layout)
    kp_table = _table(karr, CHUNK_KEYPOINTS)
    people = _table(_arrays(pcols, CHUNK_PEOPLE), CHUNK_PEOPLE)
    frames_t = pa.table({
        "frame": pa.array([r["frame"] for r in frames], pa.int32()),
        "pts": pa.array([r["pts"] for r in frames], pa.int64()),
        "time": pa.array([r["time"] for r in frames], pa.float64()),
        "status": status_array([r["status"] for r in frames]),
        "people": pa.array([0 if r.get("scores") is None else len(r["scores"]) for r in frames],
                           pa.int16()),
        "error": pa.array([r.get("error") for r in frames], pa.string()),
        "change": pa.array([r.get("change") for r in frames], pa.float32()),
        "repeat": pa.array([r.get("repeat") for r in frames], pa.bool_()),
    }, schema=CHUNK_FRAMES)
    return {"keypoints": kp_table, "people": people, "frames": frames_t}


# --- the second look at each person (--refine people) -------------------------------------
# Stored per chunk beside the chunk's tables (posebatch.runner.refine_job): the people of the
# chunk's frames that a person of their crop matched, as they replace the first pass's.

REFINED_KEYPOINTS = pa.schema([
    pa.field("frame", pa.int32(), nullable=False),
    pa.field("person", pa.int16(), nullable=False, metadata={
        "doc": "the first pass's detection in the frame that this person replaces"}),
    *_part_fields("pixel, upright frame"),
    pa.field("refined", pa.bool_(), nullable=False, metadata={
        "doc": "the second look's value; false: the first pass's, kept where the crop did "
               "not find the part"}),
])

REFINED_PEOPLE = pa.schema([
    pa.field("frame", pa.int32(), nullable=False),
    pa.field("person", pa.int16(), nullable=False, metadata={"doc": "the first pass's"}),
    pa.field("matched", pa.bool_(), nullable=False, metadata={
        "doc": "a person of the crop matched (else the first pass's is kept)"}),
    pa.field("score", pa.float32(), nullable=False, metadata={"doc": "person score"}),
    pa.field("similarity", pa.float32(), nullable=False, metadata={
        "doc": "OKS-like similarity of the best person of the crop to the first pass's"}),
])

REFINE_TABLES = {"keypoints": REFINED_KEYPOINTS, "people": REFINED_PEOPLE}
# 1: the tables above.
REFINE_SCHEMA_VERSION = 1


# --- what the tables mean (docs/reference/tables.md is generated from this) ---------------
# The schemas above carry a unit or meaning in their field metadata for most columns; the
# ones they leave out are here, beside them, so the written files stay exactly as they are.

AXES = ("Pixel coordinates (`x`, `y`, `x_smooth`, `y_smooth`, `x_min` ... `y_max`) are in "
        "pixels of the upright frame as a player shows it (of the original image for "
        "`posebatch image`): origin at the top-left corner, x to the right, y down; a "
        "pixel's centre has integer coordinates.")

_PIXEL = "pixel"
COLUMN_DOCS: dict[str, dict[str, tuple[str | None, str | None]]] = {
    # table -> column -> (unit, meaning); used only where the field's metadata has none
    "keypoints": {
        "time": ("s", "the frame's container timestamp (correct for variable frame rate)"),
        "part": (None, "part name: nose, neck, right_shoulder, ... left_ear"),
        "x": (_PIXEL, "as detected (the part left/right corrected)"),
        "y": (_PIXEL, "as detected"),
        "x_smooth": (None, "the track's trajectory, smoothed"),
        "y_smooth": (None, "gap-filled, zero-lag low-pass filtered trajectory of the track; "
                           "null when untracked"),
    },
    "people": {
        "frame": (None, "index in presentation order, from 0"),
        "time": ("s", "the frame's container timestamp"),
        "person": (None, "index of the detection in the frame"),
        "x_min": (None, "box of the parts found: left"),
        "y_min": (None, "box of the parts found: top"),
        "x_max": (None, "box of the parts found: right"),
        "y_max": (None, "box of the parts found: bottom"),
    },
    "frames": {
        "frame": (None, "index in presentation order, from 0; every frame has a row"),
        "time": (None, "the container timestamp in seconds"),
        "status": (None, "ok; corrupt (damaged picture data, concealed by the decoder and "
                         "estimated all the same); decode_error; missing (listed by the "
                         "header, not in the file); error (estimation failed or its chunk was "
                         "given up on); skipped (live sessions: a newer frame was estimated)"),
        "people": (None, "people detected (0 when nobody)"),
        "error": (None, "why the frame has no estimate; null when ok"),
    },
    "tracks": {
        "track": (None, "the person's id in the video (0, 1, ... by first appearance)"),
        "first_frame": (None, "frame of the first detection"),
        "last_frame": (None, "frame of the last detection"),
    },
    "videos": {
        "video_id": (None, "the input's number in the job (names the table files)"),
        "decoded_frames": (None, "frames that decoded"),
        "height": (_PIXEL, "of the upright frame"),
        "width": (_PIXEL, None),
        "codec": (None, "the video stream's codec"),
        "error": (None, "why the input failed or is partial; null when ok"),
    },
    "image_keypoints": {
        "person_score": (None, "the person's score (as OpenPose)"),
        "part": (None, "part name: nose, neck, right_shoulder, ... left_ear"),
    },
    "images": {
        "image": (None, "image path as given"),
        "width": (_PIXEL, None),
        "height": (_PIXEL, None),
        "people": (None, "people found"),
        "error": (None, "why the image failed; null when ok"),
    },
}

# table -> (where it is, what a row is, schema)
TABLE_DOCS: dict[str, tuple[str, str, pa.Schema]] = {
    "keypoints": ("OUT/keypoints/", "one row per (video, frame, person, part found), plus one "
                  "per part filled in across a short gap of a track; one file per video",
                  KEYPOINTS),
    "people": ("OUT/people/", "one row per (video, frame, person detected)", PEOPLE),
    "frames": ("OUT/frames/", "one row for every frame of every video that could be opened",
               FRAMES),
    "tracks": ("OUT/tracks/", "one row per (video, track): a person followed through a video",
               TRACKS),
    "videos": ("OUT/videos.parquet", "the index: one row per input, failed ones too; written "
               "last", VIDEOS),
    "image_keypoints": ("OUT/keypoints.parquet (posebatch image)", "one row per (image, "
                        "person, part found)", IMAGE_KEYPOINTS),
    "images": ("OUT/images.parquet (posebatch image)", "one row per input image", IMAGES),
}


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_dictionary(t):
        return f"{_type_name(t.value_type)}, dictionary-encoded (categorical in pandas)"
    return {"double": "float64", "float": "float32", "halffloat": "float16"}.get(str(t), str(t))


def describe_schema(schema: pa.Schema, extra: dict[str, tuple[str | None, str | None]]
                    | None = None) -> list[dict[str, Any]]:
    """One dict per column: ``name``, ``type``, ``nullable``, ``unit``, ``meaning`` (from the
    field's metadata, else from ``extra``)."""
    rows = []
    for f in schema:
        meta = {k.decode(): v.decode() for k, v in (f.metadata or {}).items()}
        unit, doc = (extra or {}).get(f.name, (None, None))
        rows.append({"name": f.name, "type": _type_name(f.type), "nullable": f.nullable,
                     "unit": meta.get("unit") or unit, "meaning": meta.get("doc") or doc})
    return rows


def table_reference() -> list[dict[str, Any]]:
    """The job's and ``posebatch image``'s tables: name, file, row, version, columns."""
    return [{"name": name, "where": where, "row": row,
             "version": f"{name}/{IMAGE_SCHEMA_VERSION if name.startswith('image') else SCHEMA_VERSION}",
             "columns": describe_schema(schema, COLUMN_DOCS.get(name))}
            for name, (where, row, schema) in TABLE_DOCS.items()]
