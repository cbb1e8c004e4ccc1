"""The documentation: README stays a short entry point, the MkDocs site builds with --strict
(every link and anchor resolves), its reference pages are generated from the code and cover
every table column and job option, and the notebooks render with their figures."""
from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path


from .helpers import REPO


def build_site(site: Path, executed: Path | None = None) -> Path:
    env = {k: v for k, v in os.environ.items() if k != "POSEBATCH_DOCS_NOTEBOOKS"}
    if executed is not None:
        env["POSEBATCH_DOCS_NOTEBOOKS"] = str(executed)
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                        "-f", str(REPO / "mkdocs.yml"), "-d", str(site)],
                       cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr + r.stdout
    return site


def text(html: Path) -> str:
    return re.sub(r"<[^>]+>", " ", html.read_text())


def test_readme_is_a_short_entry_point():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    for command in ("./dev demo", "./dev test", "./dev test --quick"):
        assert command in readme
    assert "read_parquet" in readme and "y down" in readme
    for link in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (REPO / link).exists(), link


def test_reference_covers_every_column_and_option():
    from posebatch.runner import options, spec as job
    from posebatch.engine.config import TrackConfig
    from posebatch.gait import schema as gait_schema
    from posebatch.storage.schemas import table_reference

    tables = table_reference() + gait_schema.table_reference()
    for t in tables:
        for c in t["columns"]:
            assert c["unit"] or c["meaning"], f"{t['name']}.{c['name']} is undocumented"
    assert {t["name"] for t in tables} >= {"keypoints", "people", "frames", "tracks", "videos",
                                           "gait.angles", "gait.events", "gait.strides",
                                           "gait.bouts", "gait.summary"}
    keys = {(f"{o.section}." if o.section else "") + o.name for o in options.OPTIONS}
    assert keys == ({f.name for f in dataclasses.fields(job.JobSpec)} - {"track"}
                    | {f"track.{f.name}" for f in dataclasses.fields(TrackConfig)})
    reference = options.option_reference()
    assert all(f"`{o.name}`" in reference for o in options.OPTIONS)
    for mean, per_stride in gait_schema.MEAN_OF.items():
        assert mean in gait_schema.SUMMARY.names and mean in gait_schema.BOUTS.names
        assert per_stride in gait_schema.STRIDES.names


def test_site_builds_strict_with_generated_reference(tmp_path):
    from posebatch.runner import options
    from posebatch.storage.schemas import table_reference

    site = build_site(tmp_path / "site")
    tables = text(site / "reference" / "tables" / "index.html")
    assert "y down" in tables and "stride_time_s" in tables
    for t in table_reference():
        for c in t["columns"]:
            assert c["name"] in tables
    page = text(site / "reference" / "options" / "index.html")
    for o in options.OPTIONS:
        assert o.name in page and o.help.split()[0] in page
    cli = text(site / "reference" / "cli" / "index.html")
    for command in ("posebatch run", "posebatch gait", "posebatch export", "posebatch live",
                    "posebatch models add"):
        assert command in cli
    # without executed copies the notebook pages show the code and say where figures come from
    nb = (site / "notebooks" / "10_images" / "index.html").read_text()
    assert "Estimator" in nb and "holds no outputs" in nb


def test_site_renders_the_notebooks_with_their_figures(notebooks_run, full_run, demo_runs,
                                                        tmp_path):
    notebooks_run("10_images.ipynb")
    notebooks_run("20_videos.ipynb", full_run[0])
    notebooks_run("30_gait.ipynb", demo_runs["demo"])
    site = build_site(tmp_path / "site", notebooks_run.folder)
    for name, figures in (("10_images", 4), ("20_videos", 2), ("30_gait", 1)):
        html = (site / "notebooks" / name / "index.html").read_text()
        pngs = sorted((site / "notebooks").glob(f"{name}_*.png"))
        assert len(pngs) >= figures, name
        for png in pngs:
            assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
            assert f'src="../{png.name}"' in html
        assert "holds no outputs" not in html
    assert "filled_frames" in (site / "notebooks" / "20_videos" / "index.html").read_text()


def test_readme_pandas_snippet_runs_on_a_job(demo_runs, tmp_path):
    """The README's pandas block, as a newcomer pastes it, on `posebatch demo`'s output
    (the job and its gait)."""
    out = demo_runs["demo"]
    assert (out / "gait" / "summary.parquet").exists()
    readme = (REPO / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S)
                 if "read_parquet" in b)
    code = block.replace('"out/demo', f'"{out}')
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
