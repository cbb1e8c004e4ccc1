"""Gait events of one track in each of its walking bouts (``posebatch.gait.bouts``), from
its smoothed keypoints over time.

Events (Zeni et al. 2008, adapted to 18 keypoints and made independent of the left/right
labels): the network names the ankles, and at some steps it names them the wrong way round,
so events are found from signals that do not depend on the names: the *front* foot (the
ankle furthest ahead of the mid-hip along the walking direction, whichever it is) reaches
its furthest point at each initial contact, and the *rear* foot its furthest point behind as
the heel rises before each toe-off (the toe-off is placed a little after it, towards the
rear ankle's highest point: ``toe_off_time``). The walker's step time comes from the
autocorrelation of the front foot's signal (one peak per step, whatever the labels). Only
then is each event given a side: the feet take turns, so within a run of regular steps the
sides alternate, and the one of the two alternating assignments that agrees with more of the
labels (which ankle was in front at the contact, behind at the toe-off) is kept, for
contacts and toe-offs together (a toe-off just after a contact is the other foot's). A
swapped label can change an event's side, never its existence or its time;
``side_confidence`` says how much of the labels agreed. Where they leave the sides uncertain,
the foot drawn nearer the camera may decide instead (``posebatch.gait.near``).
In a step-to gait (a limp, a cane: one foot only brought up beside the other) only one foot is
ever in front; the other's contacts are where the feet come to rest together, and the first
foot's toe-offs where it leaves them (``posebatch.gait.step_to``).
A bout's edges come from a speed measured over half a second, so its first and last steps lie
partly outside it: events are searched up to a step beyond it (``_widened``) and kept within
half a step of it. An extreme where the two ankles are never apart within a quarter step
(both keypoints on one foot, the other hidden) is not an event: the feet pass each other
only at mid-swing.

Time: samples are placed on the frames' own timestamps, and frames that repeat the previous
picture (``frames.repeat``) are left out, so a run of duplicated pictures is one instant and
never halves or doubles the rhythm; where pictures came at a steady rate (a 15 fps recording
saved at 24 fps) they are placed on that picture clock instead of the jittering times at
which each was first shown (``picture_times``). Times are refined below a frame by a
parabola fitted around each extreme (``PEAK_FIT``), then moved by the measured lateness of
the ankle (``toe_off_lag`` here; ``contact_lag`` once the sides are decided, ``reported``;
fractions of a step: see the README's gait validation).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import find_peaks

from ..engine.config import GaitConfig
from .angles import SIDES, xy
from .bouts import STEP_RANGE, Bout, hip_speed
from .near import near_foot, overrules
from .step_to import hips_walk_on, joined, step_ups, walks_step_to

# Extremes (contacts, toe-offs) are timed by a parabola fitted to the samples within this many
# seconds (two frames either side at 30 fps; one, the three-point parabola, at 15): the front
# ankle rests on the floor for a few frames around a contact, and on that flat top a single
# noisy sample moved the event by a frame or two. On the labelled set, against the
# three-point parabola: contacts within 2 frames 0.86 -> 0.88, precision 0.89 -> 0.91,
# toe-offs 0.70 -> 0.71, 0.72 -> 0.74.
PEAK_FIT = 0.07

# In a gap of about two steps between events, an extreme of this fraction of
# ``min_prominence`` is taken for the step the rhythm says is due (``_gaps_filled``).
GAP_PROMINENCE = 0.25

# How far a toe-off lies from the rear ankle's furthest point behind towards its highest
# point (``toe_off_time``). Measured on the labelled set (benchmarks/gait_set, 13 walking
# passes, 5 people): the furthest point alone is 1-4 frames early on the barefoot walkers
# (a long heel rise) and on time on the shod one, the highest point 0-2 frames late on the
# barefoot walkers and 3-5 on the shod one; 0.3 of the way fits both (toe-offs within 2
# frames of a label: recall 0.51 -> 0.69, precision 0.53 -> 0.72; docs/guide/gait.md).
TOE_OFF_RISE = 0.3

# In one step the hips travel about as far as the feet are apart at a contact; in a stride,
# twice that. A rhythm whose step would carry the hips further than this many times the
# feet's usual spread (their 90th percentile apart) is a stride, and the step is the peak at
# half its lag however weak. On the labelled set (19 clips, 12 of them also mirrored) the
# ratio is 0.87-1.17 wherever the rhythm is right (a step-to limp's stride too, where the
# leading foot alone goes ahead); the older woman's way back, mirrored, has a weak step peak
# (0.18 against the stride's 0.34), took the stride, 1.03 s, for her step (ratio 1.90) and
# found every other contact: cadence -59 %.
STRIDE_TRAVEL = 1.5


def picture_times(t: np.ndarray, fresh: np.ndarray) -> np.ndarray:
    """When each frame's picture was taken, for a stretch where some frames repeat the
    picture before (``fresh`` False). A new picture is first shown on the next frame after it
    was taken, so first-shown times jitter by up to a frame (a 15 fps recording in a 24 fps
    file shows its pictures for one or two frames); where the pictures came at a steady rate
    (a straight line through the first-shown times leaves less than a third of a frame), that
    line is the picture clock. Elsewhere, and where nothing repeats, the frames' own times."""
    if fresh.all() or fresh.sum() < 8:
        return t
    n = np.cumsum(fresh) - 1                      # which picture each frame shows
    slope, icept = np.polyfit(n[fresh], t[fresh], 1)
    clock = icept + slope * n
    frame = float(np.median(np.diff(t)))
    if np.sqrt(np.mean((t[fresh] - clock[fresh]) ** 2)) > frame / 3:
        return t
    return clock


