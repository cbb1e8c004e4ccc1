"""Step-to gait (a limp, a walk with a cane): one foot takes every step ahead and the other
is only brought up beside it, so only one foot is ever in front and the front foot's extremes
(``posebatch.gait.events``) find every other contact. The other foot's contacts are where the
two ankles, whichever is which, come to rest together, and the first foot's toe-offs where it
leaves them; a bout walks step-to where that recurs between its front-foot contacts."""
from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np

from .bouts import runs

# Where the feet come to rest together: the two ankles (whichever is which) within
# ``STEP_UP_GAP`` body heights along the walking direction and both moving slower than
# ``STEP_UP_STILL`` body heights/s for at least ``STEP_UP_HOLD`` s, after being
# ``STEP_UP_ARRIVAL`` apart within ``STEP_UP_WITHIN`` s before, while the hips walk on
# (``hips_walk_on``). On the labelled set this finds the
# step-to limp's four scored trailing-foot contacts within 2 frames (none before) and nothing
# on the other 16 clips; in normal gait the feet are level only while one of them swings
# past, and a bout is taken to walk step-to only where this recurs (``walks_step_to``).
STEP_UP_GAP = 0.08
STEP_UP_STILL = 0.4
STEP_UP_HOLD = 0.12
STEP_UP_ARRIVAL = 0.15
STEP_UP_WITHIN = 0.4
STEP_UP_ON = 1.0     # s: how far ahead the hips must have walked on (``hips_walk_on``)


def step_ups(t: np.ndarray, right: np.ndarray, left: np.ndarray, walking: np.ndarray
             ) -> list[tuple[float, float, float]]:
    """(contact, leave, arrival gap) of each foot brought up beside the other (step-to gait,
    ``STEP_UP_GAP`` and the rest): the first and last samples of each stretch where the ankles
    ``right`` and ``left`` (along the walking direction, body heights, on the samples ``t``;
    their names are not used) are together and still, while ``walking`` (bool, the hips move
    on). A stretch that starts where an ankle is missing is not one."""
    gap = np.abs(right - left)
    d = np.diff(t)
    # the faster ankle's speed, under whichever pairing of the two moves them less
    same = np.maximum(np.abs(np.diff(right)), np.abs(np.diff(left)))
    cross = np.maximum(np.abs(right[1:] - left[:-1]), np.abs(left[1:] - right[:-1]))
    speed = np.concatenate([[np.nan], np.minimum(same, cross) / np.where(d > 0, d, np.nan)])
    rest = np.nan_to_num(gap, nan=np.inf) < STEP_UP_GAP
    rest &= np.nan_to_num(speed, nan=np.inf) < STEP_UP_STILL
    out = []
    for a, z in runs(rest):
        before = (t >= t[a] - STEP_UP_WITHIN) & (t < t[a]) & np.isfinite(gap)
        if (t[z - 1] - t[a] >= STEP_UP_HOLD and walking[a] and before.any()
                and gap[before].max() >= STEP_UP_ARRIVAL):
            out.append((float(t[a]), float(t[z - 1]), float(gap[before].max())))
    return out


def joined(found: tuple, extra: list[tuple[float, float, float]], at: int,
           evidence_at: Callable[[np.ndarray], np.ndarray], near: float) -> tuple:
    """Events ``found`` (times, prominences, label evidence, whether found where the feet
    stand together) with one more at each ``extra`` stretch (:func:`step_ups`) at its time
    number ``at`` (0: the contact, 1: the leaving), its arrival gap as the prominence and
    ``evidence_at`` its time as the label evidence, in place of those found within ``near``
    s of it."""
    when, prom, evidence, together = found
    extra_t = np.array([e[at] for e in extra])
    keep = np.array([not len(extra_t) or np.abs(extra_t - x).min() > near for x in when], bool)
    when = np.concatenate([when[keep], extra_t])
    order = np.argsort(when)
    prom = np.concatenate([prom[keep], [e[2] for e in extra]])
    evidence = np.concatenate([evidence[keep], evidence_at(extra_t)])
    together = np.concatenate([together[keep], np.ones(len(extra_t), bool)])
    return when[order], prom[order], evidence[order], together[order]


def walks_step_to(contacts: np.ndarray, ups: list[float]) -> bool:
    """Whether a bout walks step-to: a foot is brought up beside the other (``ups``) between
    at least two pairs of consecutive front-foot ``contacts`` and in at least half of them. A
    single stray (both ankle keypoints on one foot as it goes out of view) is not a gait."""
    hosts = sum(any(a < u < z for u in ups) for a, z in pairwise(contacts))
    return hosts >= 2 and hosts >= (len(contacts) - 1) / 2


def hips_walk_on(t: np.ndarray, hip_x: np.ndarray, direction: int, height: float,
                 min_speed: float) -> np.ndarray:
    """(T,) bool: ``STEP_UP_ON`` s after each sample the mid-hip (``hip_x``, px) is at least
    ``min_speed`` body heights/s x that time further along ``direction``. A step-to walker's
    hips nearly stop while the feet stand together, so their half-second speed says little
    there; a walker who stops for good does not walk on."""
    ok = np.isfinite(hip_x)
    if ok.sum() < 2:
        return np.zeros(len(t), bool)
    later = np.interp(t + STEP_UP_ON, t[ok], hip_x[ok], right=np.nan)
    return np.nan_to_num((later - hip_x) * direction / height) >= min_speed * STEP_UP_ON
