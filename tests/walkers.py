"""Synthetic walkers with known identities: people crossing, with jitter, dropped detections and
injected left/right swaps, on a variable frame rate (for the tracking tests)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Side-on walker, hip centre at the origin, y down, in body heights. Right parts sit slightly
# in front of left ones (a three-quarter view), as a camera sees a real walker.
_SEG = {"thigh": 0.245, "shank": 0.246, "upper_arm": 0.186, "forearm": 0.146}
LEGS = ((8, 11), (9, 12), (10, 13))
ARMS = ((2, 5), (3, 6), (4, 7))


def pose(phase: float, facing: int) -> np.ndarray:
    """(18, 2) keypoints of a walker at ``phase`` (radians of the gait cycle); facing +1 = +x."""
    kp = np.zeros((18, 2))
    kp[1] = (0.0, -0.33)                       # neck
    kp[0] = (0.05, -0.42)                      # nose
    kp[14], kp[15] = (0.06, -0.44), (0.04, -0.44)
    kp[16], kp[17] = (0.0, -0.43), (-0.02, -0.43)
    for side, sign, (sh, el, wr, hip, kn, an) in ((0, 1, (2, 3, 4, 8, 9, 10)),
                                                  (1, -1, (5, 6, 7, 11, 12, 13))):
        depth = 0.03 if side == 0 else -0.03
        leg = 0.45 * np.sin(phase) * sign                # thigh angle from vertical
        arm = -0.3 * np.sin(phase) * sign
        kp[hip] = (depth, 0.0)
        kp[kn] = kp[hip] + _SEG["thigh"] * np.array([np.sin(leg), np.cos(leg)])
        shank = leg - 0.35 * max(0.0, -np.cos(phase) * sign)
        kp[an] = kp[kn] + _SEG["shank"] * np.array([np.sin(shank), np.cos(shank)])
        kp[sh] = (depth, -0.31)
        kp[el] = kp[sh] + _SEG["upper_arm"] * np.array([np.sin(arm), np.cos(arm)])
        kp[wr] = kp[el] + _SEG["forearm"] * np.array([np.sin(arm - 0.3), np.cos(arm - 0.3)])
    kp[:, 0] *= facing
    return kp


@dataclass
class Scene:
    times: np.ndarray          # (F,) seconds
    frame: np.ndarray          # (D,) frame of each detection
    keypoints: np.ndarray      # (D, 18, 3) as a detector reports them (with swaps)
    person: np.ndarray         # (D,) true identity
    truth: np.ndarray          # (D, 18, 3) the true labelling (no swaps, same jitter)
    swapped: np.ndarray        # (D, 18) bool: injected swaps


def crossing(seed: int = 0, seconds: float = 6.0, drop: float = 0.1,
             swaps: int = 12) -> Scene:
    """Three people: two walk towards each other and cross mid-video (the farther one is not
    detected while the nearer one hides it), a third, smaller and slower, walks behind them."""
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.uniform(0.025, 0.041, int(seconds * 32)))
    people = [  # x0, y, velocity px/s, height px, cadence Hz, facing
        (100.0, 500.0, 180.0, 400.0, 0.9, 1),
        (1100.0, 510.0, -170.0, 380.0, 0.95, -1),
        (200.0, 420.0, 90.0, 250.0, 0.8, 1),
    ]
    rows = []
    for f, t in enumerate(times):
        centres = [x0 + v * t for x0, _, v, _, _, _ in people]
        for pid, (x0, y, v, h, cad, facing) in enumerate(people):
            hidden = pid == 1 and abs(centres[0] - centres[1]) < 0.15 * h
            if hidden or rng.random() < drop:
                continue
            xy = pose(2 * np.pi * cad * t, facing) * h + (centres[pid], y)
            xy += rng.normal(0, 0.004 * h, xy.shape)
            kp = np.concatenate([xy, rng.uniform(0.4, 0.9, (18, 1))], 1)
            kp[rng.random(18) < 0.05] = (np.nan, np.nan, 0.0)   # a few parts missed
            rows.append((f, pid, kp))
    frame = np.array([r[0] for r in rows])
    person = np.array([r[1] for r in rows])
    truth = np.stack([r[2] for r in rows]).astype(np.float32)
    detected = truth.copy()
    injected = np.zeros(truth.shape[:2], bool)
    # Swaps of one to three frames, where the limbs are apart (a swap of parts that coincide
    # cannot be seen, and changes nothing).
    candidates = rng.permutation(len(rows))
    made = 0
    for d in candidates:
        if made == swaps:
            break
        group = LEGS if made % 2 == 0 else ARMS
        run = [e for e in range(d, d + int(rng.integers(1, 4)))
               if e < len(rows) and person[e] == person[d]]
        run = [e for e in _same_track_run(person, frame, d, len(run))]
        if any(injected[e].any() for e in run) or not all(_apart(truth[e], group) for e in run):
            continue
        for e in run:
            for a, b in group:
                detected[e, [a, b]] = truth[e, [b, a]]
                injected[e, [a, b]] = truth[e, [a, b], 2] > 0
        made += 1
    return Scene(times, frame, detected, person, truth, injected)


def _same_track_run(person: np.ndarray, frame: np.ndarray, d: int, n: int) -> list[int]:
    """The detection ``d`` and the next ``n - 1`` detections of the same person."""
    same = np.flatnonzero(person == person[d])
    i = int(np.searchsorted(same, d))
    return [int(e) for e in same[i:i + n]]


def _apart(kp: np.ndarray, group) -> bool:
    """The group's extremity parts are more than 0.1 body heights apart."""
    a, b = group[-1]
    if kp[a, 2] <= 0 or kp[b, 2] <= 0:
        return False
    h = np.nanmax(kp[:, 1]) - np.nanmin(kp[:, 1])
    return float(np.hypot(*(kp[a, :2] - kp[b, :2]))) > 0.1 * h


