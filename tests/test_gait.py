"""Gait analysis on a synthetic walker with known events (noise, missing parts, a left/right
swap, variable frame timing, standing before walking) and on the real demo job."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from dataclasses import replace
from pandas.testing import assert_frame_equal

from posebatch import gait
from posebatch.storage import tables
from posebatch.engine.config import GaitConfig, TrackConfig
from posebatch.errors import ConfigError
from posebatch.engine.layout import COCO18
from posebatch.track.apply import track_tables
from posebatch.storage.schemas import frame_tables

from .walkers import gait_pose, knee_flexion, step_to, walk


def tracked_keypoints(wk, layout=COCO18) -> pd.DataFrame:
    """The walker's keypoints table through the job's own tracking and smoothing."""
    recs = [{"frame": f, "pts": f, "time": float(t), "status": "ok",
             "keypoints": wk.keypoints[f:f + 1], "scores": np.array([0.9], np.float32)}
            for f, t in enumerate(wk.times)]
    chunk = frame_tables(recs, layout)
    out = track_tables(chunk["keypoints"], chunk["people"], chunk["frames"], layout,
                       TrackConfig())
    return out["keypoints"].to_pandas().assign(video="walk")


def tracked_wide(wk, smooth: bool = True) -> pd.DataFrame:
    """The walker through the job's own tracking and smoothing, as the wide view (``smooth``
    False: the detections, as tracked)."""
    return tables.wide(tracked_keypoints(wk), smooth=smooth).loc[("walk", 0)]


def nearest(found: np.ndarray, true: np.ndarray) -> np.ndarray:
    return np.array([found[np.argmin(np.abs(found - t))] - t for t in true])


def cadence_and_events_hold(wk, g) -> None:
    """Cadence within 2 % of the synthetic walker's, every contact and toe-off found within
    one frame, and none invented (away from the walk's first half second and last)."""
    true_cadence = 120 / wk.stride_time
    assert abs(g.summary["cadence_steps_per_min"] - true_cadence) / true_cadence < 0.02
    # the feet pass each other: nothing is taken for a step-to gait
    assert not g.events.step_to.any() and not g.bouts.step_to.any()
    assert "step-to" not in (g.summary["flags"] or "")
    frame = np.median(np.diff(wk.times))
    inner = lambda v: v[(v > 1.5) & (v < wk.times[-1] - 0.5)]  # noqa: E731
    for side in ("left", "right"):
        for name, truth in (("contact", wk.contacts), ("toe_off", wk.toe_offs)):
            found = g.events[(g.events.side == side) & (g.events.event == name)].time.to_numpy()
            err = nearest(found, inner(truth[side]))
            assert np.abs(err).max() <= frame, (side, name, err)       # within one frame
            extra = nearest(truth[side], inner(found))
            assert np.abs(extra).max() <= frame, (side, name, extra)   # nothing invented


def test_weak_events_are_flagged():
    """Events on faint ankles (a mean confidence under 0.1; on the labelled set only a step-to
    limp and a circumduction, whose cadence came out wrong, are there) are flagged in the
    summary; the same walk on clear ankles is not."""
    w = tracked_wide(walk(facing=1, seed=0))
    clear = gait.analyse_track(w, GaitConfig()).summary
    assert clear["mean_confidence"] >= 0.1 and "weak events" not in (clear["flags"] or "")
    faint = w.assign(right_ankle_score=0.05, left_ankle_score=0.05)
    s = gait.analyse_track(faint, GaitConfig()).summary
    assert s["mean_confidence"] < 0.1 and "weak events" in s["flags"]
    assert s["cadence_steps_per_min"] == pytest.approx(clear["cadence_steps_per_min"])


def test_knees_found_bent_backwards_are_flagged():
    """The older woman's way back (benchmarks/gait_set): the network put her knees behind the
    line from hip to ankle, and knee flexion came out at a median -20 and -27 degrees with
    nothing said. Here the synthetic walker's knees are moved across that line to twice as
    far behind it as they were in front (flexion turns negative, events and cadence stay):
    the summary names the bout and both knees; the walker as drawn gets no such flag."""
    w = tracked_wide(walk(facing=-1, seed=0))
    clear = gait.analyse_track(w, GaitConfig())
    assert "knees bent backwards" not in (clear.summary["flags"] or "")
    bent = w.copy()
    for side in ("left", "right"):
        hip, knee, ankle = (w[[f"{side}_{p}_x", f"{side}_{p}_y"]].to_numpy()
                            for p in ("hip", "knee", "ankle"))
        d = ankle - hip
        foot_of = hip + d * (((knee - hip) * d).sum(1) / (d * d).sum(1))[:, None]
        bent[[f"{side}_knee_x", f"{side}_knee_y"]] = 3 * foot_of - 2 * knee
    g = gait.analyse_track(bent, GaitConfig())
    flags = g.summary["flags"] or ""
    (b,) = g.bouts.itertuples()
    walking = slice(b.start, b.end)
    for side in ("left", "right"):
        assert clear.angles[f"{side}_knee_flexion"].loc[walking].median() > 5
        assert g.angles[f"{side}_knee_flexion"].loc[walking].median() < -10
    assert (f"knees bent backwards from {b.start:.1f} to {b.end:.1f} s (median knee flexion "
            in flags and " left" in flags and " right," in flags), flags
    assert g.summary["cadence_steps_per_min"] == pytest.approx(
        clear.summary["cadence_steps_per_min"])


def _front_foot(t: np.ndarray, steps: list[float], lead: list[float]) -> np.ndarray:
    """A front foot's lead over the hips (body heights): one hump per step, the steps'
    durations and heights taken in turn from ``steps`` and ``lead``, with noise."""
    edges = np.concatenate([[0.0], np.cumsum(np.tile(steps, 40))])
    k = np.searchsorted(edges, t, side="right") - 1
    phase = (t - edges[k]) / np.diff(edges)[k]
    noise = 0.02 * np.random.default_rng(0).standard_normal(len(t))
    return 0.1 + np.tile(lead, 40)[k] * np.sin(np.pi * phase) ** 2 + noise


def test_the_hips_travel_tells_a_stride_from_a_step():
    """Where one foot's steps hardly show in the front foot's signal, its rhythm repeats once
    a stride. Mirrored, the older woman's way back (benchmarks/gait_set) took her stride,
    1.03 s, for a step (every other contact found, cadence -59 %), and the circumducting
    walker's way back, whose stride (1.27 s) is longer than any step searched for, had no
    rhythm at all (no gait). In a step the hips travel about as far as the feet are apart
    (0.87-1.17 times on the set), in a stride twice: ``longest_step`` gives the step these
    signals had. A clear rhythm stays as it was."""
    from posebatch.gait.events import longest_step, step_period

    t = np.arange(0, 6, 1 / 30)
    hips = 0.5 * t                                    # 0.5 body heights/s
    apart = 0.3 + 0.02 * np.sin(t)                    # the feet's spread, 0.3 body heights
    longest = longest_step(t, hips, apart)
    assert longest == pytest.approx(1.5 * 0.32 / 0.5, rel=0.02)
    assert longest_step(t, np.zeros_like(t), apart) == np.inf    # a treadmill: no limit
    faint = _front_foot(t, [0.55, 0.55], [0.3, 0.05])            # one foot's steps faint
    assert step_period(t, faint)[0] == pytest.approx(1.1, abs=0.02)
    step, clarity = step_period(t, faint, longest)
    assert step == pytest.approx(0.55, abs=0.01) and clarity < 0.1   # weak, and says so
    circling = _front_foot(t, [0.45, 0.85], [0.3, 0.05])        # long and short in turn
    assert step_period(t, circling)[0] is None
    step, clarity = step_period(t, circling, longest)
    assert step == pytest.approx(0.65, abs=0.01) and clarity < 0.1
    # steps so unequal (0.2 and 1.0 s) that no peak shows at half the stride: the stride,
    # longer than the hips allow a step, was the step; now it is halved, and weak
    lopsided = _front_foot(t, [0.2, 1.0], [0.3, 0.3])
    assert step_period(t, lopsided)[0] == pytest.approx(1.2, abs=0.02)
    step, clarity = step_period(t, lopsided, longest)
    assert step == pytest.approx(0.6, abs=0.01) and clarity < 0.1
    clear = _front_foot(t, [0.6, 0.6], [0.3, 0.3])
    assert step_period(t, clear, longest) == step_period(t, clear)
    assert step_period(t, clear)[0] == pytest.approx(0.6, abs=0.01)


def test_a_faint_ankle_on_the_other_foot_does_not_delay_the_contact():
    """At a contact the network often gives the landing foot's ankle label to the rear foot
    for a frame or two, scoring low (0.8 % of the labelled set's ankle detections in walking
    bouts). Smoothed, the front foot then dipped back there, and its furthest point, the
    contact, came 1.5-4 frames early or late. The tracker flags those detections (faint, on
    the other ankle, off their own curve: ``keypoints.doubled``), exactly the moved ones,
    keeps them as detected and draws the curve through the gap they leave: every contact is
    again within half a frame or so of the true one. A layout that names no such pair (the
    rule off) shows what it mends."""
    wk = walk(facing=1, seed=0)
    kp = wk.keypoints.copy()
    moved = set()
    for own, other, side in ((10, 13, "right"), (13, 10, "left")):   # the ankles
        for c in wk.contacts[side]:
            i = int(np.searchsorted(wk.times, c))
            for f in (i, i + 1):
                if f < len(kp) and np.isfinite(kp[f, [own, other], 0]).all():
                    kp[f, own] = (kp[f, other, 0] + 2, kp[f, other, 1] + 1, 0.12)
                    moved.add((f, own))
    dirty = replace(wk, keypoints=kp)
    table = tracked_keypoints(dirty)
    doubled = table[table.doubled]
    assert set(zip(doubled.frame, doubled.part_id)) == moved
    assert not doubled.filled.any() and (doubled.score == np.float32(0.12)).all()
    # one row per part and frame: the gap they leave is not filled on a row of its own
    assert not table.duplicated(["frame", "track", "part_id"]).any()
    # the curve runs where the foot is (across the gap, within 10 px of where it was found
    # before it was moved; the other foot is 120-190 px away), not towards the other foot
    true = wk.keypoints[doubled.frame.to_numpy(), doubled.part_id.to_numpy(), :2]

    def off_curve(kp: pd.DataFrame) -> np.ndarray:
        at = kp.set_index(["frame", "part_id"]).loc[list(zip(doubled.frame, doubled.part_id))]
        return np.hypot(at.x_smooth - true[:, 0], at.y_smooth - true[:, 1]).to_numpy()

    assert off_curve(table).max() < 10, off_curve(table)
    frame = np.median(np.diff(wk.times))
    inner = lambda v: v[(v > 1.5) & (v < wk.times[-1] - 0.5)]  # noqa: E731

    def worst(kp: pd.DataFrame) -> float:
        w = tables.wide(kp).loc[("walk", 0)]
        raw = tables.wide(kp, smooth=False, doubled=False).loc[("walk", 0)]
        ev = gait.analyse_track(w, raw=raw).events
        ev = ev[ev.event == "contact"]
        return max(np.abs(nearest(ev[ev.side == side].time.to_numpy(),
                                  inner(wk.contacts[side]))).max() for side in ("left", "right"))

    assert worst(table) < 0.6 * frame
    without = tracked_keypoints(dirty, replace(COCO18, found_twice=()))
    assert not without.doubled.any()
    assert off_curve(without).min() > 50, off_curve(without)
    assert worst(without) > 1.5 * frame


def test_where_the_rhythm_is_wrong_the_contacts_judge_their_own_steps():
    """A circumduction: steps alternate 0.47 and 0.83 s (stride 1.30 s, 92.3 steps/min), as
    labelled on the set's circumducting walker, whose front-foot rhythm came out 0.79 s (the
    long step). Every short step is under 0.6 of that rhythm, so judged by it no stride was
    left and cadence came from the long steps alone (72 steps/min); judged by the contacts'
    own step time (half their median stride) every stride counts. A contact missed (hidden)
    still leaves out the strides across it, and a rhythm that agrees is kept as it was."""
    from posebatch.gait.summary import cadence

    steps = np.tile([0.47, 0.83], 4)
    t = np.concatenate([[0.0], np.cumsum(steps)])
    ev = pd.DataFrame({"event": "contact", "time": t, "bout": 0, "step_period": 0.79})
    assert cadence(ev, np.nan) == pytest.approx(120 / 1.30)
    missed = ev.drop(index=4)                         # one contact hidden
    assert cadence(missed, np.nan) == pytest.approx(120 / 1.30)
    regular = ev.assign(time=np.arange(len(t)) * 0.6, step_period=0.62)
    assert cadence(regular, np.nan) == pytest.approx(60 / 0.62)   # agrees within 8 %


def test_toe_offs_take_their_side_from_the_contact_before_them():
    """The rear foot leaves the ground just after the front one lands, so contacts and
    toe-offs get their sides together. Here the contacts' own label evidence is weak and
    says the wrong alternation, the toe-offs' is clear: decided apart (as before), the
    contacts came out flipped and each stance ran from a contact to the other foot's
    toe-off; decided together, every toe-off is the other foot's than the contact just
    before it, both kinds follow the clear evidence, and each confidence says how much of
    the pooled evidence agreed."""
    from posebatch.gait.events import assign_both_sides, assign_sides

    step = 0.6
    contacts = np.arange(6) * step                      # right, left, right, ...
    toe_offs = contacts + 0.12                          # the other foot, 0.2 step later
    truth = np.where(np.arange(6) % 2 == 0, 1.0, -1.0)
    c_ev = -0.02 * truth                                # faint and wrong
    t_ev = -0.3 * truth                                 # clear: the left foot leaves first
    apart, _ = assign_sides(contacts, c_ev, step)
    assert (apart == -truth).all()                      # contacts alone: flipped
    sides = assign_both_sides(contacts, c_ev, toe_offs, t_ev, step)
    (c_sides, c_conf), (t_sides, t_conf) = sides["contact"], sides["toe_off"]
    assert (c_sides == truth).all() and (t_sides == -truth).all()
    assert np.allclose(c_conf, 0.5 + 0.5 * (1.8 - 0.12) / (1.8 + 0.12))
    assert np.allclose(t_conf, c_conf)
    # a toe-off more than half a step after every contact keeps its own alternation
    late = np.array([10.0, 10.6])
    _, (t2, conf2) = assign_both_sides(contacts, c_ev, late, np.array([0.3, -0.3]),
                                       step).values()
    assert t2.tolist() == [1.0, -1.0] and conf2.tolist() == [1.0, 1.0]
    # no contacts at all (a reflection's track in a mirror): the toe-offs keep their own
    none = np.zeros(0)
    _, (t3, conf3) = assign_both_sides(none, none, late, np.array([0.3, -0.3]), step).values()
    assert t3.tolist() == [1.0, -1.0] and conf3.tolist() == [1.0, 1.0]


@pytest.mark.parametrize("facing, seed", [(1, 0), (-1, 1), (1, 2)])
def test_synthetic_walker_cadence_events_stance_and_knee_angle(facing, seed):
    wk = walk(facing=facing, seed=seed)
    w = tracked_wide(wk)
    g = gait.analyse_track(w, GaitConfig())
    s = g.summary
    assert s["reason"] is None and s["bouts"] == 1 and s["strides"] >= 8
    cadence_and_events_hold(wk, g)
    c, o = wk.contacts["right"], wk.toe_offs["right"]
    true_stance = np.mean([(o[(o > a) & (o < b)][0] - a) / (b - a)
                           for a, b in zip(c[:-1], c[1:])]) * 100
    assert abs(s["stance_pct"] - true_stance) < 3
    assert s["alternation"] == 1.0 and s["symmetry_index"] < 5
    # knee flexion follows the model's curve (degrees) while walking
    phase = (w.index.to_numpy() - 1.0) / wk.stride_time
    walking = (w.index > 1.5) & (w.index < wk.times[-1] - 0.3)
    err = g.angles.right_knee_flexion.to_numpy()[walking] - knee_flexion(phase)[walking]
    assert np.nanmedian(np.abs(err)) < 4


def test_contacts_are_reported_the_ankles_lateness_earlier_and_nothing_else_moves():
    """``contact_lag`` (0.02 of a step by default: contacts came 16 ms late on the labelled
    clips, 8 ms on their mirrored passes) moves each contact of a walker who steps through
    exactly that much earlier, and its frame with it; sides, toe-offs, the legs and the
    cadence are what they were without it (decided on the ankle's own times: a third of a
    frame earlier, the soles in the picture were looked at a frame earlier). A step-to
    walker's contacts are not moved (the labelled limp's were on time)."""
    assert GaitConfig().contact_lag == 0.02
    wk = walk(facing=1, seed=0)
    w = tracked_wide(wk)
    moved, kept = (gait.analyse_track(w, GaitConfig(contact_lag=lag)) for lag in (0.02, 0.0))
    a, b = moved.events, kept.events
    assert len(a) == len(b) and (a.event == "contact").sum() >= 12
    c = (a.event == "contact").to_numpy()
    np.testing.assert_allclose(b.time[c] - a.time[c], 0.02 * b.step_period[c], rtol=1e-9)
    assert (a.frame[c] <= b.frame[c]).all() and (a.frame[c] < b.frame[c]).any()
    frame_of = dict(zip(w.index, w.frame))
    nearest_frame = [frame_of[min(w.index, key=lambda x: abs(x - t))] for t in a.time[c]]
    assert list(a.frame[c]) == nearest_frame
    assert_frame_equal(a[~c], b[~c])
    assert list(a.side) == list(b.side)
    assert_frame_equal(moved.angles, kept.angles)
    assert moved.summary["cadence_steps_per_min"] == pytest.approx(
        kept.summary["cadence_steps_per_min"], rel=1e-9)
    assert moved.summary["stance_pct"] > kept.summary["stance_pct"]
    limp = tracked_wide(step_to(facing=1, seed=0))
    assert_frame_equal(gait.analyse_track(limp, GaitConfig()).events,
                       gait.analyse_track(limp, GaitConfig(contact_lag=0.0)).events)


@pytest.mark.parametrize("facing, seed", [(1, 0), (-1, 1)])
def test_walking_in_place_is_walking(facing, seed):
    """A walker on a treadmill (or followed by the camera): the hips stay in the picture's
    middle while the feet take turns. One bout, flagged as in place, facing the right way;
    cadence and every event as for a walker crossing the picture; stride length from the
    two steps (the feet's separation at each contact in the walker's model), speed the
    belt's."""
    wk = walk(facing=facing, seed=seed, speed=0.0)
    g = gait.analyse_track(tracked_wide(wk), GaitConfig())
    s, b = g.summary, g.bouts
    assert s["reason"] is None and s["strides"] >= 8
    assert len(b) == 1 and b.in_place.iloc[0]
    assert b.direction.iloc[0] == ("right" if facing > 0 else "left")
    assert "walks in place" in s["flags"]
    cadence_and_events_hold(wk, g)
    inner = lambda v: v[(v > 1.5) & (v < wk.times[-1] - 0.5)]  # noqa: E731
    step = {side: np.mean([abs(np.subtract(*gait_pose((c - 1.0) / wk.stride_time, 400.0,
                                                      facing)[[10, 13], 0]))
                           for c in inner(wk.contacts[side])]) for side in ("left", "right")}
    stride = step["left"] + step["right"]
    assert abs(s["stride_length_px"] - stride) / stride < 0.05, (s["stride_length_px"], stride)
    assert abs(s["speed_px_s"] - stride / wk.stride_time) / (stride / wk.stride_time) < 0.05


@pytest.mark.parametrize("facing, seed", [(1, 0), (-1, 1)])
def test_a_step_to_walker_gets_both_feet_and_the_right_cadence(facing, seed):
    """A step-to gait (a limp, a cane): the left foot takes every step ahead and the right is
    only brought up beside it, so only the left is ever in front. The right foot's contacts
    come from where the feet stand together again, and the left's toe-offs from where one
    leaves them: every contact within one frame, every toe-off within three (the model's
    foot starts its swing without the heel rise a real one has, which ``TOE_OFF_RISE``
    allows for), each on its own side, none invented; cadence within 2 % (a front-foot
    rhythm alone halves it: one new foot in front per stride, 1.3 s, longer than any step
    searched for)."""
    wk = step_to(facing=facing, seed=seed)
    g = gait.analyse_track(tracked_wide(wk), GaitConfig())
    s = g.summary
    assert s["reason"] is None and s["strides"] >= 6
    assert g.bouts.step_to.all() and "walks step-to" in s["flags"]
    # the right foot's contacts and the left's toe-offs, and only those, from the feet together
    together = g.events[g.events.step_to]
    assert set(zip(together.side, together.event)) == {("right", "contact"), ("left", "toe_off")}
    true_cadence = 120 / wk.stride_time
    assert abs(s["cadence_steps_per_min"] - true_cadence) / true_cadence < 0.02
    frame = np.median(np.diff(wk.times))
    # the hips must walk on for a second after the feet stand together
    inner = lambda v: v[(v > 0.5) & (v < wk.times[-1] - 1.0)]
    for side in ("left", "right"):
        for name, truth, tol in (("contact", wk.contacts, 1), ("toe_off", wk.toe_offs, 3)):
            found = g.events[(g.events.side == side) & (g.events.event == name)].time.to_numpy()
            assert len(found), (side, name)
            err = nearest(found, inner(truth[side]))
            assert np.abs(err).max() <= tol * frame, (side, name, err / frame)
            extra = nearest(truth[side], inner(found))
            assert np.abs(extra).max() <= tol * frame, (side, name, extra / frame)


@pytest.mark.parametrize("facing, seed", [(1, 0), (-1, 1)])
def test_a_wobble_of_the_standing_foot_after_one_leaves_is_no_toe_off(facing, seed):
    """A step-to walker whose standing (right) ankle is found 40 px further back for a few
    frames 0.23 s after the left foot leaves (about a third of a step; the limp of the
    labelled set had such a one at 0.30 step). The left foot is in the air then, so a toe-off
    of the right would leave the walker with no foot on the floor. Toe-offs found that close
    to where a foot leaves the feet standing together (less than ``min_spacing`` steps) give
    way to it, as toe-offs keep that far apart anyway: none is invented (with 0.3 step, the
    rule before, 1-3 were, and the limp's toe-off sides flipped after its one)."""
    wk = step_to(facing=facing, seed=seed)
    kp = wk.keypoints.copy()
    for leave in wk.toe_offs["left"]:
        f = np.flatnonzero(np.abs(wk.times - (leave + 0.23)) < 0.05)
        kp[f, 10, 0] -= facing * 0.1 * 400      # body heights of 400 px, backwards
    g = gait.analyse_track(tracked_wide(replace(wk, keypoints=kp)), GaitConfig())
    found = g.events[g.events.event == "toe_off"].time.to_numpy()
    truth = np.sort(np.concatenate([wk.toe_offs["left"], wk.toe_offs["right"]]))
    inner = found[(found > 0.5) & (found < wk.times[-1] - 1.0)]
    extra = nearest(truth, inner)
    assert len(inner) >= 10
    assert np.abs(extra).max() <= 3 * np.median(np.diff(wk.times)), extra


@pytest.mark.parametrize("facing, seed", [(1, 0), (-1, 1)])
def test_legs_the_network_swaps_for_a_whole_stride_follow_the_events(facing, seed):
    """The network gives each leg the other's labels for a second (a stride): longer than the
    tracker undoes, so the tracked right ankle is the left foot there. The events' sides come
    from the whole bout, so the gait's legs follow them: the frames are marked
    ``legs_traded``, the right knee's angle follows the right knee's model curve through the
    swap, every step length is positive (the landing foot ahead), and the events and
    cadence are those of the walk without the swap (events within a frame: the smoothing
    across the swap's edges moves one). With the detections beside the smoothed view (as
    ``gait.analyse`` gives them), the traded legs are smoothed again, so the knee follows its
    curve across the swap's edges too, as closely as without a swap; trading the smoothed
    curves leaves the tracker's blend of the two legs there (about 30 degrees off before the
    legs were smoothed again and the change located, on the same walker)."""
    from .walkers import LEGS

    wk = walk(facing=facing, seed=seed)
    plain = gait.analyse_track(tracked_wide(wk), GaitConfig())
    stretch = (wk.times >= 3.0) & (wk.times < 4.0)
    kps = wk.keypoints.copy()
    for a, b in LEGS:
        kps[np.ix_(stretch, [a, b])] = kps[np.ix_(stretch, [b, a])]
    w = tracked_wide(replace(wk, keypoints=kps))
    # the tracker keeps the swap: the "right" ankle is where the left one really is
    real = tracked_wide(wk)
    inside = (w.index >= 3.05) & (w.index < 3.95)
    apart = inside & (np.abs(real.right_ankle_x - real.left_ankle_x) > 20).to_numpy()
    assert np.mean(np.abs(w.right_ankle_x - real.left_ankle_x)[apart] < 5) > 0.9
    g = gait.analyse_track(w, GaitConfig())
    traded = g.angles.legs_traded.to_numpy()
    assert traded[apart].mean() > 0.8
    assert not traded[~((w.index >= 2.9) & (w.index < 4.1))].any()
    phase = (w.index.to_numpy() - 1.0) / wk.stride_time
    err = g.angles.right_knee_flexion.to_numpy()[inside] - knee_flexion(phase)[inside]
    assert np.nanmedian(np.abs(err)) < 4
    assert (g.strides.step_length_px > 0).all()
    # the same events (the smoothing across the swap's edges may move one by a frame)
    assert_frame_equal(g.events[["side", "event"]], plain.events[["side", "event"]])
    assert np.abs(g.events.frame - plain.events.frame).max() <= 1
    assert g.summary["cadence_steps_per_min"] == pytest.approx(
        plain.summary["cadence_steps_per_min"], rel=0.01)
    # smoothed again from the detections: across the edges as without a swap
    t = w.index.to_numpy()
    edges = (np.abs(t - 3.0) < 0.2) | (np.abs(t - 4.0) < 0.2)
    again = gait.analyse_track(w, GaitConfig(), tracked_wide(replace(wk, keypoints=kps), False))
    alone = lambda g: np.abs(g.angles.right_knee_flexion.to_numpy()  # noqa: E731
                             - knee_flexion(phase))[edges].max()
    assert alone(again) <= max(4.0, 1.2 * alone(plain))
    assert_frame_equal(again.events, g.events)


@pytest.mark.parametrize("facing, seed", [(1, 0), (-1, 1)])
def test_where_the_labels_are_mostly_wrong_the_foot_nearer_the_camera_decides(facing, seed):
    """The network names the legs the wrong way round for three steps in every five,
    changing at the feet passing each other (where no jump shows it to the tracker), so the
    labels' alternation is the wrong one and they agree with it at only about 62 % of the
    evidence. A camera above the floor draws the foot nearer to it lower (here 12 px, 3 % of
    the walker; the right foot when walking right). With that cue every contact of the walk
    gets its true side, the bout says the near foot decided, and the summary says so;
    without it (the same labels, both feet drawn level) every one is the wrong side."""
    from .walkers import LEGS

    wk = walk(facing=facing, seed=seed)
    phase = np.clip(wk.times - 1.0, 0, None) / wk.stride_time
    ahead = np.array([np.subtract(*gait_pose(p, 400.0, facing)[[10, 13], 0]) for p in phase])
    step = np.cumsum(np.r_[0, np.diff(np.sign(ahead)) != 0])    # +1 at each passing
    wrong = np.isin(step % 5, (0, 1, 3))
    kps = wk.keypoints.copy()
    for a, b in LEGS:
        kps[np.ix_(wrong, [a, b])] = kps[np.ix_(wrong, [b, a])]
    near = 10 if facing > 0 else 13                  # the right ankle when walking right
    drawn = np.where(wrong, 23 - near, near)         # wherever its label went
    inner = lambda e: e[(e.event == "contact") & (e.time > 1.5)  # noqa: E731
                        & (e.time < wk.times[-1] - 0.5)]
    for drop, right in ((12.0, True), (0.0, False)):
        k = kps.copy()
        k[np.arange(len(k)), drawn, 1] += drop
        g = gait.analyse_track(tracked_wide(replace(wk, keypoints=k)), GaitConfig())
        c = inner(g.events)
        assert len(c) >= 10
        is_right = [np.abs(wk.contacts["right"] - t).min() < 0.05 for t in c.time]
        assert ((c.side == "right") == np.array(is_right)).all() == right, drop
        assert ((c.side == "right") != np.array(is_right)).all() != right, drop
        assert g.events.sides_from_near_foot.all() == right
        assert ("left/right from the near foot" in g.summary["flags"]) == right
        assert ("left/right uncertain" in g.summary["flags"]) != right


class DrawnFeet:
    """The walker's video as ``posebatch.gait.toe_tip.Pictures`` reads it: a plain floor
    with each foot drawn as a block from its true ankle down, the near foot's (the right one
    when walking right) reaching ``lower`` pixels further down. Counts the single frames
    read (the soles' windows; toe-off windows are longer)."""

    def __init__(self, keypoints: np.ndarray, facing: int, lower: float, spikes: int = 0):
        self.kp, self.near, self.lower = keypoints, 10 if facing > 0 else 13, lower
        self.single = 0
        self.spikes = spikes    # the first this many soles' frames: the far foot cut off above

    def read(self, windows):
        out = []
        for win in windows:
            b = win.box
            back = np.full((b.y1 - b.y0, b.x1 - b.x0, 3), 128, np.uint8)
            crops = []
            for f in win.frames:
                im = back.copy()
                for part in (10, 13):
                    x, y = self.kp[int(f), part, :2] - (b.x0, b.y0)
                    if np.isfinite(x) and np.isfinite(y):
                        bottom = y + 20 + (self.lower if part == self.near else 0)
                        if (part != self.near and self.single < self.spikes
                                and len(win.frames) == 1):
                            y, bottom = y - 60, y - 30      # its lowest part hidden
                        im[max(int(y), 0):max(int(bottom), 0),
                           max(int(x - 10), 0):max(int(x + 10), 0)] = (40, 60, 150)
                crops.append(im)
            self.single += len(win.frames) == 1
            out.append((crops, back))
        return out


@pytest.mark.parametrize("facing, seed", [(1, 0), (-1, 1)])
def test_where_the_ankles_cannot_tell_the_soles_in_the_picture_decide(facing, seed):
    """The same mostly wrong labels, the ankles drawn level (so their cue is silent): the
    video, read just after each contact, shows the near foot's sole 12 px lower, and every
    contact gets its true side, as the bout and the summary say. Feet drawn level in the
    video as well leave every side wrong, flagged uncertain. A walk whose labels are right
    reads no frame for its sides."""
    from .walkers import LEGS

    wk = walk(facing=facing, seed=seed)
    wk = replace(wk, keypoints=wk.keypoints + np.array([2000.0, 0, 0]))   # in the picture
    phase = np.clip(wk.times - 1.0, 0, None) / wk.stride_time
    ahead = np.array([np.subtract(*gait_pose(p, 400.0, facing)[[10, 13], 0]) for p in phase])
    step = np.cumsum(np.r_[0, np.diff(np.sign(ahead)) != 0])
    wrong = np.isin(step % 5, (0, 1, 3))
    kps = wk.keypoints.copy()
    for a, b in LEGS:
        kps[np.ix_(wrong, [a, b])] = kps[np.ix_(wrong, [b, a])]
    w = tracked_wide(replace(wk, keypoints=kps))
    inner = lambda e: e[(e.event == "contact") & (e.time > 1.5)  # noqa: E731
                        & (e.time < wk.times[-1] - 0.5)]
    # in the first three contacts' pictures the far foot's sole is hidden (0.15 body heights
    # higher than the floor): left out as not the floor
    for lower, right in ((12.0, True), (0.0, False)):
        video = DrawnFeet(wk.keypoints, facing, lower, spikes=3)
        g = gait.analyse_track(w, GaitConfig(), pictures=video)
        c = inner(g.events)
        assert len(c) >= 10 and video.single >= len(c)
        is_right = np.array([np.abs(wk.contacts["right"] - t).min() < 0.05 for t in c.time])
        assert ((c.side == "right") == is_right).all() == right, lower
        assert ((c.side == "right") != is_right).all() != right, lower
        assert g.events.sides_from_near_foot.all() == right
        assert (g.events.near_foot_picture > 3).all() == right
        assert ("left/right from the near foot" in g.summary["flags"]) == right
        assert ("left/right uncertain" in g.summary["flags"]) != right
    video = DrawnFeet(wk.keypoints, facing, 12.0)
    g = gait.analyse_track(tracked_wide(wk), GaitConfig(), pictures=video)
    assert video.single == 0 and g.events.near_foot_picture.isna().all()
    assert not g.events.sides_from_near_foot.any()


def test_standing_still_gets_a_reason_not_numbers():
    wk = walk(seconds=3.0, stand=3.0)
    g = gait.analyse_track(tracked_wide(wk), GaitConfig())
    assert g.summary["reason"].startswith("no gait: not walking")
    assert "cadence_steps_per_min" not in g.summary and g.events.empty


def test_gait_settings_are_checked():
    with pytest.raises(ConfigError, match="height_m is a person's height in metres"):
        GaitConfig(height_m=175)


def test_frames_between_traded_ones_are_traded_within_a_bout_only():
    """Undecided frames (the feet level, an ankle missing) between two frames whose legs are
    traded are traded too, within one walking bout; across a pause or turn between two bouts
    the legs stay as tracked."""
    from posebatch.gait.legs import to_trade

    n = 14
    undecided = np.isin(np.arange(n), [2, 3, 6, 7, 10, 11])
    # the events put the right foot ahead; the labels the left (20 px), except where level
    w = pd.DataFrame({"right_ankle_x": np.where(undecided, 0.0, -20.0),
                      "left_ankle_x": np.zeros(n)})
    for s in ("right", "left"):
        for part in ("hip", "knee", "ankle"):
            w[f"{s}_{part}_y"] = 0.0
            if part != "ankle":
                w[f"{s}_{part}_x"] = 0.0
    front = np.where(undecided, 0, 1).astype(np.int8)
    bouts = np.r_[np.zeros(6, int), -np.ones(2, int), np.ones(6, int)]   # a pause at 6-7
    assert to_trade(w, front, np.ones(n), 400.0).all()
    traded = to_trade(w, front, np.ones(n), 400.0, bouts)
    assert traded[bouts >= 0].all() and not traded[bouts < 0].any()
