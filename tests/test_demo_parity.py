"""The demo video frame by frame against tf-pose-estimation's people per frame
(demo_reference.json): people counts and keypoints within one heatmap cell."""
import json

from posebatch.decode import decode_sequential
from posebatch.fetch import ensure_asset
from posebatch.models import get_asset

from .conftest import need_shared, reference_cells
from .test_estimator import match_within_one_cell


def test_demo_video_matches_reference_per_frame(estimator):
    ref = json.loads(need_shared("data", "golden", "demo_reference.json").read_text())["frames"]
    video = ensure_asset(get_asset("demo_video"))
    same_count = within = total = frames = 0
    for frame in decode_sequential(video):
        res = estimator.estimate(frame.image)
        people = reference_cells(ref[frame.index])
        same_count += res.n_people == len(people)
        w, t = match_within_one_cell(res.cells(), people)
        within, total, frames = within + w, total + t, frames + 1
    assert frames == len(ref) == 230
    assert same_count / frames >= 0.98, f"{same_count}/{frames} frames with the reference count"
    assert within / total >= 0.98, f"{within}/{total} keypoints within one cell"