# --- a walker for the gait tests ---------------------------------------------------------------

def thigh_angle(phi: np.ndarray, stance: float = 0.6, amplitude: float = 0.42) -> np.ndarray:
    """Thigh angle from vertical (radians, forward positive) over the gait cycle ``phi`` in
    [0, 1): most forward at contact (phi 0), back at toe-off (phi ``stance``), forward again
    through the swing: a cycle whose stance lasts ``stance`` of it, as in real walking."""
    phi = np.mod(phi, 1.0)
    back = amplitude * np.cos(np.pi * phi / stance)
    fwd = -amplitude * np.cos(np.pi * (phi - stance) / (1 - stance))
    return np.where(phi < stance, back, fwd)


def knee_flexion(phi: np.ndarray, stance: float = 0.6) -> np.ndarray:
    """Knee flexion (degrees) over the cycle: a small bump in early stance, about 60 degrees
    in the swing, straight at contact."""
    phi = np.mod(phi, 1.0)
    loading = 15 * np.sin(np.pi * np.clip(phi / 0.35, 0, 1)) ** 2
    swing = 60 * np.sin(np.pi * np.clip((phi - (stance - 0.1)) / (1.1 - stance), 0, 1)) ** 2
    return loading + swing


def gait_pose(phi_right: float, height: float, facing: int) -> np.ndarray:
    """(18, 2) keypoints (image pixels relative to the mid-hip, y down) of a side-on walker
    whose right leg is at cycle phase ``phi_right`` (the left half a cycle later)."""
    kp = pose(0.0, 1) * 0                               # all parts, then placed below
    kp[1] = (0.0, -0.33)
    kp[0] = (0.05, -0.42)
    kp[14], kp[15] = (0.06, -0.44), (0.04, -0.44)
    kp[16], kp[17] = (0.0, -0.43), (-0.02, -0.43)
    for phi, (sh, el, wr, hip, kn, an), depth in (
            (phi_right, (2, 3, 4, 8, 9, 10), 0.03), (phi_right + 0.5, (5, 6, 7, 11, 12, 13), -0.03)):
        th = float(thigh_angle(np.array([phi]))[0])
        kf = np.radians(float(knee_flexion(np.array([phi]))[0]))
        kp[hip] = (depth, 0.0)
        kp[kn] = kp[hip] + _SEG["thigh"] * np.array([np.sin(th), np.cos(th)])
        kp[an] = kp[kn] + _SEG["shank"] * np.array([np.sin(th - kf), np.cos(th - kf)])
        arm = -0.5 * th
        kp[sh] = (depth, -0.31)
        kp[el] = kp[sh] + _SEG["upper_arm"] * np.array([np.sin(arm), np.cos(arm)])
        kp[wr] = kp[el] + _SEG["forearm"] * np.array([np.sin(arm + 0.3), np.cos(arm + 0.3)])
    kp[:, 0] *= facing
    return kp * height


def _detected(xy: np.ndarray, rng) -> np.ndarray:
    """(18, 3) a walker's true parts (18, 2), px, as detected: 1.5 px jitter, scores
    0.5-0.9, 5 % of parts missed."""
    pts = xy + rng.normal(0, 1.5, xy.shape)
    kp = np.concatenate([pts, rng.uniform(0.5, 0.9, (18, 1))], 1)
    kp[rng.random(18) < 0.05] = (np.nan, np.nan, 0.0)
    return kp


def _leg_swap(kps: np.ndarray) -> np.ndarray:
    """``kps`` (F, 18, 3) with the legs' left/right labels swapped for two frames mid-walk."""
    mid = len(kps) // 2 + 5
    for f in (mid, mid + 1):
        for a, b in LEGS:
            kps[f, [a, b]] = kps[f, [b, a]]
    return kps


