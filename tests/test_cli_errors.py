"""Every command refuses bad input the same way: one line saying what to do (no traceback, no
bare path, no Python name), exit code 2, and nothing written. In process (CliRunner), no Ray:
refusals come before any work. Also the conventions the CLI promises (docs/cli.md)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from posebatch.cli import app
from posebatch.cli.common import INPUTS_FAILED, INTERRUPTED, OK, USAGE
from posebatch.runner import options
from posebatch.runner.spec import JobSpec, load_job_file, make_spec

runner = CliRunner()

# Names a user should never read: Python classes, internal fields, tracebacks.
_INTERNAL = re.compile(r"Traceback|<class|\b\w+Error\b|\bQuality\b|\bPrecision\b|\bPreprocess\b|"
                       r"\bStyle\b|\bnet_height\b|\bnet_width\b|\bNone\b|PosixPath")

# A bad use of every command (and of job files); each must exit 2 with one clear line.
BAD = {
    "run: a height that is not a multiple of 8": ["run", "x.mp4", "--out", "o", "--height", "300"],
    "run: a mistyped choice": ["run", "x.mp4", "--out", "o", "--quality", "best"],
    "run: an upsample out of range": ["run", "x.mp4", "--out", "o", "--upsample", "100"],
    "run: scales not starting at 1": ["run", "x.mp4", "--out", "o", "--scales", "0.5,1"],
    "run: scales that are not numbers": ["run", "x.mp4", "--out", "o", "--scales", "a,b"],
    "run: a negative tracking gap": ["run", "x.mp4", "--out", "o", "--max-gap", "-1"],
    "run: a missing input": ["run", "missing.mp4", "--out", "o"],
    "run: an unknown model": ["run", "clip.mp4", "--out", "o", "--model", "nosuch"],
    "run: a folder without videos": ["run", "empty", "--out", "o"],
    "run: no output folder": ["run", "missing.mp4"],
    "run: --height-m without --gait": ["run", "x.mp4", "--out", "o", "--height-m", "1.7"],
    "run: an unknown option": ["run", "x.mp4", "--out", "o", "--bogus"],
    "run: a missing job file": ["run", "--job", "nothere.toml"],
    "run: a [track] typo in a job file": ["run", "--job", "track_typo.toml"],
    "run: a wrong value in a job file": ["run", "--job", "bad_value.toml"],
    "run: a job file that is not TOML": ["run", "--job", "not_toml.toml"],
    "status: no job there": ["status", "nothere"],
    "status: an empty folder": ["status", "empty"],
    "demo: a mistyped quality": ["demo", "--out", "o", "--quality", "best"],
    "demo: negative renders": ["demo", "--out", "o", "--renders", "-1"],
    "config: an unknown option": ["config", "--bogus"],
    "gait: a folder without a job": ["gait", "empty"],
    "gait: no such folder": ["gait", "nothere"],
    "gait: a height out of range": ["gait", "empty", "--height-m", "17"],
    "render: a folder without a job": ["render", "empty", "--out", "renders"],
    "render: no such folder": ["render", "nothere"],
    "render: side-by-side as its own right half": ["render", "empty", "--right", "side-by-side"],
    "report: no such folder": ["report", "nothere"],
    "report: a folder without a job": ["report", "empty"],
    "export: a folder without a job": ["export", "empty", "--format", "csv", "--out", "exp"],
    "export: an unknown format": ["export", "empty", "--format", "xls"],
    "export: --height-m for a format without units": ["export", "empty", "--format", "csv",
                                                      "--height-m", "1.7"],
    "image: no such image": ["image", "nothere.jpg", "--out", "o"],
    "image: an unknown model": ["image", "nothere.jpg", "--out", "o", "--model", "nosuch"],
    "image: a bad precision": ["image", "nothere.jpg", "--out", "o", "--precision", "int8"],
    "evaluate: no annotations": ["evaluate", "--coco", "nothere.json", "--images", "empty"],
    "evaluate: a bad setting": ["evaluate", "--coco", "gt.json", "--images", "empty",
                                "--scales", "1,9"],
    "live: no such source": ["live", "nothere.mp4", "--out", "o", "--preview", "none"],
    "live: an unknown preview": ["live", "nothere.mp4", "--out", "o", "--preview", "tv"],
    "live: a bad height": ["live", "0", "--out", "o", "--height", "7"],
    "bench: a bad height": ["bench", "--height", "12"],
    "bench: no such video": ["bench", "--video", "nothere.mp4"],
    "models pull: an unknown model": ["models", "pull", "nosuch"],
    "models add: no such graph": ["models", "add", "mine", "nothere.pb"],
    "models list: an unknown option": ["models", "list", "--bogus"],
}


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A folder to run in, with an empty folder and a few broken job files."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "track_typo.toml").write_text('inputs = ["a.mp4"]\nout = "o"\n[track]\n'
                                              'maxgap = 1.0\n')
    (tmp_path / "bad_value.toml").write_text('inputs = ["a.mp4"]\nout = "o"\nchunk = "big"\n')
    (tmp_path / "not_toml.toml").write_text('inputs = ["a.mp4"\n')
    (tmp_path / "clip.mp4").write_bytes(b"not really a video")
    (tmp_path / "gt.json").write_text('{"images": [], "annotations": []}')
    return tmp_path


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def _one_clear_line(output: str) -> str:
    text = output.strip()
    assert text.count("\n") == 0, f"more than one line:\n{output}"
    assert text.startswith("error: "), text
    assert not _INTERNAL.search(text), f"a Python or internal name: {text}"
    words = [w for w in text[len("error: "):].split() if "/" not in w and "." not in w]
    assert len(words) >= 3, f"a bare path, not a sentence: {text}"
    return text


@pytest.mark.parametrize("case", list(BAD))
def test_every_command_refuses_bad_input_in_one_line_with_code_2_writing_nothing(workdir,
                                                                                 case):
    before = _tree(workdir)
    r = runner.invoke(app, BAD[case], terminal_width=200)
    assert r.exit_code == USAGE, (case, r.exit_code, r.output, r.exception)
    text = _one_clear_line(r.output)
    assert _tree(workdir) == before, f"{case}: wrote {_tree(workdir) - before} ({text})"


def test_the_messages_say_what_to_do(workdir):
    def said(*args):
        return runner.invoke(app, list(args), terminal_width=200).output.strip()

    assert "[track] unknown key 'maxgap'; did you mean 'max_gap'?" in said(
        "run", "--job", "track_typo.toml")
    assert "no video to analyse: missing.mp4: no such file or folder" in said(
        "run", "missing.mp4", "--out", "o")
    assert "add --gait" in said("run", "x.mp4", "--out", "o", "--height-m", "1.7")
    assert "no finished job in empty" in said("gait", "empty")
    assert "'skeleton', 'overlay'" in said("render", "empty", "--right", "side-by-side")
    assert "--scales" in said("run", "x.mp4", "--out", "o", "--scales", "0.5,1")
    assert "multiple of 8" in said("run", "x.mp4", "--out", "o", "--height", "300")
    assert "'fast', 'balanced', 'accurate', 'reference'" in said(
        "run", "x.mp4", "--out", "o", "--quality", "best")


def test_choices_match_in_any_case(workdir):
    # the quality is accepted (the refusal is about the height, checked next)
    r = runner.invoke(app, ["run", "x.mp4", "--out", "o", "--quality", "Fast", "--height",
                            "300"])
    assert r.exit_code == USAGE and "--height" in r.output and "quality" not in r.output
    spec = JobSpec(inputs=("a.mp4",), out="o", quality="Accurate", preprocess="AREA")
    assert spec.quality.value == "accurate" and spec.preprocess.value == "area"


def test_exit_codes_are_distinct():
    assert (OK, INPUTS_FAILED, USAGE, INTERRUPTED) == (0, 1, 2, 3)
    from posebatch.errors import (ClusterError, ConfigError, ResumableError, VideoError)

    assert ConfigError.exit_code == USAGE and VideoError.exit_code == INPUTS_FAILED
    assert ClusterError.exit_code == ResumableError.exit_code == INTERRUPTED


def _help(*args: str) -> str:
    r = runner.invoke(app, [*args, "-h"], terminal_width=200)
    assert r.exit_code == 0, r.output
    return r.output


def _commands() -> list[tuple[str, ...]]:
    import typer

    group = typer.main.get_command(app)
    names = []
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):
            names += [(name, sub) for sub in cmd.commands]
        names.append((name,))
    return names


def test_help_of_every_command_lists_choices_and_no_bool_metavar():
    import typer

    top = _help()
    commands = top[top.index("Commands"):].splitlines()
    assert commands[1].split()[1] == "run", commands[:2]       # run first
    assert typer.main.get_command(app).list_commands(None)[0] == "run"
    assert "Exit codes: 0 all ok, 1 some inputs failed, 2 usage" in " ".join(top.split())
    for command in _commands():
        text = _help(*command)
        assert "<bool>" not in text, command
    assert "<window|web|none>" in _help("live")
    right = [line for line in _help("render").splitlines() if line.startswith("│ --right")][0]
    assert "<skeleton|overlay>" in right and "side-by-side" not in right
    assert re.match(r"posebatch \d", runner.invoke(app, ["--version"]).output)


def test_the_pose_options_come_from_the_table_in_every_command():
    import typer

    group = typer.main.get_command(app)
    for command in options.POSE_COMMANDS + ("demo",):
        params = {p.opts[0]: p for p in group.commands[command].params if p.opts}
        for opt in options.for_command(command):
            assert opt.cli in params, (command, opt.cli)
            assert opt.help.split(".")[0] in params[opt.cli].help, (command, opt.cli)
    # the top-level options of a job file are JobSpec's fields
    import dataclasses

    assert {f.name for f in dataclasses.fields(JobSpec)} - {"track"} == \
        {o.name for o in options.options("")}


def test_config_prints_a_job_file_that_loads_as_the_defaults(workdir):
    r = runner.invoke(app, ["config"])
    assert r.exit_code == 0, r.output
    (workdir / "job.toml").write_text(r.output)
    values = load_job_file(workdir / "job.toml")
    assert JobSpec(**values) == JobSpec()
    for opt in options.OPTIONS:     # every option is there, with its allowed values
        assert f"{opt.name} = " in r.output, opt.name
        assert opt.allowed() in " ".join(r.output.replace("# ", "").split()), opt.name
    spec = make_spec(workdir / "job.toml", {"inputs": ("a.mp4",), "out": "o"})
    assert spec == JobSpec(inputs=("a.mp4",), out="o")
    assert tomllib.loads(r.output)["track"] == options.defaults("track")


def test_jobs_readme_option_list_is_generated_from_the_table():
    from posebatch.cli import gendocs

    for path in gendocs.targets():
        assert gendocs.with_reference(path.read_text()) == path.read_text(), (
            f"{path} is out of date: run python -m posebatch.cli.gendocs")
    ref = options.option_reference()
    assert all(f"| `{o.name}` |" in ref for o in options.OPTIONS)


def test_a_cluster_address_nothing_answers_at_is_refused_in_seconds(tmp_path, demo_clip):
    """`run --address` at a port nothing listens on: a clear line and exit 3 (resumable),
    not Ray's own retries (20 tries of its cluster client, each waiting for an answer: over
    ten minutes of silence, seen 2026-12-02). A subprocess, so a regression fails the test
    at its timeout instead of hanging the suite."""
    import os
    import subprocess
    import sys

    from .loopback import free_port

    address = f"127.0.0.1:{free_port()}"
    r = subprocess.run([sys.executable, "-m", "posebatch", "run", str(demo_clip), "--out",
                        str(tmp_path / "o"), "--address", address, "--no-progress"],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "COLUMNS": "200"})
    assert r.returncode == 3, r.stderr
    text = _one_clear_line(r.stderr)
    assert text.startswith(f"error: cannot reach a Ray cluster at {address}: Connection "
                           "refused; check --address"), text
