# cython: language_level=3
"""Greedy Part Affinity Field parser (OpenPose bottom-up grouping), written for posebatch.

The algorithm and its defaults follow tf-pose-estimation's ``pafprocess``, but the kernel is
reentrant: every buffer is allocated per call, thresholds are arguments, and the whole search
runs without the GIL, so several threads (or Ray actors) may parse at once.

Private module: call it through :func:`posebatch.parse.parse_people`, which validates input.
"""
import numpy as np

cimport numpy as cnp
from libc.math cimport sqrt
from libc.stdlib cimport free, malloc, qsort, realloc
from libc.string cimport memset

cnp.import_array()

cdef enum:
    MAX_PARTS = 64              # room for layouts larger than COCO-18
    ROW_SCORE = MAX_PARTS       # person row slot: running score sum
    ROW_COUNT = MAX_PARTS + 1   # person row slot: number of parts
    ROW_LEN = MAX_PARTS + 2


cdef struct Candidate:
    int idx_a
    int idx_b
    float score


cdef struct Connection:
    int cid_a
    int cid_b
    float score


cdef struct Peaks:
    int n              # all peaks, every part
    int *x
    int *y
    float *score
    int *start         # first peak id of each part (ids are part-major, row-major inside)
    int *count         # peaks per part


cdef struct Source:
    # A map the parser reads: either at the peaks' (H, W) resolution, or the network's
    # (h, w) output sampled on demand as the legacy upsampling would (bit for bit), so the
    # full upsampled maps need never exist.
    const float *data
    Py_ssize_t h
    Py_ssize_t w
    Py_ssize_t C
    float sy
    float sx
    bint direct


include "_bilinear.pxi"


cdef Source _source(const float[:, :, ::1] a, Py_ssize_t H, Py_ssize_t W) noexcept nogil:
    cdef Source s
    s.data = &a[0, 0, 0]
    s.h = a.shape[0]
    s.w = a.shape[1]
    s.C = a.shape[2]
    s.sy = <float> s.h / <float> H
    s.sx = <float> s.w / <float> W
    s.direct = s.h == H and s.w == W
    return s


cdef inline float _at(const Source *s, Py_ssize_t y, Py_ssize_t x, Py_ssize_t c) noexcept nogil:
    if s.direct:
        return s.data[(y * s.w + x) * s.C + c]
    return bilinear_at(s.data, s.h, s.w, s.C, s.sy, s.sx, y, x, c)


cdef int _cmp_candidate(const void *pa, const void *pb) noexcept nogil:
    # Descending score; ties broken by (idx_a, idx_b) so the order never depends on qsort.
    cdef const Candidate *a = <const Candidate *> pa
    cdef const Candidate *b = <const Candidate *> pb
    if a.score > b.score:
        return -1
    if a.score < b.score:
        return 1
    if a.idx_a != b.idx_a:
        return -1 if a.idx_a < b.idx_a else 1
    if a.idx_b != b.idx_b:
        return -1 if a.idx_b < b.idx_b else 1
    return 0


