"""The Arrow schemas of the gait tables (``OUT/gait/*.parquet``), declared once, versioned.

Every gait table is written with exactly its schema whatever the data: a job without people,
a track that does not walk or walks without a complete stride gives the same columns and types
as a walker's, with nulls where there is no number (and a ``reason`` in the summary). So one
video's files read like another's, and the gait folders of many jobs read as one dataset.
A column the analysis produces but its schema does not declare is an error
(:class:`posebatch.errors.SchemaError`): declare it here, with its unit and meaning (the docs'
table reference is generated from these fields), and bump :data:`GAIT_SCHEMA_VERSION`.

Units: seconds, degrees, pixels of the upright frame, percent of a stride (``*_pct``);
``*_m``, ``*_m_s`` are null unless the walker's height is given (``--height-m``).
"""
from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ..storage.schemas import SOURCE, table_from_frame

# Written into every gait file's metadata: ``posebatch.schema`` = "gait.TABLE/VERSION".
# 2: every table has all its columns whatever the data (typed nulls where no number), names
#    dictionary-encoded, frame/track/bout int32, metre columns always present.
# 4: angles.legs_traded (the angles and step lengths use legs that follow the events' sides);
#    events.near_foot, events.sides_from_near_foot.
# 5: events.from_picture (toe-offs timed from the toe tip in the video).
# 6: events.near_foot_picture (the near-foot cue from the soles in the video).
GAIT_SCHEMA_VERSION = 6

NAME = pa.dictionary(pa.int8(), pa.string())


def _f(name: str, type_: pa.DataType, unit: str | None = None, doc: str | None = None,
       nullable: bool = True) -> pa.Field:
    meta = {k: v for k, v in (("unit", unit), ("doc", doc)) if v}
    return pa.field(name, type_, nullable=nullable, metadata=meta or None)


def _seconds(name: str, doc: str) -> pa.Field:
    return _f(name, pa.float64(), "s", doc)


_KEY = [
    _f("video", SOURCE, doc="the video's name in the job", nullable=False),
    _f("track", pa.int32(), doc="the person's track (tracks table)", nullable=False),
]

ANGLES = pa.schema(_KEY + [
    _seconds("time", "the frame's timestamp"),
    _f("frame", pa.int32(), doc="index in presentation order"),
    *[_f(f"{side}_{joint}_flexion", pa.float64(), "degree", doc)
      for side in ("left", "right") for joint, doc in (
          ("knee", "0 with the leg straight, positive as the shank folds back"),
          ("hip", "thigh against the trunk's downward line, positive with the knee in front"),
          ("elbow", "0 with the arm straight, positive as the forearm comes forward"),
          ("shoulder", "upper arm against the trunk's downward line, positive forward"))],
    _f("trunk_lean", pa.float64(), "degree", "trunk from the vertical, positive forward"),
    *[_f(f"{side}_{seg}", pa.float64(), "degree", "segment angle: anticlockwise from the "
         "image's horizontal, y up, in (-180, 180]")
      for side in ("left", "right") for seg in ("thigh", "shank")],
    _f("trunk", pa.float64(), "degree", "segment angle of mid-hip to neck"),
    _f("legs_traded", pa.bool_(), doc="the left and right legs' labels (hip, knee, ankle) "
       "were traded in this frame to follow the sides of the walking bout's events: the "
       "tracked keypoints put the other foot ahead, or between two such frames; the "
       "traded legs are smoothed again (posebatch.gait.legs)"),
])

