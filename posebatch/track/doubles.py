"""Parts found twice: a faint detection of one part of a mirrored pair on the spot of the other.

At a contact the network often gives the landing foot's ankle label to the rear foot for a
frame or two, with a low score. Smoothed, the landing foot's curve then dips back to the rear
foot, and its furthest point (the contact) comes 2-4 frames late. Such a detection is the
other part found a second time; the tracker keeps it in the table as detected (flagged
``doubled``) and draws the part's curve through the gap it leaves, as through a part not
found. The feet passing each other are near and may be faint too, but stay on their curves:
that is what tells them apart.
"""
from __future__ import annotations

import numpy as np

# In heights of the track's box (its found parts: eyes to ankles, about 0.9 of the stature;
# the gait's own tests of these figures were in statures, 0.05 each).
TWICE = 0.055      # a faint part this near its mirror part is that part again
AWAY = 0.055       # ... when it is this far from where its own curve runs
FAINT = 0.25       # a part's score under which it may be its mirror part again


def found_twice(xy: np.ndarray, score: np.ndarray, smooth: np.ndarray,
                pairs: tuple[tuple[int, int], ...], height: float) -> np.ndarray:
    """(T, P) bool: detections of one track that are their mirror part found again. ``xy``
    (T, P, 2) as detected (NaN: not found), ``score`` (T, P), ``smooth`` (T, P, 2) the track's
    curves drawn through them; ``pairs`` the layout's ``found_twice``; ``height`` the track's
    box height (pixels). A detection is flagged when it scores under ``FAINT`` and under its
    mirror part, lies within ``TWICE`` heights of it, and more than ``AWAY`` heights from its
    own curve."""
    out = np.zeros(score.shape, bool)
    with np.errstate(invalid="ignore"):
        for a, b in pairs:
            near = np.hypot(*(xy[:, a] - xy[:, b]).T) < TWICE * height
            for own, other in ((a, b), (b, a)):
                off = np.hypot(*(xy[:, own] - smooth[:, own]).T) > AWAY * height
                out[:, own] = (near & off & (score[:, own] < FAINT)
                               & (score[:, own] < score[:, other]))
    return out
