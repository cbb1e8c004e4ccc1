"""The batch job on Ray: videos -> frame chunks -> a pool of pose actors -> Parquet tables.

The driver indexes every video (packets only), plans chunks, skips the ones already finished
in the output folder, and hands the rest to a pool of actors (``ChunkPool``). Each actor loads the
graph and the parser once; a chunk's result (three small Arrow tables) comes back to the
driver, which writes it as soon as it arrives, so at most one result per actor is in memory.
"""
from .chunk import ChunkResult, ChunkTask, PoseWorker, process_chunk
from .cluster import local_cpus, ray_runtime, resolve_actors, start_pool
from .job import run_job, versions
from .outcome import JobReport, Progress, VideoState

__all__ = ["ChunkResult", "ChunkTask", "JobReport", "PoseWorker", "Progress", "VideoState",
           "local_cpus", "process_chunk", "ray_runtime", "resolve_actors", "run_job",
           "start_pool", "versions"]