def step_period(t: np.ndarray, signal: np.ndarray, longest: float = np.inf
                ) -> tuple[float | None, float]:
    """The walker's step time (s) and how clear it is (the autocorrelation at that lag,
    0-1): the strongest autocorrelation peak of the front foot's signal between 0.25 and
    1.25 s, or half of it when a peak at half the lag is nearly as strong (the signal repeats
    every step; a stride is two) or the strongest is longer than ``longest`` (s: the hips'
    travel says it is a stride, :func:`longest_step`), then half the stride's peak where
    there is one; without a clear step, half the first clear peak longer than ``longest``
    (up to 2.5 s). (None, 0) when there is no rhythm."""
    grid, y = _even(t, signal)
    if grid is None or len(y) < 8:
        return None, 0.0
    dt = grid[1] - grid[0]
    y = y - y.mean()
    # per lag, the mean product over the pairs that lag has (not their sum): the sum falls
    # with the lag on a short bout, which would pull the peak towards shorter steps
    ac = np.correlate(y, y, "full")[len(y) - 1:] / np.arange(len(y), 0, -1)
    if ac[0] <= 0:
        return None, 0.0
    ac = ac / ac[0]
    lo, hi = max(1, int(STEP_RANGE[0] / dt)), min(int(STEP_RANGE[1] / dt), len(ac) - 2)
    if hi <= lo + 1:
        return None, 0.0
    peaks, _ = find_peaks(ac[lo - 1:hi + 2])
    peaks = peaks + lo - 1
    peaks = peaks[(peaks >= lo) & (peaks <= hi)]
    if not len(peaks):
        # a slow step-to walker's front foot changes once a stride, up to twice as long
        # (``bout_events`` then halves it)
        far, _ = find_peaks(ac[:min(2 * hi, len(ac) - 1) + 1])
        peaks = far[far > hi]
    if not len(peaks):
        return None, 0.0
    best = peaks[np.argmax(ac[peaks])]
    half = peaks[np.abs(peaks - best / 2) <= 0.2 * best / 2]
    if len(half) and (ac[half].max() >= 0.6 * ac[best] or best * dt > longest):
        best = half[np.argmax(ac[half])]
    elif best * dt > longest:
        # a stride by the hips' travel, with no peak at half its lag (steps long and short
        # in turn): the step is half of it, as clear as the signal is at that lag
        return _refine(ac, int(best)) * dt / 2, float(max(ac[int(round(best / 2))], 0.0))
    if ac[best] <= 0.1:
        # no clear step, but a stride where the hips' travel says there is one (the first
        # clear peak longer than ``longest``, up to twice the steps searched for): steps that
        # alternate long and short (circumduction) may repeat only as a stride (1.27 s on the
        # set's circumducting walker, mirrored). How clear is still the steps' (under 0.1):
        # the events' confidence says they are weak
        strides, _ = find_peaks(ac[:min(2 * hi, len(ac) - 2) + 1])
        strides = strides[(strides * dt > longest) & (ac[strides] > 0.1)]
        if len(strides):
            return _refine(ac, int(strides[0])) * dt / 2, float(max(ac[best], 0.0))
        return None, float(max(ac[best], 0.0))
    # a stride repeats exactly, a step only roughly where the feet's steps differ (a limp,
    # circumduction: long and short in turn), so the stride's peak, where there is one at
    # twice the lag at least half as strong, places the step more precisely
    near = np.arange(int(1.8 * best), min(int(2.2 * best) + 1, len(ac) - 1))
    twice = [i for i in near if ac[i] >= max(ac[i - 1], ac[i + 1], 0.5 * ac[best])]
    if twice:
        return _refine(ac, int(max(twice, key=lambda i: ac[i]))) * dt / 2, float(ac[best])
    return _refine(ac, best) * dt, float(ac[best])


