"""Tracking each video of a job as a Ray task once all its chunks are done."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..job import JobSpec
from ..layout import KeypointLayout
from ..store import Store

if TYPE_CHECKING:
    from .outcome import VideoState

log = logging.getLogger(__name__)


class Tracking:
    """Tracks each video once all its chunks are done: one Ray task per video (a light one,
    reserving no CPU, so it runs beside the pose actors), at most ``limit`` in flight; the
    driver reads the video's detections from the store and writes the tracked tables back."""

    def __init__(self, store: Store, tkey: str, spec: JobSpec, layout: KeypointLayout,
                 limit: int):
        import ray

        from ..track.tables import track_tables

        self.store, self.tkey, self.spec, self.layout = store, tkey, spec, layout
        self.limit = max(1, limit)
        self.task = ray.remote(num_cpus=0, max_retries=1)(track_tables)
        self.inflight: dict = {}
        self.errors: dict[int, str] = {}

    def submit(self, st: "VideoState") -> None:
        while len(self.inflight) >= self.limit:
            self.collect(block=True)
        ref = self.task.remote(*self.store.read_detections(st.key, st.chunks), self.layout,
                               self.spec.track)
        self.inflight[ref] = st

    def collect(self, block: bool = False) -> None:
        """Write the tracks that are ready (waiting for one when ``block``)."""
        import ray

        if not self.inflight:
            return
        ready, _ = ray.wait(list(self.inflight), num_returns=1 if block else len(self.inflight),
                            timeout=None if block else 0)
        for ref in ready:
            st = self.inflight.pop(ref)
            try:
                self.store.write_tracked(st.key, self.tkey, ray.get(ref))
            except ray.exceptions.RayError as exc:
                self.errors[st.video_id] = f"tracking failed: {exc}"
                log.error("%s: tracking failed: %s", st.name, exc)

    def finish(self) -> None:
        while self.inflight:
            self.collect(block=True)
