"""Keypoint layouts: names, limbs, PAF channels, left/right pairs and colours, as one object.

The layout travels with the model (the manifest names it) so nothing downstream infers the
meaning of a keypoint from an array size.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KeypointLayout:
    """How a network's channels map to body parts and limbs.

    ``limbs[i]`` joins parts ``(a, b)`` and is scored on PAF channels ``limb_paf[i]`` = (x, y),
    counted from the first PAF channel. Only the first ``seed_limbs`` limbs may start a new
    person (the ear-shoulder limbs of COCO-18 only join existing people).
    """

    name: str
    parts: tuple[str, ...]
    limbs: tuple[tuple[int, int], ...]
    limb_paf: tuple[tuple[int, int], ...]
    seed_limbs: int
    draw_limbs: int
    flip_pairs: tuple[tuple[int, int], ...]
    coco17: tuple[int, ...]
    # How precisely each part can be placed relative to the person's size (COCO's OKS sigmas;
    # empty: 0.079, a shoulder's, for every part): the tracker's and the refiner's tolerance.
    sigmas: tuple[float, ...] = ()
    # Parts whose mean is the body's centre (the tracker's velocity); empty: all parts.
    torso: tuple[int, ...] = ()
    # Mirrored pairs that swap together (a limb's joints); empty: each pair alone.
    swap_groups: tuple[tuple[tuple[int, int], ...], ...] = ()
    # Mirrored pairs the network may find twice on one spot, a faint second find of the one
    # on the other's (the ankles at a contact): the tracker leaves those out of its curves.
    found_twice: tuple[tuple[int, int], ...] = ()

    @property
    def n_parts(self) -> int:
        return len(self.parts)

    @property
    def n_heatmaps(self) -> int:
        """Part maps plus the background map."""
        return len(self.parts) + 1

    @property
    def n_pafs(self) -> int:
        return 2 * len(self.limbs)

    def part_id(self, name: str) -> int:
        return self.parts.index(name)

    def colors_bgr(self) -> list[tuple[int, int, int]]:
        """OpenPose colours: part (and drawn limb) i takes hue i*20 degrees, full saturation."""
        out = []
        for i in range(max(self.n_parts, self.draw_limbs)):
            r, g, b = colorsys.hsv_to_rgb((i * 20 % 360) / 360.0, 1.0, 1.0)
            out.append((round(b * 255), round(g * 255), round(r * 255)))
        return out

    def part_sigmas(self) -> np.ndarray:
        """(P,) OKS sigma of each part."""
        return np.asarray(self.sigmas if self.sigmas else (0.079,) * self.n_parts, np.float64)

    def torso_mask(self) -> np.ndarray:
        """(P,) the parts whose mean is the body's centre."""
        mask = np.zeros(self.n_parts, bool)
        mask[list(self.torso) if self.torso else slice(None)] = True
        return mask

    def mirrored_groups(self) -> list[list[tuple[int, int]]]:
        """Mirrored pairs grouped by limb (each pair alone where the layout names no groups)."""
        if self.swap_groups:
            return [list(g) for g in self.swap_groups]
        return [[p] for p in self.flip_pairs]

    def limbs_array(self) -> np.ndarray:
        return np.ascontiguousarray(self.limbs, dtype=np.int32)

    def limb_paf_array(self) -> np.ndarray:
        return np.ascontiguousarray(self.limb_paf, dtype=np.int32)


def flip_index(layout: KeypointLayout) -> np.ndarray:
    """(P,) part index of each part's mirror (itself when it has none)."""
    idx = np.arange(layout.n_parts)
    for a, b in layout.flip_pairs:
        idx[a], idx[b] = b, a
    return idx


COCO18 = KeypointLayout(
    name="coco18",
    parts=(
        "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
        "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip",
        "left_knee", "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear",
    ),
    limbs=(
        (1, 2), (1, 5), (2, 3), (3, 4), (5, 6), (6, 7), (1, 8), (8, 9), (9, 10), (1, 11),
        (11, 12), (12, 13), (1, 0), (0, 14), (14, 16), (0, 15), (15, 17), (2, 16), (5, 17),
    ),
    limb_paf=(
        (12, 13), (20, 21), (14, 15), (16, 17), (22, 23), (24, 25), (0, 1), (2, 3), (4, 5),
        (6, 7), (8, 9), (10, 11), (28, 29), (30, 31), (34, 35), (32, 33), (36, 37), (18, 19),
        (26, 27),
    ),
    seed_limbs=17,
    draw_limbs=17,
    flip_pairs=((2, 5), (3, 6), (4, 7), (8, 11), (9, 12), (10, 13), (14, 15), (16, 17)),
    # COCO-17 keypoint i is our part coco17[i] (COCO has no neck).
    coco17=(0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10),
    # COCO's per-keypoint OKS sigmas in this order (the neck, which COCO lacks, takes the
    # shoulders').
    sigmas=(.026, .079, .079, .072, .062, .079, .072, .062, .107, .087, .089, .107, .087, .089,
            .025, .025, .035, .035),
    torso=(1, 2, 5, 8, 11),                                   # neck, shoulders, hips
    swap_groups=(((2, 5), (3, 6), (4, 7)), ((8, 11), (9, 12), (10, 13)), ((14, 15), (16, 17))),
    found_twice=((10, 13),),                                  # the ankles
)

LAYOUTS: dict[str, KeypointLayout] = {COCO18.name: COCO18}


def get_layout(name: str) -> KeypointLayout:
    from ..errors import ConfigError

    try:
        return LAYOUTS[name]
    except KeyError:
        raise ConfigError(
            f"unknown keypoint layout {name!r}; known layouts: {', '.join(sorted(LAYOUTS))}"
        ) from None


def job_layout(manifest: dict) -> KeypointLayout:
    """The keypoint layout of a finished job's model, as its manifest records it (jobs written
    before it was recorded ran coco18, the only layout then)."""
    return get_layout(manifest.get("model", {}).get("layout", COCO18.name))
