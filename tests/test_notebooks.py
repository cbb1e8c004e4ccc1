"""Notebooks are documentation that must run: each is executed top to bottom."""
from .helpers import execute_notebook as execute, notebook_images as images


def test_images_notebook_runs(tmp_path):
    assert len(images(execute("10_images.ipynb", tmp_path))) >= 4  # heatmap, PAFs, ...


def test_videos_notebook_runs_on_a_short_job(full_run, tmp_path, monkeypatch):
    out, _ = full_run
    monkeypatch.setenv("POSEBATCH_JOB", str(out))
    outputs = execute("20_videos.ipynb", tmp_path)
    assert len(images(outputs)) == 2  # people per frame, ankle trajectory per track
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "a/clip.mp4" in html and "b/clip.mp4" in html  # the summary names both videos
    assert "filled_frames" in html  # the tracks table
    assert "right_knee_x" in html  # one track as a time series (the wide view)
    assert "right_ankle" in html  # the per-part table
