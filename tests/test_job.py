"""The job's pure parts: job specs, input discovery, a chunk's work and its tables (no Ray)."""
from pathlib import Path

import numpy as np
import pytest

from posebatch.decode import decode_sequential, index_video
from posebatch.errors import ConfigError
from posebatch.runner.spec import DEMO_JOB, JobSpec, discover, load_job_file, make_spec
from posebatch.runner import ChunkTask, process_chunk
from posebatch.storage.schemas import CHUNK_FRAMES, CHUNK_KEYPOINTS, CHUNK_PEOPLE, frame_tables

REPO = Path(__file__).resolve().parent.parent


def test_unknown_job_key_suggests_the_close_match(tmp_path):
    f = tmp_path / "job.toml"
    f.write_text('inputs = ["a.mp4"]\nout = "o"\nchunks = 32\n')
    with pytest.raises(ConfigError, match=r"unknown key 'chunks'; did you mean 'chunk'\?"):
        load_job_file(f)
    f.write_text('inputs = ["a.mp4"]\nout = "o"\nupsampel = 2\n')
    with pytest.raises(ConfigError, match="did you mean 'upsample'"):
        make_spec(f, {})


def test_command_line_overrides_job_file_and_values_are_checked(tmp_path):
    f = tmp_path / "job.toml"
    f.write_text('inputs = "v.mp4"\nout = "o"\nchunk = 32\nupsample = 2.0\n')
    spec = make_spec(f, {"chunk": 8, "upsample": None, "inputs": ()})
    assert (spec.chunk, spec.upsample, spec.inputs) == (8, 2.0, ("v.mp4",))
    with pytest.raises(ConfigError, match="chunk must be a whole number, at least 1"):
        make_spec(f, {"chunk": 0})
    with pytest.raises(ConfigError, match="preprocess must be reference, aspect or area, "
                                          "got 'squash'"):
        make_spec(f, {"preprocess": "squash"})
    with pytest.raises(ConfigError, match="no output folder"):
        make_spec(None, {"inputs": ("v.mp4",)})


def test_track_settings_from_a_job_file_table_and_the_command_line(tmp_path):
    f = tmp_path / "job.toml"
    f.write_text('inputs = ["a.mp4"]\nout = "o"\n[track]\nmax_gap = 2.5\ncutoff = 4\n')
    spec = make_spec(f, {"track": {"cutoff": 8.0, "fill_gap": None}})
    assert (spec.track.max_gap, spec.track.cutoff, spec.track.fill_gap) == (2.5, 8.0, 0.2)
    f.write_text('inputs = ["a.mp4"]\nout = "o"\n[track]\nmax_gpa = 2\n')
    with pytest.raises(ConfigError, match=r"\[track\] unknown key 'max_gpa'; did you mean "
                                          r"'max_gap'\?"):
        make_spec(f, {})
    f.write_text('inputs = ["a.mp4"]\nout = "o"\n[track]\nfill_gap = "long"\n')
    with pytest.raises(ConfigError, match=r"track.fill_gap must be a number, at least 0 \(s\)"):
        make_spec(f, {})
    f.write_text('inputs = ["a.mp4"]\nout = "o"\ntrack = 3\n')
    with pytest.raises(ConfigError, match=r"track must be a table"):
        make_spec(f, {})


def test_demo_job_file_is_what_posebatch_demo_runs():
    spec = make_spec(REPO / "jobs" / "demo.toml", {})
    assert spec == JobSpec(**DEMO_JOB)