cdef int _collect_peaks(const float[:, :, ::1] peaks, const Source *heat,
                        int n_parts, float heat_thresh, Peaks *out) noexcept nogil:
    """Find every cell above threshold; ids are part-major so that parts group together.

    One flat pass over the map keeps the (few) hits' positions; everything after touches only
    those, so an empty map costs one read of it."""
    cdef Py_ssize_t H = peaks.shape[0], W = peaks.shape[1], C = peaks.shape[2]
    cdef Py_ssize_t size = H * W * C, i, n_hits = 0, cap = 256
    cdef const float *data = &peaks[0, 0, 0]
    cdef Py_ssize_t *hits = <Py_ssize_t *> malloc(cap * sizeof(Py_ssize_t))
    cdef Py_ssize_t *grown
    cdef int p, k, total = 0
    cdef int *cursor
    if hits == NULL:
        return -1
    for i in range(size):
        if data[i] > heat_thresh:
            if n_hits == cap:
                cap *= 2
                grown = <Py_ssize_t *> realloc(hits, cap * sizeof(Py_ssize_t))
                if grown == NULL:
                    free(hits)
                    return -1
                hits = grown
            hits[n_hits] = i
            n_hits += 1
    memset(out.count, 0, n_parts * sizeof(int))
    for i in range(n_hits):
        p = <int> (hits[i] % C)
        if p < n_parts:
            out.count[p] += 1
    for p in range(n_parts):
        out.start[p] = total
        total += out.count[p]
    out.n = total
    out.x = <int *> malloc((total + 1) * sizeof(int))
    out.y = <int *> malloc((total + 1) * sizeof(int))
    out.score = <float *> malloc((total + 1) * sizeof(float))
    cursor = <int *> malloc(n_parts * sizeof(int))
    if out.x == NULL or out.y == NULL or out.score == NULL or cursor == NULL:
        free(cursor)
        free(hits)
        return -1
    for p in range(n_parts):
        cursor[p] = out.start[p]
    for i in range(n_hits):     # row-major order: within a part, ids run row-major too
        p = <int> (hits[i] % C)
        if p >= n_parts:
            continue
        k = cursor[p]
        out.x[k] = <int> ((hits[i] // C) % W)
        out.y[k] = <int> (hits[i] // (C * W))
        out.score[k] = _at(heat, out.y[k], out.x[k], p)
        cursor[p] += 1
    free(cursor)
    free(hits)
    return 0


cdef inline int _round_half_up(float v) noexcept nogil:
    return <int> (<double> v + 0.5)


cdef int _connect_limb(const Source *paf, int H, int W, const Peaks *pk, int part_a, int part_b,
                       int ch_x, int ch_y, int n_steps, float vec_thresh, int count_thresh,
                       Connection *conns) noexcept nogil:
    """Score every (a, b) peak pair along one limb, then keep the best disjoint pairs.

    Returns the number of connections written to ``conns`` (at most min(n_a, n_b)), or -1
    when memory runs out.
    """
    cdef int n_a = pk.count[part_a], n_b = pk.count[part_b]
    cdef int i, j, s, n_cand = 0, n_conn = 0, lx, ly, ida, idb
    cdef float vx, vy, norm, step_x, step_y, score, total, crit2
    cdef double length_penalty
    cdef int hits
    cdef Candidate *cand
    cdef char *used_a
    cdef char *used_b
    if n_a == 0 or n_b == 0:
        return 0
    cand = <Candidate *> malloc(n_a * n_b * sizeof(Candidate))
    used_a = <char *> malloc(n_a)
    used_b = <char *> malloc(n_b)
    if cand == NULL or used_a == NULL or used_b == NULL:
        free(cand); free(used_a); free(used_b)
        return -1
    for i in range(n_a):
        ida = pk.start[part_a] + i
        for j in range(n_b):
            idb = pk.start[part_b] + j
            vx = <float> (pk.x[idb] - pk.x[ida])
            vy = <float> (pk.y[idb] - pk.y[ida])
            norm = <float> sqrt(vx * vx + vy * vy)
            if norm < 1e-12:
                continue
            vx = vx / norm
            vy = vy / norm
            step_x = (pk.x[idb] - pk.x[ida]) / <float> n_steps
            step_y = (pk.y[idb] - pk.y[ida]) / <float> n_steps
            total = 0.0
            hits = 0
            for s in range(n_steps):
                lx = _round_half_up(pk.x[ida] + s * step_x)
                ly = _round_half_up(pk.y[ida] + s * step_y)
                lx = 0 if lx < 0 else (W - 1 if lx >= W else lx)
                ly = 0 if ly < 0 else (H - 1 if ly >= H else ly)
                score = vx * _at(paf, ly, lx, ch_x) + vy * _at(paf, ly, lx, ch_y)
                total += score
                if score > vec_thresh:
                    hits += 1
            # Limbs longer than half the map height are penalised, as in OpenPose.
            length_penalty = 0.5 * H / norm - 1.0
            if length_penalty > 0.0:
                length_penalty = 0.0
            crit2 = <float> (total / n_steps + length_penalty)
            if hits > count_thresh and crit2 > 0:
                cand[n_cand].idx_a = i
                cand[n_cand].idx_b = j
                cand[n_cand].score = crit2
                n_cand += 1
    qsort(cand, n_cand, sizeof(Candidate), _cmp_candidate)
    memset(used_a, 0, n_a)
    memset(used_b, 0, n_b)
    for s in range(n_cand):
        if used_a[cand[s].idx_a] or used_b[cand[s].idx_b]:
            continue
        used_a[cand[s].idx_a] = 1
        used_b[cand[s].idx_b] = 1
        conns[n_conn].cid_a = pk.start[part_a] + cand[s].idx_a
        conns[n_conn].cid_b = pk.start[part_b] + cand[s].idx_b
        conns[n_conn].score = cand[s].score
        n_conn += 1
    free(cand); free(used_a); free(used_b)
    return n_conn


cdef void _assign(float *rows, char *alive, int *n_rows, const Connection *c, int part_a,
                  int part_b, bint may_seed, int n_parts, const Peaks *pk) noexcept nogil:
    """Attach one connection to the people found so far (OpenPose's subset update)."""
    cdef int r, k, found = 0, r1 = 0, r2 = 0
    cdef float *row1
    cdef float *row2
    cdef bint overlap
    for r in range(n_rows[0]):
        if not alive[r]:
            continue
        if rows[r * ROW_LEN + part_a] == c.cid_a or rows[r * ROW_LEN + part_b] == c.cid_b:
            if found == 0:
                r1 = r
            elif found == 1:
                r2 = r
            found += 1
    if found == 1:
        row1 = rows + r1 * ROW_LEN
        if row1[part_b] != c.cid_b:
            row1[part_b] = c.cid_b
            row1[ROW_COUNT] += 1
            row1[ROW_SCORE] += pk.score[c.cid_b] + c.score
    elif found == 2:
        row1 = rows + r1 * ROW_LEN
        row2 = rows + r2 * ROW_LEN
        overlap = False
        for k in range(n_parts):
            # Like the reference, peak id 0 does not count as shared membership.
            if row1[k] > 0 and row2[k] > 0:
                overlap = True
        if not overlap:
            for k in range(n_parts):
                row1[k] += row2[k] + 1
            row1[ROW_COUNT] += row2[ROW_COUNT]
            row1[ROW_SCORE] += row2[ROW_SCORE]
            row1[ROW_SCORE] += c.score
            alive[r2] = 0
        else:
            row1[part_b] = c.cid_b
            row1[ROW_COUNT] += 1
            row1[ROW_SCORE] += pk.score[c.cid_b] + c.score
    elif found == 0 and may_seed:
        row1 = rows + n_rows[0] * ROW_LEN
        for k in range(ROW_LEN):
            row1[k] = -1
        row1[part_a] = c.cid_a
        row1[part_b] = c.cid_b
        row1[ROW_COUNT] = 2
        row1[ROW_SCORE] = pk.score[c.cid_a] + pk.score[c.cid_b] + c.score
        alive[n_rows[0]] = 1
        n_rows[0] += 1


cdef int _parse(const float[:, :, ::1] peaks, const float[:, :, ::1] heat,
                const float[:, :, ::1] paf, const int[:, ::1] limbs, const int[:, ::1] limb_paf,
                int n_parts, int n_seed_limbs, float heat_thresh, float vec_thresh,
                int count_thresh, int n_steps, int min_parts, float min_score,
                Peaks *pk, float **rows_out, char **alive_out) noexcept nogil:
    """Whole search; returns the number of row slots used, or -1 when memory runs out."""
    cdef int n_limbs = limbs.shape[0]
    cdef int l, c, n_conn, n_rows = 0, total_conn_cap
    cdef Connection *conns
    cdef float *rows
    cdef char *alive
    cdef int map_height = peaks.shape[0], map_width = peaks.shape[1]
    cdef Source heat_src = _source(heat, map_height, map_width)
    cdef Source paf_src = _source(paf, map_height, map_width)
    if _collect_peaks(peaks, &heat_src, n_parts, heat_thresh, pk) != 0:
        return -1
    # A limb yields at most min(n_a, n_b) connections, and each creates at most one row.
    total_conn_cap = 1
    for l in range(n_limbs):
        total_conn_cap += min(pk.count[limbs[l, 0]], pk.count[limbs[l, 1]])
    conns = <Connection *> malloc(total_conn_cap * sizeof(Connection))
    rows = <float *> malloc(total_conn_cap * ROW_LEN * sizeof(float))
    alive = <char *> malloc(total_conn_cap)
    rows_out[0] = rows
    alive_out[0] = alive
    if conns == NULL or rows == NULL or alive == NULL:
        free(conns)
        return -1
    for l in range(n_limbs):
        n_conn = _connect_limb(&paf_src, map_height, map_width, pk, limbs[l, 0], limbs[l, 1],
                               limb_paf[l, 0], limb_paf[l, 1], n_steps, vec_thresh,
                               count_thresh, conns)
        if n_conn < 0:
            free(conns)
            return -1
        for c in range(n_conn):
            _assign(rows, alive, &n_rows, &conns[c], limbs[l, 0], limbs[l, 1],
                    l < n_seed_limbs, n_parts, pk)
    free(conns)
    for c in range(n_rows):
        if alive[c] and (rows[c * ROW_LEN + ROW_COUNT] < min_parts or
                         rows[c * ROW_LEN + ROW_SCORE] / rows[c * ROW_LEN + ROW_COUNT] < min_score):
            alive[c] = 0
    return n_rows


def parse(const float[:, :, ::1] peaks, const float[:, :, ::1] heat, const float[:, :, ::1] paf,
          const int[:, ::1] limbs, const int[:, ::1] limb_paf, int n_parts, int n_seed_limbs,
          float heat_thresh, float vec_thresh, int count_thresh, int n_steps, int min_parts,
          float min_score):
    """Group peaks into people. Returns (keypoints (n, n_parts, 3) float32 as column, row,
    heat score with NaN/NaN/0 for missing parts, person scores (n,) float32).

    ``heat`` and ``paf`` are either at the peaks' resolution or the network's output, which
    is then sampled on demand exactly as the legacy upsampling computes it."""
    cdef Peaks pk
    cdef float *rows = NULL
    cdef char *alive = NULL
    cdef int n_rows, r, k, n_people = 0, cid
    cdef cnp.ndarray[cnp.float32_t, ndim=3] kp
    cdef cnp.ndarray[cnp.float32_t, ndim=1] scores
    if n_parts > MAX_PARTS:
        raise ValueError(f"at most {MAX_PARTS} parts are supported, got {n_parts}")
    pk.x = NULL
    pk.y = NULL
    pk.score = NULL
    pk.start = <int *> malloc(n_parts * sizeof(int))
    pk.count = <int *> malloc(n_parts * sizeof(int))
    if pk.start == NULL or pk.count == NULL:
        free(pk.start); free(pk.count)
        raise MemoryError("PAF parser: out of memory")
    with nogil:
        n_rows = _parse(peaks, heat, paf, limbs, limb_paf, n_parts, n_seed_limbs, heat_thresh,
                        vec_thresh, count_thresh, n_steps, min_parts, min_score, &pk, &rows,
                        &alive)
    try:
        if n_rows < 0:
            raise MemoryError("PAF parser: out of memory")
        for r in range(n_rows):
            n_people += alive[r]
        kp = np.empty((n_people, n_parts, 3), dtype=np.float32)
        scores = np.empty(n_people, dtype=np.float32)
        n_people = 0
        for r in range(n_rows):
            if not alive[r]:
                continue
            for k in range(n_parts):
                cid = <int> rows[r * ROW_LEN + k]
                if cid < 0:
                    kp[n_people, k, 0] = np.nan
                    kp[n_people, k, 1] = np.nan
                    kp[n_people, k, 2] = 0.0
                else:
                    kp[n_people, k, 0] = pk.x[cid]
                    kp[n_people, k, 1] = pk.y[cid]
                    kp[n_people, k, 2] = pk.score[cid]
            scores[n_people] = rows[r * ROW_LEN + ROW_SCORE] / rows[r * ROW_LEN + ROW_COUNT]
            n_people += 1
        return kp, scores
    finally:
        free(rows); free(alive); free(pk.x); free(pk.y); free(pk.score)
        free(pk.start); free(pk.count)
