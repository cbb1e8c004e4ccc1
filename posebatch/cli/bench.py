"""posebatch bench: frames/s of every stage and of the job, against the bare network."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from ..engine.config import Precision, Runtime
from ..engine.quality import Quality, describe
from .common import Given, command, console, err, estimator, guard, resolve_asset


def _estimator(model: str, quality, settings: dict):
    """An Estimator at TensorFlow's own thread choice (bench compares networks with it)."""
    return estimator(Given({"model": model, "quality": quality, **settings}))


@command()
def bench(frames: Annotated[int, typer.Option(help="Frames of the video the job processes per "
                            "repeat.")] = 128,
          stage_frames: Annotated[int, typer.Option(help="Frames per repeat for the per-stage "
                                  "timings (held in memory).")] = 30,
          repeats: Annotated[int, typer.Option(help="Repeats; medians are reported.")] = 3,
          chunk: Annotated[int, typer.Option(help="Frames per job task (smaller than a "
                         "job's default, so that --frames make several chunks).", min=1)] = 32,
          video: Annotated[Optional[Path], typer.Option(
              help="Video to use instead of the demo video.", exists=True, dir_okay=False,
              show_default=False)] = None,
          *, opts: Given):
    """Frames/s of each stage, end to end in one process and through the job (Ray), with the
    bare network measured in the same run and the ratios printed."""
    import numpy as np

    from ..bench import (ACTORS_CPU, BARE, DRIVER_CPU, JOB, REFERENCE_NET,
                                REFINE_ACTOR_PERSON, REFINE_PERSON, RENDER, SEQUENTIAL, TRACK,
                                VARIANT, StageTimes, bench_job)
    from ..runner.spec import JobSpec, refine_config
    from ..engine.runtimes import candidates, label

    model, quality = opts.value("model"), Quality(opts.value("quality"))
    with guard():
        spec = JobSpec(inputs=(str(video or "-"),), out="-", chunk=chunk, **opts.section(""))
        threads, prefetch = spec.threads, spec.prefetch
        video = video or resolve_asset("demo_video")
        settings = opts.pose()
        # TensorFlow's own thread choice. Ratios are to TensorFlow's plain fp32 network at the
        # same input size (a second estimator when another runtime or precision, flip or
        # scales are asked for); every runtime/precision this machine runs is timed on the
        # same frames, and the reference preset's network too, so all compare within one run.
        est = _estimator(model, quality, settings)
        cfg = est.config
        plain = dict(settings, flip=False, scales=(1.0,))
        as_bare = (Runtime.TENSORFLOW, Precision.FP32, False, (1.0,))
        bare = (_estimator(model, quality, dict(plain, runtime=Runtime.TENSORFLOW,
                                                precision=Precision.FP32))
                if (cfg.runtime, cfg.precision, cfg.flip, cfg.scales) != as_bare else None)
        variants = {label(r, p): _estimator(model, quality, dict(plain, runtime=r, precision=p))
                    for r, p in candidates()[1:]}
        # the reference network, timed for comparison (the estimator itself when it is one)
        reference = (est if quality is Quality.REFERENCE and not any(
            v is not None for v in settings.values()) else _estimator(model, Quality.REFERENCE, {}))
        for e in (bare, reference, *variants.values()):    # first runs are slow
            if e is not None:
                e.network(np.zeros((368, 432, 3), np.uint8))
        spec = JobSpec(inputs=(str(video),), out="-", chunk=chunk, **opts.section(""))
        times = StageTimes()
        info = bench_job(video, spec, est, frames, stage_frames, repeats, times,
                         on_repeat=lambda r: err.print(f"repeat {r + 1}/{repeats} done"),
                         bare=bare, reference=reference, variants=variants)
    net = times.median_ms(BARE)
    t = Table("stage", "ms/frame (median)", "frames/s", "throughput / bare network",
              title=f"{model}, quality {quality.value} ({describe(cfg)}"
                    f"{', refine people' if refine_config(spec).enabled else ''}), "
                    f"{video.name}: stages "
                    f"on {stage_frames} frames, the job on {info['frames']} frames "
                    f"({info['chunks']} chunks of {chunk}, {info['actors']} actors x "
                    f"{threads} threads, prefetch {prefetch}); {repeats} repeats")
    variant_stages = {VARIANT.format(v) for v in variants}
    for stage in times.runs:
        if stage in (DRIVER_CPU, ACTORS_CPU) or stage in variant_stages:
            continue
        ms = times.median_ms(stage)
        t.add_row(stage, f"{ms:.2f}", f"{1e3 / ms:.1f}", f"{net / ms:.2f}")
    console.print(t)
    v = Table("runtime precision", "network ms/frame (median)", "frames/s",
              "throughput / TensorFlow fp32 (bare)", "per repeat",
              title=f"every runtime and precision on this machine, the same {stage_frames} "
                    f"frames at {cfg.net_width}x{cfg.net_height}, one run (this job's: "
                    f"{label(cfg.runtime, cfg.precision)})")
    for name, stage in [(label(Runtime.TENSORFLOW, Precision.FP32), BARE),
                        *((n, VARIANT.format(n)) for n in variants)]:
        ms = times.median_ms(stage)
        v.add_row(name, f"{ms:.2f}", f"{1e3 / ms:.1f}", f"{net / ms:.2f}",
                  ", ".join(f"{a / b:.2f}" for a, b in zip(times.runs[BARE], times.runs[stage])))
    console.print(v)
    console.print("per repeat, job end to end / bare network: "
                  + ", ".join(f"{a / b:.2f}" for a, b in zip(times.runs[BARE], times.runs[JOB])))
    console.print(f"job end to end: {times.fps(JOB):.1f} frames/s = {times.ratio(JOB):.2f} x "
                  f"the bare fp32 network ({times.fps(BARE):.1f} frames/s, same run)")
    ref = times.median_ms(REFERENCE_NET)
    console.print(f"cost per frame / the reference 432x368 fp32 network's "
                  f"({ref:.1f} ms/frame, same run): job {times.median_ms(JOB) / ref:.2f}, "
                  f"one process {times.median_ms(SEQUENTIAL) / ref:.2f}")
    if times.runs.get(ACTORS_CPU):
        console.print(f"job CPU per frame: driver {times.median_ms(DRIVER_CPU):.2f} ms, actors "
                      f"{times.median_ms(ACTORS_CPU):.1f} ms, against {times.median_ms(JOB):.1f} "
                      f"ms of wall time x {info['actors'] * threads} CPUs reserved")
    st = info["startup"]
    console.print(f"start-up: Ray {st['ray_s']:.1f} s, {info['actors']} actors loaded and warm "
                  f"{st['actors_s']:.1f} s, first chunk done {st['first_chunk_s']:.1f} s after "
                  f"the start (its frames included); resident memory per actor: "
                  + ", ".join(f"{g:.2f} GB" for g in st["actor_rss"]))
    if times.runs.get(REFINE_PERSON):
        person = times.median_ms(REFINE_PERSON)
        in_job = (f"; in the job, {times.median_ms(REFINE_ACTOR_PERSON):.1f} ms of actor time "
                  "per person" if times.runs.get(REFINE_ACTOR_PERSON) else "")
        console.print(f"second look (--refine people): {person:.1f} ms per person per frame "
                      f"in one process = {person / net:.2f} x the bare network{in_job}")
    console.print(f"finish video (track, smooth, write): {times.median_ms(TRACK):.2f} ms/frame = "
                  f"{100 * times.median_ms(TRACK) / net:.1f}% of the bare network's time")
    console.print(f"render: {times.median_ms(RENDER):.2f} ms/frame = "
                  f"{100 * times.median_ms(RENDER) / times.median_ms(SEQUENTIAL):.1f}% of pose "
                  f"estimation's time per frame (end to end, one process, same run); "
                  f"{times.fps(RENDER):.1f} frames/s per worker against the job's "
                  f"{times.fps(JOB):.1f} pose frames/s on {info['actors']} actors")
