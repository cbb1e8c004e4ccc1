"""Every table keeps its declared schema whatever the data: the job's tables (and a live
session's, written by the same store), the gait tables and the CSV export have the same
columns and types for a walker, a person standing, a walker without a complete stride, a
video without people and a video without frames. Job folders are built from synthetic
walkers through posebatch's own tracking and store (no network)."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from posebatch import gait
from posebatch.storage import tables
from posebatch.engine.config import GaitConfig, TrackConfig
from posebatch.errors import SchemaError
from posebatch.export import export
from posebatch.export.wide_csv import schema as csv_schema
from posebatch.gait import schema as gait_schema
from posebatch.gait.outputs import write_gait
from posebatch.engine.layout import COCO18
from posebatch.storage.store import DATASETS, INDEX, Store
from posebatch.track.apply import track_tables
from posebatch.storage.schemas import (SCHEMA_VERSION, TABLES, VIDEOS, frame_tables,
                                       table_from_frame, write_parquet)

from .walkers import walk
from .helpers import REPO, posebatch

CSV_SCHEMA = csv_schema(COCO18)

# What each video of a synthetic job holds: a walker, someone standing, a walker whose
# bout has no complete stride, frames without anybody, no frames at all.
CASES = {
    "walker": lambda: walk(seconds=5.0),
    "standing": lambda: walk(seconds=3.0, stand=3.0),
    "no_stride": lambda: walk(seconds=1.8, stand=0.5, stride_time=1.8),
    "no_ankles": lambda: _without_ankles(walk(seconds=3.0)),
    "nobody": lambda: 40,
    "empty": lambda: 0,
}


def _without_ankles(wk):
    """A walker whose ankles are never found: no body height, so no gait at all."""
    wk.keypoints[:, [10, 13]] = (np.nan, np.nan, 0.0)
    return wk


def _records(what) -> list[dict]:
    """Per-frame records as the pose stage makes them: a walker's, or ``what`` empty frames."""
    if isinstance(what, int):
        return [{"frame": f, "pts": f, "time": f / 30, "status": "ok",
                 "keypoints": np.zeros((0, 18, 3), np.float32),
                 "scores": np.zeros(0, np.float32)} for f in range(what)]
    return [{"frame": f, "pts": f, "time": float(t), "status": "ok",
             "keypoints": what.keypoints[f:f + 1], "scores": np.array([0.9], np.float32)}
            for f, t in enumerate(what.times)]


def make_job(out, names) -> None:
    """A finished job folder whose videos are ``names`` of CASES, written as a job writes
    them: chunk tables, tracking, the store's dataset files and the videos index."""
    store = Store(out, "synthetic")
    rows = []
    for vid, name in enumerate(names):
        chunk = frame_tables(_records(CASES[name]()), COCO18)
        tracked = track_tables(chunk["keypoints"], chunk["people"], chunk["frames"], COCO18,
                               TrackConfig())
        store.write_video(vid, f"{name}.mp4", {**tracked, "frames": chunk["frames"]}, {}, {},
                          {})
        rows.append({"video_id": vid, "video": f"{name}.mp4", "path": f"/videos/{name}.mp4",
                     "status": "ok", "frames": chunk["frames"].num_rows,
                     "width": 1920, "height": 1080, "tracks": tracked["tracks"].num_rows,
                     "first_frame": 0, "end_frame": chunk["frames"].num_rows, "every": 1})
    store.write_videos(rows, {})
    store.write_manifest({"schema": "posebatch.job/1", "state": "complete",
                          "model": {"name": "mobilenet_thin", "layout": COCO18.name}})


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    """One job per case (and one with every case), with ``posebatch gait`` written."""
    root = tmp_path_factory.mktemp("jobs")
    made = {}
    for name in list(CASES) + ["all"]:
        out = root / name
        make_job(out, list(CASES) if name == "all" else [name])
        config = GaitConfig(height_m=1.7 if name == "walker" else None)
        write_gait(out, gait.analyse(tables.load(out), config), config)
        made[name] = out
    return made


def _fields(schema: pa.Schema) -> list[tuple]:
    """What must match: every column's name, type, nullability and unit/doc."""
    return [(f.name, str(f.type), f.nullable, f.metadata) for f in schema]


