"""The Cython PAF parser: exact parity with tf-pose-estimation on its golden intermediates,
plus invariants that must hold for any input."""
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from posebatch.engine.config import ParserConfig
from posebatch.errors import InputShapeError
from posebatch.engine.parse import parse_people

from .helpers import assert_same_people, need_shared, people_cells, reference_cells



def _golden_maps(name):
    z = np.load(need_shared("data", "golden", f"{name}.upsampled.npz"))
    return np.ascontiguousarray(z["peaks"]), z["heatmap"], z["paf"]


@pytest.mark.parametrize("name", ["ski", "p3"])
def test_golden_intermediates_give_exactly_the_reference_people(name, layout, reference_humans):
    peaks, heat, paf = _golden_maps(name)
    kp, scores = parse_people(peaks, heat, paf, layout)
    assert kp.shape == (len(scores), 18, 3) and kp.dtype == np.float32
    assert_same_people(people_cells(kp, scores),
                       reference_cells(reference_humans[f"{name}.jpg"]["humans"]))


def test_ski_has_five_people(layout):
    peaks, heat, paf = _golden_maps("ski")
    kp, scores = parse_people(peaks, heat, paf, layout)
    assert len(scores) == 5
    assert np.all(scores >= 0.3)
    assert np.all((kp[..., 2] > 0).sum(axis=1) >= 4)


def test_empty_maps_give_nobody(layout):
    z = np.zeros((46, 54, 19), np.float32)
    kp, scores = parse_people(z, z, np.zeros((46, 54, 38), np.float32), layout)
    assert kp.shape == (0, 18, 3) and scores.shape == (0,)


@settings(max_examples=15, deadline=None)
@given(dy=st.integers(0, 20), dx=st.integers(0, 20))
def test_shifting_all_maps_shifts_every_keypoint(dy, dx, layout):
    peaks, heat, paf = _golden_maps("p3")
    kp0, s0 = parse_people(peaks, heat, paf, layout)

    def shift(a):
        out = np.zeros((a.shape[0] + dy, a.shape[1] + dx, a.shape[2]), np.float32)
        out[dy:, dx:] = a
        return out

    kp1, s1 = parse_people(shift(peaks), shift(heat), shift(paf), layout)
    np.testing.assert_array_equal(s1, s0)
    np.testing.assert_array_equal(kp1[..., 0], kp0[..., 0] + dx)
    np.testing.assert_array_equal(kp1[..., 1], kp0[..., 1] + dy)
    np.testing.assert_array_equal(kp1[..., 2], kp0[..., 2])


def test_thresholds_are_arguments(layout):
    peaks, heat, paf = _golden_maps("ski")
    strict = ParserConfig(min_person_score=5.0)
    assert parse_people(peaks, heat, paf, layout, strict)[0].shape[0] == 0
    assert parse_people(peaks, heat, paf, layout)[0].shape[0] == 5  # no state left behind


def test_concurrent_calls_agree(layout):
    """Reentrant: threads parsing different maps at once get their own answers."""
    maps = {n: _golden_maps(n) for n in ("ski", "p3")}
    expected = {n: parse_people(*maps[n], layout)[0] for n in maps}
    errors = []

    def work(name):
        for _ in range(20):
            kp, _ = parse_people(*maps[name], layout)
            if not np.array_equal(kp, expected[name], equal_nan=True):
                errors.append(name)

    threads = [threading.Thread(target=work, args=(n,)) for n in ("ski", "p3") * 3]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.mark.parametrize("bad, message", [
    (np.zeros((10, 10), np.float32), r"peaks: expected an array of shape \(H, W, C\), got \(10, 10\)"),
    (np.zeros((10, 10, 18), np.float64), "peaks: expected dtype float32, got float64"),
    (np.zeros((10, 10, 5), np.float32), r"peaks: expected shape \(10, 10, >=18\), got \(10, 10, 5\)"),
])
def test_bad_input_is_rejected_with_a_clear_message(bad, message, layout):
    ok = np.zeros((10, 10, 38), np.float32)
    with pytest.raises(InputShapeError, match=message):
        parse_people(bad, ok, ok, layout)


def test_heat_of_another_size_is_rejected(layout):
    ok = np.zeros((10, 10, 38), np.float32)
    with pytest.raises(InputShapeError, match=r"heat: expected shape \(10, 10 or smaller, >=18\), got \(12, 10, 19\)"):
        parse_people(ok[..., :18], np.zeros((12, 10, 19), np.float32), ok, layout)