EVENTS = pa.schema(_KEY + [
    _seconds("time", "the event, refined below a frame"),
    _f("frame", pa.int32(), doc="the frame nearest the event"),
    _f("side", NAME, doc="left | right", nullable=False),
    _f("event", NAME, doc="contact | toe_off", nullable=False),
    _f("confidence", pa.float64(), "0-1", "prominence against the bout's amplitude x the "
       "ankles' score x how clear the step rhythm is"),
    _f("side_confidence", pa.float64(), "0-1", "share of the ankle labels' evidence that "
       "agrees with the side given (sides alternate, a toe-off just after a contact is the "
       "other foot's, so a contact and that toe-off share it; 0.5: the labels say nothing; "
       "below 0.5 only where the near foot decided: sides_from_near_foot)"),
    _f("bout", pa.int32(), doc="the walking bout (bouts table)"),
    _f("step_to", pa.bool_(), doc="found where the feet stand together in a step-to gait "
       "(the contact of the foot brought up beside the other, or the toe-off of the first "
       "to leave), not from the front or rear foot"),
    _f("near_foot", pa.float64(), doc="how clearly the bout's contacts of the side the "
       "camera sees (the right going right) are drawn lower than the other side's, as a "
       "t-statistic, > 0 agreeing with the sides given; null with fewer than two contacts "
       "a side (posebatch.gait.near)"),
    _f("near_foot_picture", pa.float64(), doc="the same cue from the soles in the video "
       "just after each contact (each foot's lowest pixel unlike the scene), as a "
       "t-statistic, > 0 agreeing with the sides given; measured only for bouts the ankle "
       "labels left uncertain and the ankles' cue did not decide, null elsewhere "
       "(posebatch.gait.near.picture_sides)"),
    _f("sides_from_near_foot", pa.bool_(), doc="the bout's sides were decided by the near "
       "foot (near_foot, else near_foot_picture) against the ankle labels (which left them "
       "uncertain: side_confidence under 0.75 before, now its complement)"),
    _f("from_picture", pa.bool_(), doc="a toe-off timed from the rear foot's toe tip in "
       "the video, the last frame it stays put (posebatch.gait.toe_tip); false: from the "
       "ankle (the foot not found, gait --toe-offs ankle, or the video gone: the summary's "
       "flags say so), and for contacts"),
    _seconds("step_period", "the bout's step time, from the front foot's autocorrelation "
             "(step-to: half the median time between one foot's contacts)"),
    _seconds("stride_period", "the bout's stride time (two steps)"),
])

_STRIDE_LENGTHS = [
    _f("step_length_px", pa.float64(), "pixel", "ankle ahead of the other at contact"),
    _f("stride_length_px", pa.float64(), "pixel", "the ankle's travel contact to contact "
       "(walking in place: its step plus the other foot's)"),
    _f("speed_px_s", pa.float64(), "pixel/s", "stride length over stride time"),
]
_METRES = {"step_length_px": "step_length_m", "stride_length_px": "stride_length_m",
           "speed_px_s": "speed_m_s"}
_METRE_DOC = "; null without the walker's height (--height-m)"

STRIDES = pa.schema(_KEY + [
    _f("bout", pa.int32(), doc="the walking bout (bouts table)"),
    _f("side", NAME, doc="the foot whose contacts start and end the stride"),
    _seconds("start", "the foot's contact"),
    _seconds("end", "its next contact"),
    _seconds("stride_time", "end - start"),
    _seconds("step_time", "from the other foot's contact to end"),
    _seconds("stance_time", "from start to the foot's toe-off"),
    _seconds("swing_time", "from the toe-off to end"),
    _f("stance_pct", pa.float64(), "% of the stride"),
    _f("swing_pct", pa.float64(), "% of the stride"),
    _f("double_support_pct", pa.float64(), "% of the stride", "both feet down; null when "
       "a toe-off is missing"),
    _f("cadence_steps_per_min", pa.float64(), "steps/min", "120 / stride_time"),
    *_STRIDE_LENGTHS,
    *[_f(_METRES[f.name], pa.float64(), f.metadata[b"unit"].decode().replace("pixel", "m"),
         f.metadata[b"doc"].decode() + _METRE_DOC) for f in _STRIDE_LENGTHS],
])

# The figures of a bout or a track: means over its strides (null when it has none).
_FIGURES = [
    _f("strides", pa.int32(), doc="strides used (0: none complete)"),
    _seconds("stride_time_s", "mean stride time"),
    _seconds("step_time_s", "mean step time"),
    _f("stance_pct", pa.float64(), "% of the stride", "mean"),
    _f("swing_pct", pa.float64(), "% of the stride", "mean"),
    _f("double_support_pct", pa.float64(), "% of the stride", "mean"),
    *[f.with_metadata({b"unit": f.metadata[b"unit"], b"doc": b"mean"})
      for f in _STRIDE_LENGTHS],
    _seconds("stride_time_sd_s", "standard deviation; null with one stride"),
    _f("stride_time_cv_pct", pa.float64(), "%", "coefficient of variation"),
    _seconds("step_time_sd_s", "standard deviation; null with one stride"),
    _f("step_time_cv_pct", pa.float64(), "%", "coefficient of variation"),
    _f("cadence_steps_per_min", pa.float64(), "steps/min", "60 / the step time of the "
       "front foot's rhythm (events.step_period, bouts weighted by their contacts) where "
       "the contacts agree with it within 8 % (half their median time from a contact to the "
       "one two later), else 120 / the mean of those times (60 / the mean step with single "
       "steps only, 120 / stride_time_s with fewer than two)"),
    _f("symmetry_index", pa.float64(), "%", "2|L-R|/(L+R) x 100 of the sides' mean step "
       "time; null without strides of both feet"),
    _f("stance_symmetry_index", pa.float64(), "%", "the same of stance_pct"),
    _f("speed_m_s", pa.float64(), "m/s", "mean" + _METRE_DOC),
    _f("stride_length_m", pa.float64(), "m", "mean" + _METRE_DOC),
    _f("step_length_m", pa.float64(), "m", "mean" + _METRE_DOC),
    _f("alternation", pa.float64(), "0-1", "share of contacts on the other foot than the "
       "previous contact"),
    _f("mean_confidence", pa.float64(), "0-1", "mean confidence of the events"),
]

