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


class BarProgress(Progress):
    """The runner's progress drawn by rich: frames, frames/s, ETA, videos done and failed."""

    def __init__(self, console: Console):
        self.console = console
        self.bar = None

    def start(self, total_frames: int, done_frames: int, videos: int) -> None:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeRemainingColumn)

        self.videos = videos
        self.bar = Progress(TextColumn("[bold]frames"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[fps]}"), TimeRemainingColumn(),
                            TextColumn("{task.fields[videos]}"), console=self.console,
                            transient=False)
        self.bar.start()
        self.task = self.bar.add_task("frames", total=total_frames, completed=done_frames,
                                      fps="", videos=f"videos 0/{videos}")

    def advance(self, frames: int, videos_done: int, videos_failed: int) -> None:
        if self.bar is None:
            return
        self.bar.update(self.task, advance=frames)
        fps = self.bar.tasks[0].speed or 0.0
        failed = f", [red]{videos_failed} failed[/red]" if videos_failed else ""
        self.bar.update(self.task, fps=f"{fps:.1f} frames/s",
                        videos=f"videos {videos_done}/{self.videos}{failed}")

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
        self.first_done, self.videos_done, self.failed = done_frames, 0, 0
        self.t0 = time.monotonic()
        self._line("started")
        self._thread = threading.Thread(target=self._tick, name="posebatch-progress",
                                        daemon=True)
        self._thread.start()

    def advance(self, frames: int, videos_done: int, videos_failed: int) -> None:
        self.done += frames
        self.videos_done, self.failed = videos_done, videos_failed

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
        elapsed = time.monotonic() - self.t0
        new = self.done - self.first_done
        fps = new / elapsed if elapsed > 0 else 0.0
        left = (self.total - self.done) / fps if fps > 0 else None
        pct = 100 * self.done / self.total if self.total else 100.0
        eta = "unknown" if left is None else _duration(left)
        self.console.print(
            f"{time.strftime('%H:%M:%S')} {what}: {self.done}/{self.total} frames ({pct:.1f}%), "
            f"{fps:.1f} frames/s, {eta} left, videos {self.videos_done}/{self.videos} done, "
            f"{self.failed} failed", highlight=False, markup=False, soft_wrap=True)


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else f"{m}m{s:02d}s" if m else f"{s}s"
