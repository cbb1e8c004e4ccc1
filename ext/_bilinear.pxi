# Legacy bilinear sampling shared by the upsampler and the parser (included, not imported, so
# both inline it): cell (y, x) of an (H, W) output samples source position (y * h / H,
# x * w / W), clamped at the far edge, lerping along x then y in TensorFlow's order. One
# definition is what makes the parser's on-demand samples equal the upsampled maps bit for bit.

cdef inline void source_pos(Py_ssize_t i, float scale, Py_ssize_t n, Py_ssize_t *i0,
                            Py_ssize_t *i1, float *frac) noexcept nogil:
    """Output index ``i`` -> the two source indices it lies between and the weight of the
    second."""
    cdef float inpos = i * scale
    i0[0] = <Py_ssize_t> inpos
    i1[0] = i0[0] + 1 if i0[0] + 1 < n else n - 1
    frac[0] = inpos - i0[0]


cdef inline float lerp2(const float *r0, const float *r1, Py_ssize_t a0, Py_ssize_t a1,
                        float fx, float fy) noexcept nogil:
    """Bilinear value from rows r0, r1 at flat offsets a0, a1 (the same channel)."""
    cdef float top = r0[a0] + (r0[a1] - r0[a0]) * fx
    cdef float bottom = r1[a0] + (r1[a1] - r1[a0]) * fx
    return top + (bottom - top) * fy


cdef inline float bilinear_at(const float *src, Py_ssize_t h, Py_ssize_t w, Py_ssize_t C,
                              float sy, float sx, Py_ssize_t y, Py_ssize_t x,
                              Py_ssize_t c) noexcept nogil:
    """One sample of channel ``c`` of the upsampled map, computed alone."""
    cdef Py_ssize_t y0, y1, x0, x1
    cdef float fy, fx
    source_pos(y, sy, h, &y0, &y1, &fy)
    source_pos(x, sx, w, &x0, &x1, &fx)
    return lerp2(src + y0 * w * C, src + y1 * w * C, x0 * C + c, x1 * C + c, fx, fy)