def test_discover_recurses_keeps_duplicate_names_distinct_and_reports_empty(tmp_path):
    for rel in ("a/clip.mp4", "b/clip.MP4", "b/deep/x.avi", "b/notes.txt", "empty/readme.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"x")
    found = discover((str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "a/clip.mp4"),
                      str(tmp_path / "empty"), str(tmp_path / "nope.mp4")))
    # the file given twice (folder a and by name) is kept once
    assert [v.name for v in found.videos] == ["a/clip.mp4", "b/clip.MP4", "b/deep/x.avi"]
    assert [(Path(p.path).name, p.error.split(" (")[0]) for p in found.problems] == [
        ("empty", "folder contains no video files"), ("nope.mp4", "no such file or folder")]
    # two files of the same name named one by one: their full paths tell them apart
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "clip.MP4").write_bytes(b"x")
    twins = discover((str(tmp_path / "b" / "clip.MP4"), str(tmp_path / "c" / "clip.MP4")))
    assert [v.name for v in twins.videos] == [str(tmp_path / "b" / "clip.MP4"),
                                              str(tmp_path / "c" / "clip.MP4")]


def test_frame_tables_keep_every_frame_even_without_people(layout):
    kp = np.zeros((2, 18, 3), np.float32)
    kp[..., :2] = np.nan
    kp[0, [0, 1, 2], :] = [[10, 20, 0.9], [12, 30, 0.8], [5, 31, 0.7]]
    kp[1, [1, 5], :] = [[50, 60, 0.5], [55, 61, 0.4]]
    rows = [
        {"frame": 7, "pts": 700, "time": 0.7, "status": "ok", "keypoints": kp,
         "scores": np.array([1.5, 0.6], np.float32)},
        {"frame": 8, "pts": 800, "time": 0.8, "status": "ok",
         "keypoints": np.zeros((0, 18, 3), np.float32), "scores": np.zeros(0, np.float32)},
        {"frame": 9, "pts": 900, "time": 0.9, "status": "decode_error", "error": "boom"},
    ]
    t = frame_tables(rows, layout)
    assert t["keypoints"].schema.equals(CHUNK_KEYPOINTS)
    assert t["people"].schema.equals(CHUNK_PEOPLE)
    assert t["frames"].schema.equals(CHUNK_FRAMES)
    f = t["frames"].to_pydict()
    assert f["frame"] == [7, 8, 9] and f["people"] == [2, 0, 0]
    assert [str(s) for s in f["status"]] == ["ok", "ok", "decode_error"]
    k = t["keypoints"].to_pydict()
    assert k["part"] == ["nose", "neck", "right_shoulder", "neck", "left_shoulder"]
    assert k["person"] == [0, 0, 0, 1, 1] and set(k["frame"]) == {7}
    p = t["people"].to_pydict()
    assert p["parts"] == [3, 2]
    assert (p["x_min"], p["x_max"], p["y_min"], p["y_max"]) == ([5, 50], [12, 55], [20, 60],
                                                                 [31, 61])


def test_process_chunk_equals_frame_by_frame_estimation(estimator, demo_clip):
    """A chunk's work (decode a range, estimate each frame) gives exactly the keypoints of
    estimating the sequentially decoded frames."""
    idx = index_video(demo_clip)
    res = process_chunk(estimator, idx, ChunkTask(0, "k", 3, 9))
    frames = res.tables["frames"].to_pydict()
    assert frames["frame"] == list(range(3, 9))
    assert frames["time"] == pytest.approx([i / 30 for i in range(3, 9)])
    kp = res.tables["keypoints"].to_pandas()
    for f in decode_sequential(demo_clip):
        if 3 <= f.index < 9:
            want = estimator.estimate(f.image)
            got = kp[kp.frame == f.index]
            assert frames["people"][f.index - 3] == want.n_people
            found = want.keypoints[..., 2] > 0
            np.testing.assert_array_equal(got.x.to_numpy(), want.keypoints[..., 0][found])
            np.testing.assert_array_equal(got.score.to_numpy(), want.keypoints[..., 2][found])


