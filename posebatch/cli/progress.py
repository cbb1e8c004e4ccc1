"""How a job shows its progress: a rich bar on a terminal; plain lines at a steady interval
when the output is a log (nohup, a scheduler, CI), so a long job is never silent."""
from __future__ import annotations

import threading
import time

from rich.console import Console

from ..runner import Progress


def job_progress(console: Console, enabled: bool, interval: float = 30.0) -> Progress:
    """The bar on a terminal, log lines every ``interval`` s otherwise, nothing when not
    ``enabled``."""
    if not enabled:
        return Progress()
    if console.is_terminal:
        return BarProgress(console)
    return LogProgress(console, interval)


class Rate:
    """Frames/s of the actors that work now: the frames per actor-second so far times the
    actors working, so the estimate follows a lost node (or a joined one) at once instead of
    averaging over the whole job; frames over elapsed time until the pool says how many
    actors work. ``now``: time.monotonic()."""

    def __init__(self, now: float):
        self.t0 = self.t = now
        self.frames, self.actor_s = 0, 0.0
        self.working: int | None = None

    def _tick(self, now: float) -> None:
        if self.working is not None:
            self.actor_s += self.working * (now - self.t)
        self.t = now

    def actors(self, working: int, now: float) -> None:
        self._tick(now)
        self.working = working

    def add(self, frames: int, now: float) -> None:
        self._tick(now)
        self.frames += frames

    def fps(self, now: float) -> float:
        self._tick(now)
        if self.working is None:
            return self.frames / (now - self.t0) if now > self.t0 else 0.0
        return self.frames / self.actor_s * self.working if self.actor_s > 0 else 0.0

    def text(self, now: float) -> str:
        """e.g. "42.1 frames/s on 4 actors"."""
        fps = f"{self.fps(now):.1f} frames/s"
        if self.working is None:
            return fps
        return f"{fps} on {self.working} actor{'' if self.working == 1 else 's'}"


class BarProgress(Progress):
    """The runner's progress drawn by rich: frames, frames/s and the actors working, time
    left, videos done and failed."""

    def __init__(self, console: Console):
        self.console = console
        self.bar = None

    def start(self, total_frames: int, done_frames: int, videos: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.videos, self.left = videos, total_frames - done_frames
        self.rate = Rate(time.monotonic())
        self.bar = Progress(TextColumn("[bold]frames"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[fps]}"), TextColumn("{task.fields[eta]}"),
                            TextColumn("{task.fields[videos]}"), console=self.console,
                            transient=False)
        self.bar.start()
        self.task = self.bar.add_task("frames", total=total_frames, completed=done_frames,
                                      fps="", eta="", videos=f"videos 0/{videos}")

    def advance(self, frames: int, videos_done: int, videos_failed: int) -> None:
        if self.bar is None:
            return
        self.left -= frames
        self.rate.add(frames, time.monotonic())
        failed = f", [red]{videos_failed} failed[/red]" if videos_failed else ""
        self.bar.update(self.task, advance=frames,
                        videos=f"videos {videos_done}/{self.videos}{failed}")
        self._rate()

    def actors(self, working: int) -> None:
        if self.bar is not None:
            self.rate.actors(working, time.monotonic())
            self._rate()

    def _rate(self) -> None:
        now = time.monotonic()
        fps = self.rate.fps(now)
        eta = f"{_duration(self.left / fps)} left" if fps > 0 else "time left unknown"
        self.bar.update(self.task, fps=self.rate.text(now), eta=eta)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


class LogProgress(Progress):
    """One plain line every ``interval`` seconds (from a timer thread, so a slow start or a
    long chunk still shows the job is alive), and one at the start and the end."""

    def __init__(self, console: Console, interval: float):
        self.console, self.interval = console, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, total_frames: int, done_frames: int, videos: int) -> None:
        self.total, self.done, self.videos = total_frames, done_frames, videos
        self.videos_done, self.failed = 0, 0
        self.rate = Rate(time.monotonic())
        self._line("started")
        self._thread = threading.Thread(target=self._tick, name="posebatch-progress",
                                        daemon=True)
        self._thread.start()

    def advance(self, frames: int, videos_done: int, videos_failed: int) -> None:
        self.done += frames
        self.rate.add(frames, time.monotonic())
        self.videos_done, self.failed = videos_done, videos_failed

    def actors(self, working: int) -> None:
        self.rate.actors(working, time.monotonic())

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join()
        self._thread = None
        self._line("stopped" if self.done < self.total else "all frames done")

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self._line("progress")

    def _line(self, what: str) -> None:
        now = time.monotonic()
        fps = self.rate.fps(now)
        left = (self.total - self.done) / fps if fps > 0 else None
        pct = 100 * self.done / self.total if self.total else 100.0
        eta = "unknown" if left is None else _duration(left)
        self.console.print(
            f"{time.strftime('%H:%M:%S')} {what}: {self.done}/{self.total} frames ({pct:.1f}%), "
            f"{self.rate.text(now)}, {eta} left, videos {self.videos_done}/{self.videos} done, "
            f"{self.failed} failed", highlight=False, markup=False, soft_wrap=True)


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"
