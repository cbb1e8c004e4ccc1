"""posebatch: batch human-pose analytics over video (OpenPose-style PAF parsing)."""
__version__ = "0.1.0"