@pytest.mark.parametrize("case", list(CASES))
def test_gait_tables_have_their_schema_whatever_the_data(jobs, case):
    walker = jobs["walker"] / "gait"
    for name, declared in gait_schema.TABLES.items():
        got = pq.read_schema(jobs[case] / "gait" / f"{name}.parquet")
        full = pq.read_schema(walker / f"{name}.parquet")
        assert _fields(got) == _fields(full) == _fields(declared), (case, name)
        assert got.metadata[b"posebatch.schema"] == f"gait.{name}/6".encode()
    summary = pd.read_parquet(jobs[case] / "gait" / "summary.parquet")
    rows = {"nobody": 0, "empty": 0}.get(case, 1)
    assert len(summary) == rows
    if case == "walker":               # numbers, metres with the height, no reason
        assert summary.reason.isna().all() and summary.cadence_steps_per_min.notna().all()
        assert summary.speed_m_s.notna().all() and len(pd.read_parquet(walker /
                                                                         "strides.parquet"))
    elif rows:                         # a reason, and nulls where the numbers would be
        assert summary.reason.str.startswith("no gait").all()
        assert summary[["cadence_steps_per_min", "stride_time_s", "stance_pct",
                        "speed_m_s"]].isna().all().all()
    if case == "no_stride":
        bouts = pd.read_parquet(jobs[case] / "gait" / "bouts.parquet")
        assert len(bouts) == 1 and bouts.strides.iloc[0] == 0 and bouts.stance_pct.isna().all()


def test_gait_result_in_python_has_the_written_columns(jobs):
    """``gait.analyse`` gives the tables as ``pd.read_parquet`` reads the files back."""
    result = gait.analyse(tables.load(jobs["all"]))
    for name in gait_schema.TABLES:
        back = pd.read_parquet(jobs["all"] / "gait" / f"{name}.parquet")
        assert list(getattr(result, name).columns) == list(back.columns)
        pd.testing.assert_frame_equal(getattr(result, name), back)
    assert set(result.summary.video.astype(str)) == {"walker.mp4", "standing.mp4",
                                                     "no_stride.mp4", "no_ankles.mp4"}


def test_gait_summaries_of_many_jobs_read_as_one_dataset(jobs, tmp_path):
    """Each job's summary in one folder: polars and duckdb read it as one table, with the
    figures' columns whichever job has them."""
    import duckdb
    import polars as pl

    folder = tmp_path / "summaries"
    folder.mkdir()
    for name, out in jobs.items():
        shutil.copy(out / "gait" / "summary.parquet", folder / f"{name}.parquet")
    df = pl.read_parquet(folder).sort("video")
    assert df.height == 8 and df.columns == gait_schema.SUMMARY.names
    walker = df.filter(pl.col("reason").is_null())
    assert walker.height == 2 and walker["cadence_steps_per_min"].min() > 80
    assert df.schema["cadence_steps_per_min"] == pl.Float64
    assert df.schema["strides"] == pl.Int32 and df.schema["bouts"] == pl.Int32
    rows = duckdb.sql(f"select video, cadence_steps_per_min, reason from "
                      f"'{folder}/*.parquet' order by video").fetchall()
    assert len(rows) == 8
    assert sum(r[1] is not None for r in rows) == 2 and sum(r[2] is not None for r in rows) == 6
    events = pl.read_parquet([jobs[n] / "gait" / "events.parquet" for n in jobs])
    assert events.columns == gait_schema.EVENTS.names and events.height > 0


def test_gait_cli_on_a_job_folder(jobs, tmp_path):
    """`posebatch gait OUT` on a job folder with every case: one summary row per track, a
    reason for those without numbers, every file of its schema."""
    out = tmp_path / "job"
    shutil.copytree(jobs["all"], out, ignore=shutil.ignore_patterns("gait"))
    r = posebatch("gait", out)
    assert r.returncode == 0, r.stderr
    assert "gait: 4 tracks" in r.stdout and "no complete stride" in r.stdout
    for name, declared in gait_schema.TABLES.items():
        assert _fields(pq.read_schema(out / "gait" / f"{name}.parquet")) == _fields(declared)
    summary = pd.read_parquet(out / "gait" / "summary.parquet").set_index("video")
    assert summary.loc["walker.mp4"].strides >= 3
    assert summary.loc["standing.mp4"].reason.startswith("no gait: not walking")
    assert summary.loc["no_ankles.mp4"].reason.startswith("no gait: ankles and head")
    assert np.isnan(summary.loc["no_stride.mp4"].cadence_steps_per_min)
    assert [p.name for p in (out / "gait").glob("*.png")] == ["walker.mp4.track0.png"]
    # one video analysed again: the others' gait is kept, the same
    before = {n: pd.read_parquet(out / "gait" / f"{n}.parquet") for n in gait_schema.TABLES}
    r = posebatch("gait", out, "--video", "walker.mp4")
    assert r.returncode == 0, r.stderr
    assert "gait: 1 tracks" in r.stdout and "of 3 other tracks" in r.stdout
    for name, table in before.items():
        pd.testing.assert_frame_equal(pd.read_parquet(out / "gait" / f"{name}.parquet"), table)
    # ... unless made with other settings: one table holds one analysis
    r = posebatch("gait", out, "--video", "walker.mp4", "--height-m", 1.7)
    assert r.returncode == 2 and "with other settings" in r.stderr
    pd.testing.assert_frame_equal(pd.read_parquet(out / "gait" / "summary.parquet"),
                                  before["summary"])