def test_upright_turns_by_the_display_matrix():
    """FFmpeg reports a phone's "show turned 90 degrees clockwise" as rotation -90."""
    from dataclasses import replace

    from posebatch.decode import VideoIndex, upright

    img = np.zeros((2, 3, 3), np.uint8)
    img[0, 0] = 255  # top-left marker
    idx = VideoIndex("x", np.arange(3), 1 / 30, 3, 30.0, 3, 2, "h264", -90, np.zeros(1), True)
    assert idx.turn == 90 and idx.display_size == (2, 3)
    turned = upright(img, idx.turn)
    assert turned.shape[:2] == (3, 2) and turned[0, 1, 0] == 255  # now top-right
    assert replace(idx, rotation=90).turn == 270
    assert upright(img, 270)[2, 0, 0] == 255 and upright(img, 180)[1, 2, 0] == 255
    assert replace(idx, rotation=0).display_size == (3, 2) and upright(img, 0) is img


def test_fp32_keeps_the_chunk_keys_of_jobs_made_before_precision_existed(monkeypatch):
    """The chunk store key of the settings that were the default before quality presets
    (reference preprocessing, upsample 4, centre coordinates), pinned for chunk schema 1:
    outputs written before --precision, --subpixel, --flip, --scales and --person-score
    existed are found again with those settings (no inference redone); bf16 gets its own
    chunks. Chunk schema 2 (damaged frames marked) has keys of its own: its chunks are
    redone."""
    from posebatch.engine.config import Precision, cpu_has_bf16, resolve_precision
    from posebatch.runner.spec import params_key, pose_config
    from posebatch.storage.schemas import CHUNK_SCHEMA_VERSION

    sha = "51f84ea82b3d0143dd4cf362e018c125e832c64771908ee8766fbd8b0328008d"
    key = lambda p, v=CHUNK_SCHEMA_VERSION: params_key(  # noqa: E731
        sha, pose_config(JobSpec(inputs=("a",), out="o", precision=p, quality="reference",
                                 coords="center"), (432, 368)), v)
    assert key("fp32", 1) == "f8671920a92f6ab3"
    assert CHUNK_SCHEMA_VERSION == 2 and key("fp32") != key("fp32", 1)
    assert resolve_precision("auto") is (Precision.BF16 if cpu_has_bf16() else Precision.FP32)
    monkeypatch.setattr("posebatch.engine.config.cpu_has_bf16", lambda: True)  # a bf16 CPU
    assert key("bf16") != key("fp32")
    with pytest.raises(ConfigError, match="precision must be fp32, bf16 or auto, got .fp16."):
        make_spec(None, {"inputs": ("v.mp4",), "out": "o", "precision": "fp16"})


def test_bf16_is_refused_where_the_cpu_does_not_do_it(monkeypatch):
    """On a CPU without avx512_bf16 or amx_bf16 an explicit bf16 is refused, saying what to
    use, wherever it is asked for: the job's settings (TensorFlow or OpenVINO) and the
    runner that would run the network (a cluster node). On an AVX2 CPU both runtimes'
    "bf16" outputs were fp32's bit for bit (docs/background/method.md "Precision"): a job
    would have stored fp32 as bf16. ``auto`` is fp32 there."""
    from posebatch.engine.config import PoseConfig, Precision
    from posebatch.engine.infer import open_runner
    from posebatch.errors import RuntimeUnavailableError

    monkeypatch.setattr("posebatch.engine.config.cpu_has_bf16", lambda: False)
    refusal = r"^precision bf16: this CPU does not do bfloat16 .* use --precision fp32, or auto"
    for runtime in ("tensorflow", "openvino", "auto"):
        with pytest.raises(RuntimeUnavailableError, match=refusal):
            PoseConfig(precision="bf16", runtime=runtime)
    with pytest.raises(RuntimeUnavailableError, match=refusal):
        open_runner(REPO / "not-read-before-the-refusal.pb", "image:0",
                    "Openpose/concat_stage7:0", 57, precision=Precision.BF16)
    assert PoseConfig(precision="auto").precision is Precision.FP32

