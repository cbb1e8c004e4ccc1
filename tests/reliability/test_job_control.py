"""A job one can trust and watch: one writer per output folder (a crashed job's lock taken
over), job specs checked with clear errors, progress lines in a log, --quiet and
--summary-json, and `posebatch status` right while the job runs."""
from __future__ import annotations

import json
import re
import time

import pytest

from posebatch.errors import ConfigError
from posebatch.runner.spec import make_spec
from posebatch.runner.status import job_status
from ..helpers import kill_job, posebatch, read, same_tables, start, wait_for_chunk



def test_a_second_job_on_the_same_folder_is_refused_and_a_dead_ones_lock_taken_over(
        full_run, walk_dir, tmp_path):
    out = tmp_path / "out"
    first = start("run", walk_dir, "--out", out, "--chunk", 4, "--actors", 1, "--no-progress")
    try:
        wait_for_chunk(out, first)
        second = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
        assert second.returncode == 2
        assert f"is being written by another posebatch job (pid {first.pid} on " in \
            second.stderr, second.stderr
        assert job_status(out).alive
    finally:
        kill_job(first)
    assert not job_status(out).alive
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--no-progress")
    assert r.returncode == 0, r.stderr
    assert f"taking over the lock left by a job that did not finish (pid {first.pid} on" \
        in r.stderr, r.stderr
    same_tables(full_run[0], out)


@pytest.mark.parametrize("line, message", [
    ('chunk = "big"', r"^chunk must be a whole number, at least 1 \(frames\), got 'big' \(str\)$"),
    ("chunk = 0", r"chunk must be a whole number, at least 1 \(frames\), got 0"),
    ("actors = 1.5", r"actors must be a whole number, at least 0, got 1.5 \(float\)"),
    ("upsample = 100", "upsample must be a number, at least 0.5 and at most 16 .*, got 100"),
    ('upsample = "4"', r"upsample must be a number, .* got '4' \(str\)"),
    ("frame_timeout = -1", r"frame_timeout must be a number, more than 0 \(s\), got -1"),
    ("inputs = [3]", r"inputs must be a list of strings, got \[3\] \(list\)"),
    ('precision = "fp8"', "precision must be fp32, bf16 or auto, got 'fp8'"),
    ("force = 1", r"force must be true or false, got 1 \(int\)"),
    ("[track]\nenabled = \"yes\"", "track.enabled must be true or false, got 'yes'"),
    ("[track]\nmin_similarity = \"high\"", "track.min_similarity must be a number, more than 0 "
                                            "and at most 1, got 'high'"),
    ("chunks = 32", r"unknown key 'chunks'; did you mean 'chunk'\?"),
])
def test_job_specs_with_wrong_values_are_refused_by_name(tmp_path, line, message):
    f = tmp_path / "job.toml"
    head = 'inputs = ["a.mp4"]\nout = "o"\n' if not line.startswith("inputs") else 'out = "o"\n'
    f.write_text(head + line + "\n")
    with pytest.raises(ConfigError, match=message):
        make_spec(f, {})


def test_a_job_file_error_is_one_clear_line_and_exit_code_2(tmp_path):
    f = tmp_path / "job.toml"
    f.write_text('inputs = ["a.mp4"]\nout = "o"\nchunk = "big"\n')
    r = posebatch("run", "--job", f)
    assert r.returncode == 2     # a configuration error, as on the command line
    assert r.stderr.strip() == ("error: chunk must be a whole number, at least 1 (frames), "
                                "got 'big' (str)")
    assert "Traceback" not in r.stderr


def test_a_job_in_a_log_prints_progress_lines_and_a_machine_readable_summary(walk_dir,
                                                                            tmp_path):
    out, summary = tmp_path / "out", tmp_path / "summary.json"
    r = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--log-interval", 1,
                  "--summary-json", summary)
    assert r.returncode == 0, r.stderr
    line = (r"\d\d:\d\d:\d\d (started|progress|all frames done): (\d+)/32 frames "
            r"\([\d.]+%\), [\d.]+ frames/s( on [12] actors?)?, (\S+|unknown) left, videos \d/2 "
            r"done, 0 failed")
    lines = [m for m in (re.fullmatch(line, x) for x in r.stderr.splitlines()) if m]
    assert lines[0].group(1) == "started" and lines[-1].group(1) == "all frames done"
    assert lines[-1].group(2) == "32"
    assert sum(m.group(1) == "progress" for m in lines) >= 1, r.stderr
    s = json.loads(summary.read_text())
    assert (s["frames_total"], s["frames_done_this_run"], s["inputs"], s["failed"]) == \
        (32, 32, 2, 0)
    assert [v["status"] for v in s["videos"]] == ["ok", "ok"]
    assert [v["frames"] for v in s["videos"]] == read(out, "videos").frames.tolist()
    assert s["tables"]["keypoints"] == str(out / "keypoints")

    q = posebatch("run", walk_dir, "--out", out, "--chunk", 4, "--quiet",
                  "--summary-json", summary)
    assert q.returncode == 0 and q.stdout == "", q.stdout
    assert "frames" not in q.stderr, q.stderr
    assert json.loads(summary.read_text())["frames_done_this_run"] == 0


def test_status_shows_each_videos_state_while_the_job_runs(demo_frames, tmp_path):
    """One actor works through one video, then the other (six and five chunks): the first
    is done (tracked and written) while the second still runs, and the job is alive; at
    the end both are done."""
    from ..clips import write_clip

    clips = tmp_path / "clips"
    write_clip(clips / "a.mp4", (demo_frames * 2)[:40], options={"crf": "23"})
    write_clip(clips / "b.mp4", (demo_frames * 2)[:48], options={"crf": "23"})
    out = tmp_path / "out"
    proc = start("run", clips, "--out", out, "--chunk", 8, "--actors", 1, "--no-progress")
    seen = set()
    try:
        t = time.time()
        while proc.poll() is None and time.time() - t < 300:
            try:
                st = job_status(out)
            except ConfigError:             # no manifest yet
                time.sleep(0.1)
                continue
            if st.alive and st.state == "running":
                seen.add(tuple(v.state for v in st.videos))
            time.sleep(0.1)
        proc.communicate(timeout=300)
    finally:
        kill_job(proc)
    assert proc.returncode == 0
    assert {("pending", "pending"), ("running", "pending"), ("pending", "running")} & seen, seen
    assert {("done", "pending"), ("done", "running"), ("pending", "done"),
            ("running", "done")} & seen, seen
    st = job_status(out)
    assert st.state == "complete" and not st.alive
    assert [v.state for v in st.videos] == ["done", "done"]
    r = posebatch("status", out)
    assert "complete" in r.stdout and r.stdout.count("done") >= 3 and "88/88 frames done" in \
        r.stdout, r.stdout
