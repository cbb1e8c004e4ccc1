"""Notebooks are documentation that must run: each is executed top to bottom."""
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute(name: str, path: Path) -> list[dict]:
    """Run the notebook; return its outputs, none of which may be an error."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    return outputs


def images(outputs: list[dict]) -> list[dict]:
    return [o for o in outputs if "image/png" in o.get("data", {})]


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