def longest_step(t: np.ndarray, hip_along: np.ndarray, apart: np.ndarray) -> float:
    """The longest step time (s) the hips' travel allows: ``STRIDE_TRAVEL`` times the feet's
    usual spread (the 90th percentile of ``apart``, the front ankle's lead over the rear
    one) over the hips' speed (``hip_along``: their place along the walking direction, in
    the same unit, at times ``t``). Infinite where the hips hardly move (a treadmill)."""
    ok = np.isfinite(hip_along)
    if ok.sum() < 2 or not np.isfinite(apart).any():
        return np.inf
    speed = float(np.polyfit(t[ok], hip_along[ok], 1)[0])
    spread = float(np.nanpercentile(apart, 90))
    return STRIDE_TRAVEL * spread / speed if speed > 0 and spread > 0 else np.inf


def _refine(y: np.ndarray, i: int) -> float:
    """Index of the peak at ``i`` refined by a parabola through it and its neighbours."""
    if i <= 0 or i >= len(y) - 1:
        return float(i)
    a, b, c = y[i - 1], y[i], y[i + 1]
    den = a - 2 * b + c
    return i + (float(np.clip(0.5 * (a - c) / den, -0.5, 0.5)) if den < 0 else 0.0)


def _even(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
    ok = np.isfinite(y)
    if ok.sum() < 4:
        return None, y[:0]
    tt, yy = t[ok], y[ok]
    dt = float(np.median(np.diff(tt)))
    grid = tt[0] + dt * np.arange(int(round((tt[-1] - tt[0]) / dt)) + 1)
    return grid, np.interp(grid, tt, yy)


def extremes(t: np.ndarray, signal: np.ndarray, prominence: float,
             maximum: bool) -> list[tuple[float, float]]:
    """(time, prominence) of every maximum (or minimum) of the signal that stands out by
    ``prominence``, timed by a parabola fitted to the samples within ``PEAK_FIT`` s of it."""
    grid, y = _even(t, signal)
    if grid is None:
        return []
    dt = grid[1] - grid[0]
    s = y if maximum else -y
    idx, props = find_peaks(s, prominence=prominence)
    k = max(1, int(round(PEAK_FIT / dt)))
    return [(float(grid[0] + _vertex(s, i, k) * dt), float(prom))
            for i, prom in zip(idx, props["prominences"])]


def _vertex(y: np.ndarray, i: int, k: int) -> float:
    """Index of the peak at ``i`` from a parabola fitted to the ``k`` samples either side
    (through the three around it where ``k`` is 1 or the peak is near an edge)."""
    if k <= 1 or i < k or i >= len(y) - k:
        return _refine(y, i)
    a, b, _ = np.polyfit(np.arange(-k, k + 1), y[i - k:i + k + 1], 2)
    return i + (float(np.clip(-b / (2 * a), -k, k)) if a < 0 else 0.0)


def _gaps_filled(found: list[tuple[float, float]], weak: list[tuple[float, float]],
                 step: float) -> list[tuple[float, float]]:
    """``found`` with, in each gap of about two steps between consecutive events, the most
    prominent of the ``weak`` extremes near its middle: the step between is due there by the
    rhythm, and a foot that hardly gets ahead (circumduction, a limp) gives only a faint
    extreme."""
    out = list(found)
    for (a, _), (z, _) in zip(found[:-1], found[1:]):
        if 1.5 * step <= z - a <= 2.5 * step:
            mid = [e for e in weak if abs(e[0] - (a + z) / 2) <= 0.35 * step]
            if mid:
                out.append(max(mid, key=lambda e: e[1]))
    return sorted(out)


def spaced(found: list[tuple[float, float]], gap: float) -> list[tuple[float, float]]:
    """The most prominent events first, each at least ``gap`` seconds from those kept."""
    kept: list[tuple[float, float]] = []
    for when, prom in sorted(found, key=lambda e: -e[1]):
        if all(abs(when - w) >= gap for w, _ in kept):
            kept.append((when, prom))
    return sorted(kept)


def _event_runs(times: np.ndarray, step: float) -> list[slice]:
    """The runs of sorted ``times`` whose neighbours are less than 1.5 steps apart."""
    cuts = np.flatnonzero(np.diff(times) >= 1.5 * step) + 1
    edges = [0, *cuts.tolist(), len(times)]
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def _agreement(terms: np.ndarray) -> float:
    """Side confidence from label evidence signed by the sides given (> 0: agrees): the
    share that agrees, 0.5 when there is none."""
    total = np.abs(terms).sum()
    return 0.5 + 0.5 * max(float(terms.sum()), 0.0) / total if total > 0 else 0.5


def assign_sides(times: np.ndarray, evidence: np.ndarray, step: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Sides (+1 right, -1 left) for events of one kind at ``times`` (sorted): they alternate
    within each run of events less than 1.5 steps apart, and each run takes the alternation
    that agrees best with ``evidence`` (> 0: the labels say right, in units of body height).
    Also returns each event's side confidence: the share of the run's label evidence that
    agrees with the assignment (1: the labels say the same throughout; 0.5: no better than
    chance)."""
    sides = np.zeros(len(times))
    conf = np.zeros(len(times))
    for run in _event_runs(times, step):
        e = np.nan_to_num(evidence[run])
        pattern = np.where(np.arange(len(e)) % 2 == 0, 1.0, -1.0)
        phase = 1.0 if (pattern * e).sum() >= 0 else -1.0
        sides[run] = phase * pattern
        conf[run] = _agreement(phase * pattern * e)
    return sides, conf


def assign_both_sides(contacts: np.ndarray, c_evidence: np.ndarray, toe_offs: np.ndarray,
                      t_evidence: np.ndarray, step: float) -> dict[str, tuple]:
    """Sides and side confidences (as :func:`assign_sides`) of a bout's contacts and
    toe-offs, decided together: a toe-off less than half a step after a contact is the other
    foot's (the rear foot leaves the ground just after the front one lands), so its label
    evidence counts for that contact, and its side follows from it. Decided apart, weak
    evidence could flip the toe-offs and not the contacts, and every stance then ran from a
    contact to the other foot's toe-off (stance of about 15 % instead of 60 %)."""
    after = np.full(len(toe_offs), -1)
    for j, x in enumerate(toe_offs):
        # within half a step after a contact (or a quarter before it: both events are found
        # to within a frame or two, and double support can be as short)
        near = np.flatnonzero((contacts >= x - step / 2) & (contacts <= x + step / 4))
        if len(near):
            after[j] = near[np.argmin(np.abs(contacts[near] - x))]
    joint = np.nan_to_num(c_evidence).copy()
    for j, i in enumerate(after):
        if i >= 0:
            joint[i] -= np.nan_to_num(t_evidence[j])
    c_sides, _ = assign_sides(contacts, joint, step)
    # the confidence: the share of the label evidence, each event's own, that agrees
    terms = [[c_sides[i] * np.nan_to_num(c_evidence[i])] for i in range(len(contacts))]
    for j, i in enumerate(after):
        if i >= 0:
            terms[i].append(-c_sides[i] * np.nan_to_num(t_evidence[j]))
    c_conf = np.zeros(len(contacts))
    for run in _event_runs(contacts, step):
        c_conf[run] = _agreement(np.array([x for ts in terms[run] for x in ts]))
    _, own_conf = assign_sides(toe_offs, t_evidence, step)
    # toe-offs alternate too: a run holding toe-offs tied to contacts takes the phase they
    # give (each counts far more than any label evidence), the others their own
    tied = (np.where(after >= 0, -c_sides[np.maximum(after, 0)], 0.0) if len(contacts)
            else np.zeros(len(toe_offs)))
    scale = 1.0 + 2 * np.abs(np.nan_to_num(t_evidence)).sum()
    t_sides, _ = assign_sides(toe_offs, np.nan_to_num(t_evidence) + scale * tied, step)
    t_conf = (np.where(after >= 0, c_conf[np.maximum(after, 0)], own_conf) if len(contacts)
              else own_conf)
    return {"contact": (c_sides, c_conf), "toe_off": (t_sides, t_conf)}


def _apart(t: np.ndarray, gap: np.ndarray, when: float, half: float) -> float:
    """The largest ``gap`` (front minus rear ankle) within ``half`` seconds of ``when``."""
    near = (np.abs(t - when) <= half) & np.isfinite(gap)
    return float(gap[near].max()) if near.any() else 0.0


def _widened(t: np.ndarray, hip_x: np.ndarray, b: Bout, step: float) -> tuple[int, int]:
    """Samples [lo, hi) of the track around bout ``b``: up to one ``step`` (s) beyond each of
    its edges, stopping where the mid-hip moves the other way (a turn, another bout)."""
    against = np.nan_to_num(hip_speed(t, hip_x) * b.direction) < 0
    if b.in_place:                      # the hips hardly move: their way says nothing
        against[:] = False
    lo = b.start
    while lo > 0 and t[b.start] - t[lo - 1] <= step and not against[lo - 1]:
        lo -= 1
    hi = b.end
    while hi < len(t) and t[hi] - t[b.end - 1] <= step and not against[hi]:
        hi += 1
    return lo, hi


def toe_off_time(t: np.ndarray, rel: dict, up: dict, when: float, step: float) -> float:
    """A toe-off's time from the rear foot's furthest point behind (``when``): that is when
    the heel starts to rise, and the toes leave later, when the ankle has nearly finished
    rising; so the event is moved ``TOE_OFF_RISE`` of the way to the rear ankle's highest
    point within half a step after it. ``rel``: each ankle ahead of the mid-hip, ``up``: its
    height (body heights, y up), both on the samples ``t``."""
    i = int(np.argmin(np.abs(t - when)))
    r, l = rel["right"][i], rel["left"][i]
    if not (np.isfinite(r) and np.isfinite(l)):
        return when
    y = up["right"] if r < l else up["left"]
    near = np.flatnonzero((t >= when) & (t <= when + step / 2) & np.isfinite(y))
    if len(near) < 2:
        return when
    top = float(t[near[np.argmax(y[near])]])
    return when + TOE_OFF_RISE * (top - when)


def bout_events(w, t: np.ndarray, hip: np.ndarray, height: float, b: Bout, k: int,
                config: GaitConfig, fresh: np.ndarray | None = None) -> list[dict]:
    """Contacts and toe-offs of both feet in bout ``k`` of a track's wide view ``w`` (times
    ``t``, mid-hip ``hip`` (T, 2), stature ``height`` px), as rows for the events table.
    ``fresh`` (T,) bool: False for frames that repeat the previous picture (left out)."""
    def signals(lo: int, hi: int):
        sl = slice(lo, hi)
        keep = np.ones(hi - lo, bool) if fresh is None else fresh[sl].astype(bool)
        tb = picture_times(t[sl], keep)[keep]
        rel = {s: (b.direction * (xy(w, f"{s}_ankle")[sl, 0] - hip[sl, 0]) / height)[keep]
               for s in SIDES}
        up = {s: (-xy(w, f"{s}_ankle")[sl, 1] / height)[keep] for s in SIDES}
        # NaN where either ankle is missing
        return (tb, rel, np.maximum(rel["right"], rel["left"]),
                np.minimum(rel["right"], rel["left"]), up)

    tb, rel, front, rear, _ = signals(b.start, b.end)
    along = b.direction * hip[b.start:b.end, 0] / height
    if fresh is not None:
        along = along[fresh[b.start:b.end].astype(bool)]
    step, clarity = step_period(tb, front, longest_step(tb, along, front - rear))
    if step is None:
        return []
    # the bout's edges come from a speed measured over half a second, so its first and last
    # steps lie partly outside it, and an extreme at an edge has no prominence on its cut
    # side: search a step beyond each edge (while the hips do not move the other way), keep
    # the events within half a step of the bout
    lo, hi = _widened(t, hip[:, 0], b, step)
    tb, rel, front, rear, up = signals(lo, hi)
    kept = slice(lo, hi) if fresh is None else np.flatnonzero(fresh[lo:hi]) + lo
    apart = front - rear
    frames = w["frame"].to_numpy()
    # label evidence: at a contact the right ankle is ahead of the left (> 0); at a toe-off
    # it is behind
    ok = np.isfinite(rel["right"] - rel["left"])

    def right_ahead(when) -> np.ndarray:
        return (np.interp(when, tb[ok], (rel["right"] - rel["left"])[ok]) if ok.any()
                else np.full(len(when), np.nan))

    found, leaves = {}, []
    for name, signal, maximum in (("contact", front, True), ("toe_off", rear, False)):
        # the feet pass each other only at mid-swing, half a step from any contact or
        # toe-off, so within a quarter step of a real one they are apart; where they never
        # are (both ankle keypoints on one foot, the other hidden, as a walker comes into
        # view), an extreme is not an event
        f = [e for e in extremes(tb, signal, config.min_prominence * GAP_PROMINENCE, maximum)
             if _apart(tb, apart, e[0], step / 4) >= config.min_prominence]
        strong = [e for e in f if e[1] >= config.min_prominence]
        f = [e for e in _gaps_filled(spaced(strong, config.min_spacing * step), f, step)
             if b.t0 - step / 2 <= e[0] <= b.t1 + step / 2]
        when = np.array([e[0] for e in f])
        if not maximum:
            when = np.array([toe_off_time(tb, rel, up, x, step) for x in when])
        diff = right_ahead(when)
        found[name] = (when, np.array([e[1] for e in f]), diff if maximum else -diff,
                       np.zeros(len(when), bool))
        if maximum:
            # where one foot is only brought up beside the other (step-to gait), its contacts;
            # ``rel`` plus the hips' position is each ankle's place along the way
            ahead = b.direction * hip[kept, 0] / height
            walking = hips_walk_on(t, hip[:, 0], b.direction, height, config.min_speed)[kept]
            ups = [u for u in step_ups(tb, rel["right"] + ahead, rel["left"] + ahead, walking)
                   if b.t0 <= u[0] <= b.t1
                   and (not len(when) or np.abs(when - u[0]).min() > 0.3 * step)]
            if walks_step_to(when, [u[0] for u in ups]):
                found[name] = joined(found[name], ups, 0, right_ahead, 0.0)
                # the front foot's rhythm came once a stride: the step is half of the
                # median time between one foot's contacts (a limp's steps alternate long
                # and short, so the median of single steps is either)
                c = found[name][0]
                step = float(np.median(c[2:] - c[:-2]) / 2 if len(c) > 2
                             else np.median(np.diff(c)))
                leaves = ups
            if step > STEP_RANGE[1]:
                # a rhythm a stride long, from beyond the steps searched for, is kept only
                # for a step-to gait (halved above); otherwise there is no step rhythm
                return []
        elif leaves:
            # ... and when the feet stand together, the first to leave is a toe-off, in place
            # of any found closer to it than toe-offs are kept apart (``min_spacing``)
            found[name] = joined(found[name], leaves, 1,
                                 lambda x: -right_ahead(x), config.min_spacing * step)
    sides = assign_both_sides(found["contact"][0], found["contact"][2],
                              found["toe_off"][0], found["toe_off"][2], step)
    # where the labels leave the sides uncertain, the foot drawn nearer the camera may decide
    c_sides, c_conf = sides["contact"]
    near_t, near_diff = near_foot(tb, rel, up, found["contact"][0], c_sides, b.direction)
    by_near = len(c_conf) > 0 and overrules(near_t, near_diff, float(np.mean(c_conf)))
    if by_near:
        sides = {kind: (-s, 1 - c) for kind, (s, c) in sides.items()}
        near_t = -near_t
    rows = []
    # contacts keep the ankle's own time here (``reported``)
    for name, signal, lag in (("contact", front, 0.0), ("toe_off", rear, config.toe_off_lag)):
        when, prom, _, together = found[name]
        amp = np.nanpercentile(signal, 95) - np.nanpercentile(signal, 5)
        for when_i, prom_i, side, sc, tog in zip(when, prom, *sides[name], together):
            at = when_i - lag * step
            i = int(np.argmin(np.abs(t - at)))
            label = "right" if side > 0 else "left"
            score = np.nan_to_num(w[[f"{s}_ankle_score" for s in SIDES]].to_numpy(np.float64)
                                  [max(0, i - 1):i + 2], nan=0.0).mean()
            conf = min(1.0, prom_i / (0.5 * amp)) * float(np.clip(score, 0, 1)) * clarity
            rows.append({"side": label, "event": name, "frame": int(frames[i]),
                         "time": float(at), "confidence": round(float(conf), 3),
                         "side_confidence": round(float(sc), 3), "bout": k,
                         "step_to": bool(tog),
                         "near_foot": round(near_t, 2) if np.isfinite(near_t) else None,
                         "sides_from_near_foot": by_near,
                         "step_period": step, "stride_period": 2 * step})
    return sorted(rows, key=lambda r: r["time"])


def reported(ev: pd.DataFrame, t: np.ndarray, frames: np.ndarray, lag: float) -> pd.DataFrame:
    """The events with each contact moved ``lag`` steps earlier: the ankle's furthest point
    comes that late after the heel lands (``GaitConfig.contact_lag``). Done last: the sides,
    the legs and the soles in the picture were decided, and measured, on the ankle's own
    times (a third of a frame earlier, the soles were looked at a frame earlier and one
    labelled pass had every side reversed). A step-to bout's contacts stay: they were on
    time (the labelled limp's 2 ms early, the synthetic step-to walker's), and its step is
    long, so a fraction of it would move them by a frame. ``t``, ``frames``: the track's."""
    if not lag or not len(ev):
        return ev
    move = ((ev["event"] == "contact")
            & ~ev.groupby("bout")["step_to"].transform("any")).to_numpy(bool)
    at = ev["time"].to_numpy(np.float64) - lag * ev["step_period"].to_numpy(np.float64) * move
    frame = ev["frame"].to_numpy().copy()
    for j in np.flatnonzero(move):      # the frame nearest the new time, as ``bout_events``
        frame[j] = frames[int(np.argmin(np.abs(t - at[j])))]
    ev = ev.assign(time=at, frame=frame)
    return ev.sort_values("time", kind="stable", ignore_index=True)