BOUTS = pa.schema(_KEY + [
    _f("bout", pa.int32(), doc="index within the track, in time order", nullable=False),
    _seconds("start", "the bout's first sample"),
    _seconds("end", "its last sample"),
    _f("direction", NAME, doc="right | left: which way the walker moves in the image (in "
       "place: faces)"),
    _f("in_place", pa.bool_(), doc="walks without crossing the picture for part of the bout "
       "at least (a treadmill, or a camera that follows the walker): the feet take regular "
       "turns in front while the hips stay; stride length is then the sum of two steps"),
    _f("step_to", pa.bool_(), doc="a step-to gait (a limp, a cane): one foot only brought up "
       "beside the other, so only one is ever in front (events.step_to)"),
    *_FIGURES,
])

SUMMARY = pa.schema(_KEY + [
    _seconds("start", "the track's first sample"),
    _seconds("end", "its last sample"),
    _f("standing_height_px", pa.float64(), "pixel", "median apparent stature (eyes to "
       "ankles / 0.897); null when never seen"),
    _f("bouts", pa.int32(), doc="walking bouts; null without a body height"),
    _seconds("walking_s", "time in walking bouts"),
    *_FIGURES,
    _f("flags", pa.string(), doc="where the method is uncertain: not side-on, walks both "
       "ways, walks in place, walks step-to, only a few steps, left/right labels disagree with the "
       "alternating sides, weak events, left/right from the near foot; or where the keypoints "
       "are implausible: knees bent backwards; null: none"),
    _f("reason", pa.string(), doc="why there are no figures (\"no gait: ...\"); null when "
       "there are"),
])

TABLES = {"angles": ANGLES, "events": EVENTS, "strides": STRIDES, "bouts": BOUTS,
          "summary": SUMMARY}


def table(name: str, df: pd.DataFrame | None) -> pa.Table:
    """Gait table ``name`` (``angles``, ``events``, ...) from ``df`` with exactly its schema
    (``None`` or a frame without columns: no rows)."""
    return table_from_frame(pd.DataFrame() if df is None else df, TABLES[name], f"gait.{name}")


def frame(name: str, df: pd.DataFrame | None) -> pd.DataFrame:
    """The same as a DataFrame: what ``pd.read_parquet`` gives on the written file."""
    return table(name, df).to_pandas()


# --- what the tables mean (docs/reference/tables.md is generated from this) ---------------
# table -> (where it is, what a row is); every column's unit and meaning are in its field.
TABLE_DOCS: dict[str, tuple[str, str]] = {
    "angles": ("OUT/gait/angles.parquet", "one row per (track, frame): joint and segment "
               "angles, sagittal, signed by the walking direction"),
    "events": ("OUT/gait/events.parquet", "one row per gait event (a foot's initial contact "
               "or toe-off)"),
    "strides": ("OUT/gait/strides.parquet", "one row per stride: a foot's contact to its "
                "next contact"),
    "bouts": ("OUT/gait/bouts.parquet", "one row per walking bout of a track"),
    "summary": ("OUT/gait/summary.parquet", "one row per (video, track); a track that does "
                "not walk has a reason and nulls"),
}

# The bouts and summary figures that are means of a strides column: the per-stride value has
# the plain name (its unit is in the schema), the mean says its unit in its name.
MEAN_OF: dict[str, str] = {
    "stride_time_s": "stride_time", "step_time_s": "step_time", "stance_pct": "stance_pct",
    "swing_pct": "swing_pct", "double_support_pct": "double_support_pct",
    "step_length_px": "step_length_px", "stride_length_px": "stride_length_px",
    "speed_px_s": "speed_px_s", "step_length_m": "step_length_m",
    "stride_length_m": "stride_length_m", "speed_m_s": "speed_m_s",
}


def table_reference() -> list[dict]:
    """The gait tables: name, file, row, version, columns (as posebatch.storage.schemas')."""
    from ..storage.schemas import describe_schema

    return [{"name": f"gait.{name}", "where": where, "row": row,
             "version": f"gait.{name}/{GAIT_SCHEMA_VERSION}",
             "columns": describe_schema(TABLES[name])}
            for name, (where, row) in TABLE_DOCS.items()]