def test_writing_a_table_that_does_not_fit_its_schema_is_refused(tmp_path):
    table = pa.table({"video": ["a.mp4"], "track": [1]})
    with pytest.raises(SchemaError, match=r"gait.summary: the table does not fit its declared "
                                          r"schema: video: string \(declared dictionary"):
        write_parquet(table, tmp_path / "s.parquet", "gait.summary", {},
                      schema=gait_schema.SUMMARY)
    assert not (tmp_path / "s.parquet").exists()


def test_job_tables_have_their_schema_for_every_video(jobs):
    """The store writes a video's tables (a job's and a live session's) and the index with
    the declared schemas, for a walker as for a video without people or frames."""
    for case, out in jobs.items():
        for table in DATASETS:
            for path in sorted((out / table).glob("*.parquet")):
                got = pq.read_schema(path)
                assert _fields(got) == _fields(TABLES[table]), (case, table)
                assert got.metadata[b"posebatch.schema"] == f"{table}/{SCHEMA_VERSION}".encode()
        assert _fields(pq.read_schema(out / INDEX)) == _fields(VIDEOS)
        videos = pd.read_parquet(out / INDEX)      # the frames analysed: rows of frames
        assert (videos.end_frame - videos.first_frame == videos.frames).all()
        assert videos.every.tolist() == [1] * len(videos)
    assert pq.read_metadata(jobs["empty"] / "keypoints" / "00000000.parquet").num_rows == 0


def test_csv_export_has_its_columns_for_every_video(jobs, tmp_path):
    """One CSV per video, the declared columns whether it has tracks or not, parsed with the
    declared types by pyarrow; schema.json describes them."""
    result = export(jobs["all"], "csv", tmp_path)
    assert sorted(p.name for p in result.files) == sorted(f"{c}.mp4.csv" for c in CASES)
    opts = pacsv.ConvertOptions(column_types=CSV_SCHEMA, strings_can_be_null=True)
    lines = {}
    for p in result.files:
        t = pacsv.read_csv(p, convert_options=opts)
        assert [(f.name, f.type) for f in t.schema] == [(f.name, f.type) for f in CSV_SCHEMA]
        lines[p.name] = t.num_rows
    assert lines["walker.mp4.csv"] > 100 and lines["nobody.mp4.csv"] == 0
    doc = json.loads((tmp_path / "schema.json").read_text())
    assert doc["posebatch.schema"] == "export.csv/1"
    assert [f["name"] for f in doc["fields"]] == CSV_SCHEMA.names
    assert doc["fields"][3] == {"name": "nose_x", "type": "number", "unit": "pixel",
                                "description": "smoothed, gap-filled, upright frame"}


def test_a_column_not_declared_is_an_error_and_a_missing_one_typed_nulls():
    """What keeps the schemas from drifting: a new column must be declared first."""
    base = {"video": ["a.mp4"], "track": [1], "bouts": [0]}
    t = table_from_frame(pd.DataFrame(base), gait_schema.SUMMARY, "gait.summary")
    assert t.schema.equals(gait_schema.SUMMARY) and t["cadence_steps_per_min"].null_count == 1
    with pytest.raises(SchemaError, match=r"gait.summary: columns cadence_confidence are not "
                                          r"in its declared schema"):
        table_from_frame(pd.DataFrame({**base, "cadence_confidence": [0.5]}),
                         gait_schema.SUMMARY, "gait.summary")
    with pytest.raises(SchemaError, match=r"gait.summary.video: 1 of 1 rows are null"):
        table_from_frame(pd.DataFrame({"track": [1]}), gait_schema.SUMMARY, "gait.summary")
    with pytest.raises(SchemaError, match=r"gait.summary.bouts: the values"):
        table_from_frame(pd.DataFrame({**base, "bouts": [1.5]}), gait_schema.SUMMARY,
                         "gait.summary")


def test_every_gait_column_is_in_the_docs():
    """The docs' table reference (generated from these schemas when the site is built,
    docs/hooks/reference.py) names every gait file and declared column with its unit."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_reference",
                                                  REPO / "docs" / "hooks" / "reference.py")
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    page = reference.tables_page()
    start = page.index("## Gait tables")
    section = page[start:page.index("\n## ", start + 1)]
    for name, declared in gait_schema.TABLES.items():
        assert f"OUT/gait/{name}.parquet" in section
        missing = [f.name for f in declared if f"`{f.name}`" not in section]
        assert not missing, (name, missing)
        for f in declared:
            unit = (f.metadata or {}).get(b"unit")
            if unit:
                assert f"| `{f.name}` |" in section and unit.decode() in section

