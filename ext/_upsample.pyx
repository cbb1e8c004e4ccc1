# cython: language_level=3
"""Legacy bilinear upsampling (TensorFlow's align_corners=False, half_pixel_centers=False).

Output cell (y, x) samples input position (y * h / H, x * w / W), clamped at the far edge, with
TensorFlow's arithmetic order (lerp along x, then along y) so results agree to float rounding.
The loop runs without the GIL over channels-last float32 maps.
"""
import numpy as np

cimport numpy as cnp

cnp.import_array()


include "_bilinear.pxi"


cdef void _upsample(const float[:, :, ::1] src, float[:, :, ::1] dst, Py_ssize_t H,
                    Py_ssize_t W, Py_ssize_t y_off, Py_ssize_t x_off, Py_ssize_t c_off
                    ) noexcept nogil:
    """Fill ``dst`` with cells [y_off, y_off + rows) x [x_off, x_off + cols) and channels
    [c_off, c_off + channels) of the (H, W) upsampled map."""
    cdef Py_ssize_t h = src.shape[0], w = src.shape[1], C = src.shape[2]
    cdef Py_ssize_t rows = dst.shape[0], cols = dst.shape[1], n = dst.shape[2]
    cdef float sy = <float> h / <float> H
    cdef float sx = <float> w / <float> W
    cdef Py_ssize_t y, x, c, y0, y1, x0, x1
    cdef float fy, fx
    cdef const float *r0
    cdef const float *r1
    cdef float *out
    for y in range(rows):
        source_pos(y + y_off, sy, h, &y0, &y1, &fy)
        r0 = &src[y0, 0, c_off]
        r1 = &src[y1, 0, c_off]
        for x in range(cols):
            source_pos(x + x_off, sx, w, &x0, &x1, &fx)
            out = &dst[y, x, 0]
            for c in range(n):
                out[c] = lerp2(r0, r1, x0 * C + c, x1 * C + c, fx, fy)


def upsample(const float[:, :, ::1] src, int out_h, int out_w):
    """(h, w, C) float32 C-contiguous -> (out_h, out_w, C) float32."""
    if out_h < 1 or out_w < 1:
        raise ValueError(f"output size must be positive, got {out_h}x{out_w}")
    dst = np.empty((out_h, out_w, src.shape[2]), dtype=np.float32)
    cdef float[:, :, ::1] d = dst
    with nogil:
        _upsample(src, d, out_h, out_w, 0, 0, 0)
    return dst


def upsample_region(const float[:, :, ::1] src, int out_h, int out_w, int y0, int y1, int x0,
                    int x1, int c0, int c1):
    """Cells [y0, y1) x [x0, x1), channels [c0, c1) of ``upsample(src, out_h, out_w)``,
    computed alone (equal to the same slice of the whole map)."""
    if out_h < 1 or out_w < 1:
        raise ValueError(f"output size must be positive, got {out_h}x{out_w}")
    if not (0 <= y0 <= y1 <= out_h and 0 <= x0 <= x1 <= out_w and 0 <= c0 <= c1 <= src.shape[2]):
        raise ValueError(f"region [{y0}:{y1}, {x0}:{x1}, {c0}:{c1}] is outside the "
                         f"({out_h}, {out_w}, {src.shape[2]}) map")
    dst = np.empty((y1 - y0, x1 - x0, c1 - c0), dtype=np.float32)
    cdef float[:, :, ::1] d = dst
    with nogil:
        _upsample(src, d, out_h, out_w, y0, x0, c0)
    return dst
