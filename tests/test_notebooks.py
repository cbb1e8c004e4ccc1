"""Notebooks are documentation that must run: each is executed top to bottom (once per
test run: the docs site is built from the same executed copies, tests/test_docs.py)."""
from .helpers import notebook_images as images


def test_images_notebook_runs(notebooks_run):
    assert len(images(notebooks_run("10_images.ipynb"))) >= 4  # heatmap, PAFs, ...


def test_videos_notebook_runs_on_a_short_job(full_run, notebooks_run):
    out, _ = full_run
    outputs = notebooks_run("20_videos.ipynb", out)
    assert len(images(outputs)) == 2  # people per frame, ankle trajectory per track
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "a/clip.mp4" in html and "b/clip.mp4" in html  # the summary names both videos
    assert "filled_frames" in html  # the tracks table
    assert "right_knee_x" in html  # one track as a time series (the wide view)
    assert "right_ankle" in html  # the per-part table
