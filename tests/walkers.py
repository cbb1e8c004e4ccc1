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
