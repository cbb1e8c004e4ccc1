# cython: language_level=3
"""Legacy bilinear upsampling (TensorFlow's align_corners=False, half_pixel_centers=False).

Output cell (y, x) samples input position (y * h / H, x * w / W), clamped at the far edge, with
TensorFlow's arithmetic order (lerp along x, then along y) so results agree to float rounding.
The loop runs without the GIL over channels-last float32 maps.
"""
import numpy as np

cimport numpy as cnp

cnp.import_array()


cdef void _upsample(const float[:, :, ::1] src, float[:, :, ::1] dst) noexcept nogil:
    cdef Py_ssize_t h = src.shape[0], w = src.shape[1], C = src.shape[2]
    cdef Py_ssize_t H = dst.shape[0], W = dst.shape[1]
    cdef float sy = <float> h / <float> H
    cdef float sx = <float> w / <float> W
    cdef Py_ssize_t y, x, c, y0, y1, x0, x1
    cdef float fy, fx, inpos, top, bottom
    cdef const float *r0
    cdef const float *r1
    cdef float *out
    for y in range(H):
        inpos = y * sy
        y0 = <Py_ssize_t> inpos
        y1 = y0 + 1 if y0 + 1 < h else h - 1
        fy = inpos - y0
        for x in range(W):
            inpos = x * sx
            x0 = <Py_ssize_t> inpos
            x1 = x0 + 1 if x0 + 1 < w else w - 1
            fx = inpos - x0
            out = &dst[y, x, 0]
            r0 = &src[y0, 0, 0]
            r1 = &src[y1, 0, 0]
            for c in range(C):
                top = r0[x0 * C + c] + (r0[x1 * C + c] - r0[x0 * C + c]) * fx
                bottom = r1[x0 * C + c] + (r1[x1 * C + c] - r1[x0 * C + c]) * fx
                out[c] = top + (bottom - top) * fy


def upsample(const float[:, :, ::1] src, int out_h, int out_w):
    """(h, w, C) float32 C-contiguous -> (out_h, out_w, C) float32."""
    if out_h < 1 or out_w < 1:
        raise ValueError(f"output size must be positive, got {out_h}x{out_w}")
    dst = np.empty((out_h, out_w, src.shape[2]), dtype=np.float32)
    cdef float[:, :, ::1] d = dst
    with nogil:
        _upsample(src, d)
    return dst
