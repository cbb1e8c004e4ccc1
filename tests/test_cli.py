"""The command line as a user runs it (Typer's CliRunner, real model, real images)."""
import json

import cv2
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from typer.testing import CliRunner

from posebatch.cli import app
from posebatch.engine.layout import COCO18
from .helpers import need_shared


runner = CliRunner()


def test_image_writes_tables_renders_and_reports_bad_files(tmp_path):
    images = need_shared("data", "images")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"this is not a jpeg")
    out = tmp_path / "out"
    args = ["image", str(images / "ski.jpg"), str(images / "cat.jpg"), str(bad), "--out", str(out),
            "--skeleton-only", "--panels", "--coco", str(out / "coco.json")]
    r = runner.invoke(app, args)
    assert r.exit_code == 1, r.output  # one image failed
    assert "1 of 3 images failed" in r.output
    kp = pd.read_parquet(out / "keypoints.parquet")
    assert set(kp["image"].astype(str)) == {str(images / "ski.jpg")}
    assert kp.groupby("image", observed=True)["person"].nunique().iloc[0] == 5
    assert list(kp["part"].cat.categories) == list(COCO18.parts)
    assert (kp["part"].cat.codes == kp["part_id"]).all()
    report = pd.read_parquet(out / "images.parquet").set_index("image")
    assert report.loc[str(images / "cat.jpg"), "people"] == 0
    assert report.loc[str(images / "cat.jpg"), "status"] == "ok"
    assert report.loc[str(bad), "status"] == "error"
    assert "not a readable image" in report.loc[str(bad), "error"]
    src = cv2.imread(str(images / "ski.jpg"))
    drawn = cv2.imread(str(out / "ski.png"))
    assert drawn.shape == src.shape and np.abs(drawn.astype(int) - src).sum() > 0
    skel = cv2.imread(str(out / "ski.skeleton.png"))
    assert skel.shape == src.shape and skel.mean() < 20 and skel.max() > 200
    pan = cv2.imread(str(out / "ski.panels.png"))
    assert pan.shape == (2 * src.shape[0], 2 * src.shape[1], 3)
    coco = json.loads((out / "coco.json").read_text())
    assert len(coco) == 5 and all(len(p["keypoints"]) == 51 for p in coco)
    meta = pq.read_schema(out / "keypoints.parquet").metadata
    assert meta[b"posebatch.schema"] == b"image_keypoints/2"
    assert not kp["refined"].any()          # one pass at the default quality
    assert json.loads(meta[b"posebatch.params"])["model"] == "mobilenet_thin"


def _evaluate(*options: str) -> tuple[float, str]:
    coco = need_shared("data", "coco")
    r = runner.invoke(app, ["evaluate", "--coco", str(coco / "test_coco.json"), "--images",
                            str(coco), *options], terminal_width=200)
    assert r.exit_code == 0, r.output
    row = [line for line in r.output.splitlines() if line.startswith("│")][-1]
    return float(row.split("│")[1]), r.output


def test_evaluate_reference_quality_reproduces_the_original_ap():
    """pycocotools AP on ../shared/data/coco: `--quality reference` is tf-pose-estimation's
    pipeline, whose AP there is 0.266 with 12 people found (../shared/README.md); the default
    quality holds the previous default's AP there (reference preprocessing, centre
    coordinates: 0.569; it gains on the development set, tests/test_quality.py)."""
    ap, out = _evaluate("--quality", "reference")
    assert "12 people found" in out and "tfpose coordinates" in out
    assert round(ap, 3) == 0.266
    before, _ = _evaluate("--quality", "reference", "--coords", "center")
    assert round(before, 3) == 0.569
    balanced, out = _evaluate()
    assert "quality balanced" in out and balanced >= before - 0.005


def test_models_list_shows_cache_state():
    from posebatch.models.fetch import ensure_model

    ensure_model("mobilenet_thin")  # fetched here when no earlier test did (empty cache)
    r = runner.invoke(app, ["models", "list"], terminal_width=200)
    assert r.exit_code == 0, r.output
    line = next(l for l in r.output.splitlines() if "mobilenet_thin" in l)
    assert "yes" in line and "sha256 ok" in line


def test_errors_are_one_line_without_traceback(tmp_path):
    r = runner.invoke(app, ["image", str(tmp_path / "x.jpg"), "--out", str(tmp_path), "--model",
                            "nosuchmodel"])
    assert r.exit_code == 2
    assert "error: unknown model 'nosuchmodel'" in r.output
    assert "Traceback" not in r.output


def test_run_with_a_misspelt_job_key_is_one_clear_line(tmp_path):
    job = tmp_path / "job.toml"
    job.write_text('inputs = ["clip.mp4"]\nout = "o"\nactor = 2\n')
    r = runner.invoke(app, ["run", "--job", str(job)])
    assert r.exit_code == 2
    assert "unknown key 'actor'; did you mean 'actors'?" in r.output
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["status", str(tmp_path)])
    assert r.exit_code == 2 and "no manifest.json" in r.output


def test_gait_table_notes_are_the_reason_or_every_flag_cut_short():
    """`posebatch gait`'s table: a track without figures shows why; one with figures shows
    each of its flags (they were never shown: a row's ``.flags`` is pandas' own attribute),
    each cut before its explanation, which the summary table keeps."""
    from posebatch.cli.gait import short_note

    assert short_note("no gait: not walking (the hips never moved)", None) == \
        "no gait: not walking"
    flags = ("walks in place (a treadmill, or a camera that follows the walker) for 7.3 s: "
             "stride length ...; only 3 steps: one frame is 1% of the cadence; left/right "
             "uncertain: the ankle labels agree ...; weak events (mean confidence 0.07, below "
             "0.1): cadence ...")
    assert short_note(None, flags) == ("walks in place; only 3 steps; left/right uncertain; "
                                       "weak events")
    assert short_note(None, None) == "" and short_note(float("nan"), float("nan")) == ""

