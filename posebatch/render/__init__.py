"""Rendering: drawing people on frames (``draw``) and whole videos from a job's tables
(``video``: frame ranges drawn and encoded in parallel, joined without re-encoding). Never
runs inference, never mutates its input."""
from .draw import caption, colorize, draw_people, draw_tracked, panels, skeleton_only, track_color

__all__ = ["caption", "colorize", "draw_people", "draw_tracked", "panels", "skeleton_only",
           "track_color"]
