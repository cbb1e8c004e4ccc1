"""The README's main job (`posebatch demo`: every frame of the Sports2D demo video through
Ray) at `--quality reference` against tf-pose-estimation's people per frame
(demo_reference.json): people counts and keypoints within one heatmap cell."""
import json

import pandas as pd

from .helpers import frame_keypoints
from posebatch.engine.config import Coords
from posebatch.engine.estimator import pixels_to_cells
from .helpers import match_within_one_cell, need_shared, reference_cells



def test_demo_job_matches_reference_per_frame(demo_runs):
    """`posebatch demo --quality reference` (tests/conftest.py: the track tests read it too)."""
    ref = json.loads(need_shared("data", "golden", "demo_reference.json").read_text())["frames"]
    out, r = demo_runs["demo"], demo_runs["demo_result"]
    assert "renders:" in r.stdout and len(list((out / "renders").glob("*.png"))) == 4
    mp4 = out / "renders" / "demo.mp4.side-by-side.mp4"     # the demo ends with a video
    assert f"render: {mp4}" in r.stdout
    import av

    with av.open(str(mp4)) as c:
        s = c.streams.video[0]
        assert (s.width, s.codec_context.name) == (1280, "h264")
        assert sum(1 for _ in c.decode(s)) == 230
    assert (out / "gait" / "summary.parquet").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    config = manifest["params"]["config"]         # the preset's settings, resolved
    assert manifest["params"]["quality"] == "reference"
    assert (config["preprocess"], config["net_width"], config["net_height"], config["upsample"],
            config["coords"], config["subpixel"], config["flip"], config["scales"]) == (
        "reference", 432, 368, 4.0, "tfpose", False, False, [1.0])
    frames = pd.read_parquet(out / "frames")
    kp = pd.read_parquet(out / "keypoints")
    assert len(frames) == len(ref) == 230 and (frames.status == "ok").all()
    same_count = within = total = 0
    for i, people in enumerate(ref):
        people = reference_cells(people)
        same_count += int(frames.people[i]) == len(people)
        found = frame_keypoints(kp, i, as_detected=True)  # labelled as the network did
        cells = pixels_to_cells(found[..., :2], (216, 184), (432, 368), (1768, 994),
                                Coords.TFPOSE)   # the reference preset's convention
        w, t = match_within_one_cell(cells, people)
        within, total = within + w, total + t
    assert same_count / 230 >= 0.98, f"{same_count}/230 frames with the reference count"
    assert within / total >= 0.98, f"{within}/{total} keypoints within one cell"
    print(f"demo job: {same_count}/230 frames with the reference count, "
          f"{within}/{total} keypoints within one cell")