@dataclass
class Walk:
    times: np.ndarray          # (F,) seconds
    keypoints: np.ndarray      # (F, 18, 3) one walker, as detected (noise, gaps, a swap)
    stride_time: float         # s
    stance: float              # fraction of the stride
    contacts: dict             # side -> (n,) true contact times (s)
    toe_offs: dict             # side -> (n,) true toe-off times (s)


def walk(seconds: float = 8.0, stride_time: float = 1.1, stance: float = 0.6,
         height: float = 400.0, speed: float = 0.8, facing: int = 1, seed: int = 0,
         stand: float = 1.0) -> Walk:
    """A side-on walker who stands still for ``stand`` seconds (with a little wobble), then
    walks at ``speed`` body heights/s with the given stride time and stance fraction. Frames
    25-41 ms apart, 1.5 px jitter, 5% of parts missed, a left/right leg swap of two frames.
    True events are where, in the noise-free model, each ankle is furthest in front of /
    behind the mid-hip (what the ankle-based Zeni method looks for), found on a 1 ms grid."""
    from scipy.signal import find_peaks

    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.uniform(0.025, 0.041, int(seconds * 32)))
    times -= times[0]
    walking = np.clip(times - stand, 0, None)
    phase = walking / stride_time
    x0 = 200.0 if facing > 0 else 1600.0
    kps = []
    for t, w, ph in zip(times, walking, phase):
        moving = t > stand
        xy = gait_pose(ph if moving else 0.25, height, facing)
        hip = np.array([x0 + facing * speed * height * w, 600.0])
        if not moving:
            hip += rng.normal(0, 2.0, 2)                      # wobble while standing
        kps.append(_detected(xy + hip, rng))
    kps = _leg_swap(np.asarray(kps, np.float32))
    grid = np.arange(stand, times[-1], 0.001)
    rel = np.array([gait_pose((g - stand) / stride_time, 1.0, 1)[[10, 13], 0] for g in grid])
    contacts, toe_offs = {}, {}
    for i, side in enumerate(("right", "left")):
        contacts[side] = grid[find_peaks(rel[:, i])[0]]
        toe_offs[side] = grid[find_peaks(-rel[:, i])[0]]
    return Walk(times, kps, stride_time, stance, contacts, toe_offs)


def step_to(seconds: float = 9.0, stride_time: float = 1.3, step: float = 0.35,
            height: float = 400.0, facing: int = 1, seed: int = 0) -> Walk:
    """A side-on walker with a step-to gait (a limp, a cane): the left foot takes every step
    ahead, ``step`` body heights, and the right foot is only brought up to just behind it. A
    stride: both feet stand together (0-0.2), the left swings (to 0.45), both stand (to
    0.7), the right swings up beside it (to 1). The hips move on steadily. Detected as
    :func:`walk`'s walker is: jitter, 5 % of parts missed, a two-frame leg swap, frames 25-41
    ms apart. True events: each foot's contact when its swing ends, toe-off when it
    starts."""
    rng = np.random.default_rng(seed)
    times = np.cumsum(rng.uniform(0.025, 0.041, int(seconds * 32)))
    times -= times[0]
    swings = {"left": (0.2, 0.45, 0.0), "right": (0.7, 1.0, -0.02)}   # start, end, behind

    def foot(side: str, t: float) -> tuple[float, float]:
        """(place along the way, lift), body heights, of one ankle at ``t``."""
        a, z, behind = swings[side]
        n, phi = divmod(t / stride_time, 1.0)
        if side == "right" and phi < a:          # its swing ends at the cycle's end
            n, phi = n - 1, phi + 1
        u = np.clip((phi - a) / (z - a), 0.0, 1.0)
        return step * (n + (1 - np.cos(np.pi * u)) / 2) + behind, 0.06 * np.sin(np.pi * u)

    x0 = 200.0 if facing > 0 else 1600.0
    base = pose(0.0, 1)
    kps = []
    for t in times:
        hip = np.array([x0 + facing * height * step * (t / stride_time - 0.1), 600.0])
        xy = base.copy()
        for side, (h, k, a) in (("right", (8, 9, 10)), ("left", (11, 12, 13))):
            along, lift = foot(side, t)
            depth = 0.03 if side == "right" else -0.03
            xy[h] = (depth, 0.0)
            xy[a] = (along - (t / stride_time - 0.1) * step, 0.49 - lift)
            xy[k] = (xy[h] + xy[a]) / 2 + (0.03, 0.0)
        xy[:, 0] *= facing
        kps.append(_detected(xy * height + hip, rng))
    kps = _leg_swap(np.asarray(kps, np.float32))
    cycles = stride_time * np.arange(int(seconds / stride_time) + 1)
    contacts = {s: cycles + swings[s][1] * stride_time for s in swings}
    toe_offs = {s: cycles + swings[s][0] * stride_time for s in swings}
    return Walk(times, kps, stride_time, 0.75, contacts, toe_offs)
